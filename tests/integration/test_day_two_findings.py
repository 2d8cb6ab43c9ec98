"""Faults an operator's day-2 trial found (changing settings while it runs, outages, finding a
GUID's history), each fixed as a kind and kept as a test, against a driver process and the
simulator.

- Switching the update limit off left the rows it had Deferred waiting for their old time, and
  new updates of their GUIDs queued behind them.
- One Delete on the Ticket Creation Table took its project row away: every CREATE was refused by
  Jira while `check` said all was well.
- A Failed UPDATE of a ticket the GUID has showed no ticket: the log could not say which one.
- A Jira (or the proxy or load balancer before it) dropping every connection failed rows after
  their few attempts while the status said Jira was ok: each drop counted as Jira answering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for

Factory = Callable[..., DriverProcess]


def all_ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return rows if rows and all(r["status"] == "Ok" for r in rows) and len(rows) == 4 else None


def test_switching_the_update_limit_off_sends_the_rows_it_deferred_at_once(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, api_token="t")
    with driver.client() as api:
        limited = api.put(
            "/api/settings/update", json={"max_updates": 1, "interval_seconds": 600, "scope": "ticket"}
        )
        assert limited.status_code == 200, limited.text
        assert driver.send("K-1|CREATE|summary;link down|").status_code == 202
        driver.wait_settled()
        assert driver.send("K-1|UPDATE|comment;one|", "K-1|UPDATE|comment;two|").status_code == 202
        wait_for(
            lambda: [r["status"] for r in driver.rows()] == ["Ok", "Ok", "Deferred"] or None,
            "the second update deferred for ten minutes",
        )
        off = api.put(
            "/api/settings/update", json={"max_updates": 0, "interval_seconds": 600, "scope": "ticket"}
        )
        assert off.status_code == 200, off.text
        assert driver.send("K-1|UPDATE|comment;three|").status_code == 202
        rows = wait_for(
            lambda: all_ok(driver.rows()),
            "every row sent within seconds of the limit going off, not after ten minutes",
            seconds=10,
        )
    assert not any("deferred" in (r["error"] or "") for r in rows)


def test_check_reports_a_ticket_creation_table_without_a_project(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, api_token="t")
    with driver.client() as api:
        assert api.post("/api/check").json()["ok"] is True
        table = api.get("/api/ticket").json()
        rows = [row for row in table["rows"] if row["field"] != "project"]
        assert api.put("/api/ticket/rows", json={"rows": rows}).status_code == 200
        found = api.post("/api/check").json()
    assert found["ok"] is False
    assert "the Ticket Creation Table includes no project" in found["message"]
    assert [f["kind"] for f in found["findings"]] == ["config"]


def test_a_failed_update_names_the_ticket_it_did_not_reach(driver_factory: Factory, sim: SimProcess) -> None:
    driver = driver_factory(sim.url, api_token="t")
    assert driver.send("K-2|CREATE|summary;fan failure|").status_code == 202
    driver.wait_settled()
    (created,) = driver.rows()
    sim.faults(kind="400", count=1, method="PUT")
    assert driver.send("K-2|UPDATE|summary;fan failure, second fan|").status_code == 202
    driver.wait_settled()
    failed = driver.rows()[-1]
    assert failed["status"] == "Failed"
    assert (failed["ticket_key"], failed["ticket_url"]) == (created["ticket_key"], created["ticket_url"])


def test_a_jira_that_drops_every_connection_is_an_outage_not_failed_rows(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = driver_factory(
        sim.url, api_token="t", ini={"jira": {"max_retries": "1", "retry_base_seconds": "0.2"}}
    )
    guids = [f"D-{n}" for n in range(3)]
    assert driver.send(*(f"{g}|CREATE|summary;{g}|" for g in guids)).status_code == 202
    driver.wait_settled()
    sim.faults(kind="drop", count=-1)
    assert driver.send(*(f"{g}|UPDATE|comment;{g} still down|" for g in guids)).status_code == 202
    wait_for(lambda: driver.status()["jira_state"] == "unreachable" or None, "the drops seen as an outage")
    status = driver.status()
    assert "lost" in status["jira_message"], status
    # longer than max_retries = 1 would have taken to fail them
    wait_for(lambda: driver.status()["outage_attempts"] >= 3 or None, "three tries of the water", seconds=30)
    assert [r["status"] for r in driver.rows()[3:]] == ["Pending"] * 3
    sim.admin("faults", method="DELETE")
    driver.wait_settled(60)
    assert [r["status"] for r in driver.rows()] == ["Ok"] * 6
    assert driver.status()["jira_state"] == "ok"
