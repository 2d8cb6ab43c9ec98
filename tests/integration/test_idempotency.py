"""Idempotency-Key: a client that lost the answer to a batch can send it again, and it is queued once.

Reproduction from the report: 3 of 40 POSTs cut off mid-request were committed without their 202
reaching the client, so a retry queued them twice. The key is committed in the same transaction
as the rows; a repeat answers as the first time and queues nothing.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess


def test_a_repeated_key_answers_as_the_first_time_and_queues_nothing(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url)
    body = "IK-1|CREATE|summary;once|\nIK-1|UPDATE|comment;once|"
    headers = {"Content-Type": "text/plain", "Idempotency-Key": "batch-0001"}
    with driver.client() as api:
        first = api.post("/api/advanced", content=body, headers=headers)
        again = api.post("/api/advanced", content=body, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        other = api.post("/api/advanced", content="IK-1|UPDATE|comment;other|", headers=headers)
        assert other.status_code == 409
        assert "another body" in other.json()["error"]
        for bad in (b"has space", b"x" * 201, "naïve".encode()):
            raw_headers = [(b"Content-Type", b"text/plain"), (b"Idempotency-Key", bad)]
            refused = api.post("/api/advanced", content=body, headers=raw_headers)
            assert refused.status_code == 400, bad
    driver.wait_settled()
    assert [(r["action"], r["status"]) for r in driver.rows()] == [("CREATE", "Ok"), ("UPDATE", "Ok")]
    [ticket] = sim.issues()
    assert [c["body"] for c in ticket["fields"]["comment"]["comments"]] == ["once"]


def _cut_off(url: str, body: bytes, key: str, token: str) -> None:
    """Send the whole request and close the connection without reading the answer."""
    parts = urlsplit(url)
    request = (
        f"POST /api/advanced HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: text/plain\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)


def test_batches_whose_answer_was_cut_off_are_queued_once_when_sent_again(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, api_token="cut-token", ini={"update": {"max_updates": "0"}})
    bodies = {f"cut-{n:03d}": f"CUT-{n}|CREATE|summary;cut {n}|".encode() for n in range(40)}
    for key, body in bodies.items():
        _cut_off(driver.url, body, key, driver.api_token)
    # the client cannot tell which were committed: it sends every one again under its key
    with driver.client() as api:
        for key, body in bodies.items():
            again = api.post(
                "/api/advanced", content=body, headers={"Content-Type": "text/plain", "Idempotency-Key": key}
            )
            assert again.status_code == 202, again.text
    driver.wait_settled()
    per_guid = Counter(r["guid"] for r in driver.rows())
    assert per_guid == Counter({f"CUT-{n}": 1 for n in range(40)})
    assert len(sim.issues()) == 40


def test_jira_driver_send_sets_a_key_per_batch(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driver",
            "send",
            "--config",
            str(driver.config_path),
            "KEYED|CREATE|summary;k|",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**driver.env, "JIRA_DRIVER_URL": driver.url},
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(f"file:{driver.db_path}?mode=ro", uri=True) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM idempotency")]
    assert len(keys) == 1
    assert keys[0].startswith("send-")
