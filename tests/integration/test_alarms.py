"""The Alarms table end to end: a real `jira-driver run` against the simulator over loopback, its
real SQLite file, and `jira-driver alarms`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driver.contract.schemas import LogType
from driver.model.alarms import AlarmFilter
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store import Store
from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.integration.test_shell_commands import cli

Factory = Callable[..., DriverProcess]


def alarms(driver: DriverProcess, **params: Any) -> dict[str, Any]:
    with driver.client() as client:
        answer = client.get("/api/alarms", params=params)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
    return page


def test_each_guid_is_one_row_newest_activity_first(driver: DriverProcess, sim: SimProcess) -> None:
    assert driver.send("A-1|CREATE|summary;Disk full on db-1|").status_code == 202
    driver.wait_settled()
    assert driver.send("A-2|CREATE|summary;Fan failure|", "A-1|UPDATE|comment;at 95%|").status_code == 202
    driver.wait_settled()
    assert driver.send("A-2|RESOLVE|comment;fan replaced|").status_code == 202
    driver.wait_settled()
    page = alarms(driver)
    assert [(a["guid"], a["state"], a["last_action"]) for a in page["rows"]] == [
        ("A-2", "cleared", "RESOLVE"),
        ("A-1", "active", "UPDATE"),
    ]
    two, one = page["rows"]
    assert (one["summary"], one["updates_sent"], one["updates_waiting"], one["failed_rows"]) == (
        "Disk full on db-1",
        1,
        0,
        0,
    )
    assert one["ticket_key"].startswith("OPS-")
    assert one["generation"] == 1
    assert one["last_jira_write"] is not None
    assert two["status_category"] == "done"
    assert [a["guid"] for a in alarms(driver, state="active")["rows"]] == ["A-1"]
    assert [a["guid"] for a in alarms(driver, category="done")["rows"]] == ["A-2"]
    assert [a["guid"] for a in alarms(driver, q="disk full")["rows"]] == ["A-1"]  # LIKE ignores ASCII case
    assert [a["guid"] for a in alarms(driver, q=one["ticket_key"])["rows"]] == ["A-1"]
    assert alarms(driver, q="%")["rows"] == []  # as typed: no wildcard
    first = alarms(driver, limit=1)
    assert (len(first["rows"]), first["total"]) == (1, 2)
    rest = alarms(driver, limit=1, before=first["next_before"])
    assert [a["guid"] for a in rest["rows"]] == ["A-1"]
    assert rest["next_before"] is None


def test_a_resolve_in_its_hold_is_shown_so(driver_factory: Factory, sim: SimProcess) -> None:
    driver = driver_factory(sim.url, api_token="t", ini={"lifecycle": {"resolve_hold_seconds": "600"}})
    assert driver.send("H-1|CREATE|summary;Link flapping|").status_code == 202
    driver.wait_settled()
    assert driver.send("H-1|RESOLVE|").status_code == 202
    (held,) = alarms(driver, state="resolve_hold")["rows"]
    assert held["guid"] == "H-1"
    assert held["hold_until"] is not None
    assert held["last_status"] == "Pending"
    assert alarms(driver, state="cleared")["rows"] == []


def test_alarms_from_the_shell(driver: DriverProcess, sim: SimProcess) -> None:
    assert driver.send("S-1|CREATE|summary;Shell alarm|").status_code == 202
    driver.wait_settled()
    shown = cli(driver, "alarms", "--json", "--state", "active")
    assert shown.returncode == 0, shown.stderr
    (line,) = [json.loads(text) for text in shown.stdout.splitlines()]
    assert (line["guid"], line["state"], line["summary"]) == ("S-1", "active", "Shell alarm")
    table = cli(driver, "alarms")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["GUID", "STATE", "TICKET"]
    assert cli(driver, "alarms", "--state", "gone").returncode == 2


def test_an_older_database_gets_its_alarms_from_its_log(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(path, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    store.accept(
        [
            NewEntry(LogType.AUTOMATIC, Action.CREATE, "O-1", JobPayload(text="O-1|CREATE|summary;x|")),
            NewEntry(LogType.AUTOMATIC, Action.UPDATE, "O-1", JobPayload(text="O-1|UPDATE|comment;y|")),
            NewEntry(LogType.MANUAL, Action.CREATE, "M-1", JobPayload(create={"fields": {}})),
        ]
    )
    # as a database from before the Alarms table: no table, no record of its migration
    store.db.execute("DROP TABLE alarms")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0012_alarms'")
    store.close()
    again = Store(path, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    page = again.alarm_page(AlarmFilter(), 0, datetime(2026, 12, 2, tzinfo=UTC))
    assert [(a.guid, a.last_action, a.last_log_id) for a in page.rows] == [("O-1", "UPDATE", 2)]
