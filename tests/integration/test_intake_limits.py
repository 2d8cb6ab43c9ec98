"""Intake has limits, and a line is a line.

Reproductions from the report: one 100 MB POST drove the driver from 61 MB to 5 GB before it
answered 400; a 100,000-line POST froze every route for 10 s; a comment holding U+2028 in a
text/plain body became two commands, the second an injected CREATE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess

SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\r"]
"""Every character str.splitlines breaks on but the line feed (a lone CR included)."""


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"driver": {"max_request_bytes": "65536"}})
    body = "\n".join(f"BIG-{n}|CREATE|summary;{'x' * 100}|" for n in range(1000))
    assert len(body) > 65536
    with driver.client() as api:
        answer = api.post("/api/advanced", content=body, headers={"Content-Type": "text/plain"})
        assert answer.status_code == 413
        assert "max_request_bytes = 65536" in answer.json()["error"]

        # Refused from its Content-Length too when it is declared: one that is not is cut off.
        def chunks() -> Iterator[bytes]:
            for n in range(100):
                yield (f"BIG-{n}|CREATE|summary;{'y' * 2000}|\n").encode()

        streamed = api.post("/api/advanced", content=chunks(), headers={"Content-Type": "text/plain"})
        assert streamed.status_code == 413
        assert api.get("/api/status").json()["queue_depth"] == 0
        assert api.get("/api/log").json()["total"] == 0


def test_a_batch_over_the_line_limit_queues_nothing(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"driver": {"max_batch_lines": "100"}})
    with driver.client() as api:
        over = api.post("/api/advanced", json={"commands": [f"L-{n}|CREATE|summary;x|" for n in range(101)]})
        assert over.status_code == 413
        assert "max_batch_lines = 100" in over.json()["error"]
        text = "\n".join(f"L-{n}|CREATE|summary;x|" for n in range(101))
        assert (
            api.post("/api/advanced", content=text, headers={"Content-Type": "text/plain"}).status_code == 413
        )
        assert api.get("/api/log").json()["total"] == 0
        at_limit = api.post("/api/advanced", content="\n".join(text.split("\n")[:100]))
        assert at_limit.status_code == 202
        assert len(at_limit.json()["accepted"]) == 100


def test_a_line_break_character_inside_a_command_is_data(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"update": {"max_updates": "0"}})
    assert driver.send("LB|CREATE|summary;line breaks|").status_code == 202
    driver.wait_settled()
    with driver.client() as api:
        for separator in SEPARATORS:
            # What followed the character in the report: an injected CREATE. As part of the same
            # line it is a malformed pair, so the whole line is refused, and nothing is queued.
            injected = f"LB|UPDATE|comment;before{separator}INJECTED|CREATE|summary;injected|\r\n"
            refused = api.post(
                "/api/advanced", content=injected.encode(), headers={"Content-Type": "text/plain"}
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["details"]["line"] == 1
            # A comment that merely holds the character is one command, the character kept.
            kept = f"LB|UPDATE|comment;before{separator}after|\r\n"
            answer = api.post("/api/advanced", content=kept.encode(), headers={"Content-Type": "text/plain"})
            assert answer.status_code == 202, (repr(separator), answer.text)
            assert [a["guid"] for a in answer.json()["accepted"]] == ["LB"]
    driver.wait_settled()
    rows = driver.rows()
    assert len(rows) == 1 + len(SEPARATORS)
    assert {r["guid"] for r in rows} == {"LB"}
    assert {r["status"] for r in rows} == {"Ok"}
    [ticket] = sim.issues()
    bodies = [c["body"] for c in ticket["fields"]["comment"]["comments"]]
    assert bodies == [f"before{separator}after" for separator in SEPARATORS]


def test_other_routes_answer_while_a_large_batch_is_checked(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"update": {"max_updates": "0"}})
    body = "\n".join(f"BULK-{n % 500}|UPDATE|summary;bulk {n}|comment;c{n}|" for n in range(20_000))
    answered_meanwhile: list[int] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=driver.url, timeout=30) as client:
            while not done.is_set():
                if client.get("/api/health").status_code == 200:
                    answered_meanwhile.append(1)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with driver.client(timeout=120) as api:
            answered_meanwhile.clear()
            answer = api.post("/api/advanced", content=body, headers={"Content-Type": "text/plain"})
            during = len(answered_meanwhile)
    finally:
        done.set()
        poller.join()
    assert answer.status_code == 202
    assert len(answer.json()["accepted"]) == 20_000
    assert during > 0, "no other request was answered while the batch was checked"
