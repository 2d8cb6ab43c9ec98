"""The Responses table end to end: a real `jira-driver run` against the simulator over loopback,
its real SQLite file, and the shell's `jira-driver responses`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driver.model.responses import HeardResponse, ResponseFilter, ResponseKind
from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.fixtures.stores import OpenStore
from tests.fixtures.waiting import wait_for
from tests.integration.test_shell_commands import cli

Factory = Callable[..., DriverProcess]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The drivers of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


def responses(driver: DriverProcess, **params: Any) -> list[dict[str, Any]]:
    with driver.client() as client:
        answer = client.get("/api/responses", params={"limit": 1000, **params})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


def test_each_answer_is_kept_with_its_row_and_jiras_request_id(
    driver: DriverProcess, sim: SimProcess
) -> None:
    assert driver.send("R-1|CREATE|summary;Disk full|").status_code == 202
    driver.wait_settled()
    (row,) = driver.rows()
    (create,) = responses(driver, kind="create")
    posted = [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/issue")]
    assert create["log_id"] == row["id"]
    assert (create["method"], create["path"], create["status"]) == ("POST", "rest/api/latest/issue", 201)
    assert create["request_id"] == posted[-1]["request_id"]
    assert row["ticket_key"] in create["body"]
    assert create["duration_ms"] > 0
    assert datetime.fromisoformat(create["at"]) >= datetime.fromisoformat(row["time"])
    # what it asked outside any row (Jira's flavour and fields at start) is written within a second
    # or so, with no row of its own
    metadata = wait_for(lambda: responses(driver, kind="metadata") or None, "the start-up answers written")
    assert {r["log_id"] for r in metadata} == {None}
    assert any(r["path"].endswith("serverInfo") and r["status"] == 200 for r in metadata)


def test_a_429_is_kept_with_its_retry_after_and_reason(driver: DriverProcess, sim: SimProcess) -> None:
    sim.faults(
        kind="429",
        count=1,
        retry_after=1,
        method="POST",
        path="/rest/api/latest/issue",
        reason="jira-quota-global-based",
    )
    assert driver.send("R-2|CREATE|summary;Fan failure|").status_code == 202
    driver.wait_settled()
    (row,) = driver.rows()
    assert row["status"] == "Ok"
    (refused,) = responses(driver, status="429")
    assert (refused["retry_after"], refused["rate_limit_reason"]) == ("1", "jira-quota-global-based")
    assert refused["log_id"] == row["id"]
    assert [r["status"] for r in responses(driver, log_id=row["id"])] == [201, 429]  # newest first


def test_credentials_a_proxy_echoes_back_are_masked(driver: DriverProcess, sim: SimProcess) -> None:
    sim.faults(kind="502", count=1, method="POST", path="/rest/api/latest/issue", echo_headers=True)
    assert driver.send("R-3|CREATE|summary;Link down|").status_code == 202
    driver.wait_settled()
    (echo,) = responses(driver, status="502")
    basic = base64.b64encode(b"admin:admin").decode()
    assert "authorization: Basic ****" in echo["body"]
    with driver.client() as client:
        everything = client.get("/api/responses", params={"limit": 1000}).text
    assert basic not in everything
    assert "admin:admin" not in everything


def test_credentials_echoed_into_a_refusal_are_masked_in_the_log_table_the_shell_and_stderr(
    driver_factory: Factory, sim_factory: Callable[..., SimProcess], store_backend: str
) -> None:
    # A 400 is final: Jira's reason becomes the row's error and response, the CLI prints it and
    # the engine logs it. Only the Responses table used to mask it; the row kept `Basic <base64>`,
    # and a token set while the driver ran was logged as it was.
    token = "RuntimeTok3n-0123456789abcdef"
    sim = sim_factory("--token", token)
    if store_backend == "postgresql":  # a pair's node takes credentials only from its config
        driver = driver_factory(sim.url, api_token="t", ini={"jira": {"bearer_token": token}})
    else:
        driver = driver_factory(sim.url, api_token="t")
        with driver.client() as client:
            changed = client.put("/api/settings/auth", json={"mode": "bearer", "secret": token})
            assert changed.status_code == 200, changed.text
    sim.faults(kind="400", count=2, method="POST", path="/rest/api/latest/issue", echo_headers=True)
    assert driver.send("R-6|CREATE|summary;Echo|").status_code == 202
    driver.wait_settled()
    (row,) = driver.rows()
    assert row["status"] == "Failed"
    assert "authorization: Bearer ****" in row["error"]
    with driver.client() as client:
        whole = client.get(f"/api/log/{row['id']}").text
        answers = client.get("/api/responses", params={"limit": 1000}).text
    shell = cli(driver, "log", "--limit", "5")
    assert shell.returncode == 0, shell.stderr
    stderr = wait_for(
        lambda: text if "R-6" in (text := driver.stderr_path.read_text(encoding="utf-8")) else None,
        "the engine's line about R-6",
    )
    for where, text in {
        "GET /api/log/{id}": whole,
        "/api/responses": answers,
        "jira-driver log": shell.stdout,
        "the driver's log": stderr,
    }.items():
        assert token not in text, where
        assert base64.b64encode(token.encode()).decode() not in text, where


def test_no_answer_is_kept_as_none_with_the_reason(driver_factory: Factory, sim: SimProcess) -> None:
    driver = driver_factory(sim.url, api_token="t", ini={"jira": {"timeout_seconds": "1"}})
    sim.faults(kind="slow_after", count=1, seconds=3, method="POST", path="/rest/api/latest/issue")
    assert driver.send("R-4|CREATE|summary;Slow Jira|").status_code == 202
    driver.wait_settled(30)
    (lost,) = responses(driver, status="none")
    assert lost["status"] is None
    assert "timeout" in lost["error"]
    assert lost["log_id"] == driver.rows()[0]["id"]


def test_responses_from_the_shell(driver: DriverProcess, sim: SimProcess) -> None:
    assert driver.send("R-5|CREATE|summary;Shell|").status_code == 202
    driver.wait_settled()
    shown = cli(driver, "responses", "--json", "--status", "2xx", "--limit", "5")
    assert shown.returncode == 0, shown.stderr
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert lines
    assert all(200 <= line["status"] < 300 for line in lines)
    table = cli(driver, "responses", "--limit", "3")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "TIME", "KIND"]
    bad = cli(driver, "responses", "--status", "4x")
    assert bad.returncode == 2
    assert "--status '4x'" in bad.stderr


def _heard(n: int, at: datetime, status: int | None = 200) -> HeardResponse:
    return HeardResponse(
        at=at,
        method="GET",
        path=f"rest/api/2/issue/OPS-{n}",
        kind=ResponseKind.READ,
        status=status,
        duration_ms=1.0,
    )


def test_the_table_is_kept_to_its_bounds_and_pages_newest_first(open_store: OpenStore) -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    store = open_store(clock=lambda: now)
    with store.transaction():
        store.add_responses([_heard(n, now - timedelta(days=40 - n)) for n in range(30)])
        store.add_responses([_heard(99, now, None)], log_id=7)
    assert store.response_page(ResponseFilter(status="none")).rows[0].response.log_id == 7
    first = store.response_page(ResponseFilter(limit=10))
    assert [s.id for s in first.rows] == list(range(31, 21, -1))
    assert (first.total, first.next_before_id) == (31, 22)
    second = store.response_page(ResponseFilter(limit=10, before_id=first.next_before_id))
    assert [s.id for s in second.rows] == list(range(21, 11, -1))
    assert store.remove_responses_older_than(30, 500) == 10  # n = 0..9 are 31..40 days old
    assert store.trim_responses(15, 500) == 6
    kept = store.response_page(ResponseFilter(limit=100))
    assert [s.id for s in kept.rows] == list(range(31, 16, -1))
    assert store.trim_responses(0, 500) == 0  # 0: no limit
