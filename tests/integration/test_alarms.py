"""The Alarms table end to end: a real `jira-driver run` against the simulator over loopback, its
real SQLite file, and `jira-driver alarms`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver.contract.schemas import LogType
from driver.model.alarms import AlarmFilter
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.model.stamps import stamp_label
from driver.store import Store
from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.integration.test_shell_commands import cli

Factory = Callable[..., DriverProcess]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The drivers of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


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


def post(driver: DriverProcess, action: str, guid: str) -> Any:
    with driver.client() as client:
        return client.post(f"/api/alarms/{action}", json={"guid": guid})


def test_resolve_now_is_a_manual_resolve_that_does_not_wait_out_the_hold(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, api_token="t", ini={"lifecycle": {"resolve_hold_seconds": "600"}})
    assert driver.send("N-1|CREATE|summary;Power supply|").status_code == 202
    driver.wait_settled()
    answer = post(driver, "resolve", "N-1")
    assert answer.status_code == 202, answer.text
    (accepted,) = answer.json()["accepted"]
    driver.wait_settled()
    row = next(r for r in driver.rows() if r["id"] == accepted["id"])
    assert (row["type"], row["action"], row["status"]) == ("Manual", "RESOLVE", "Ok")
    (issue,) = [i for i in sim.issues() if i["key"] == row["ticket_key"]]
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
    # a person's resolve is not the alarm's: the alarm itself is still active
    assert alarms(driver)["rows"][0]["state"] == "active"
    assert post(driver, "resolve", "never-seen").status_code == 404


def test_retry_accepts_the_failed_rows_again_and_keeps_them(driver: DriverProcess, sim: SimProcess) -> None:
    sim.faults(kind="status", status=500, count=-1, method="POST", path="/rest/api/latest/issue")
    with driver.client() as client:
        client.put("/api/settings/jira", json={"max_retries": 0})
    assert driver.send("F-1|CREATE|summary;Refused|").status_code == 202
    failed = driver.wait_rows(lambda rows: bool(rows) and rows[0]["status"] == "Failed")
    sim.admin("faults", method="DELETE")
    answer = post(driver, "retry", "F-1")
    assert answer.status_code == 202, answer.text
    (again,) = answer.json()["accepted"]
    assert (again["guid"], again["action"]) == ("F-1", "CREATE")
    driver.wait_settled()
    rows = driver.rows()
    assert [(r["id"], r["status"]) for r in rows] == [(failed[0]["id"], "Failed"), (again["id"], "Ok")]
    assert rows[1]["note"].startswith(f"retry of log #{failed[0]['id']}")
    assert rows[0]["note"].endswith(f"retried as log #{again['id']}")
    # a Failed row is retried once: a second retry (a double click, a script run twice) sent the
    # rows again, and a retried UPDATE's comment went to the ticket twice (found by helper-30)
    twice = post(driver, "retry", "F-1")
    assert twice.status_code == 404, twice.text
    assert "retried once" in twice.json()["error"]
    assert len(driver.rows()) == 2


def test_a_retried_update_is_not_sent_again_by_a_second_retry(driver: DriverProcess, sim: SimProcess) -> None:
    assert driver.send("F-2|CREATE|summary;Fan|").status_code == 202
    driver.wait_settled()
    key = driver.rows()[0]["ticket_key"]
    sim.faults(kind="400", count=1, method="POST", path=f"/rest/api/latest/issue/{key}/comment")
    assert driver.send("F-2|UPDATE|comment;second fan down|").status_code == 202
    driver.wait_settled()
    assert driver.rows()[1]["status"] == "Failed"
    assert post(driver, "retry", "F-2").status_code == 202
    driver.wait_settled()
    assert post(driver, "retry", "F-2").status_code == 404
    driver.wait_settled()
    comments = sim.admin(f"issues/{key}")["fields"]["comment"]["comments"]
    assert [c["body"] for c in comments] == ["second fan down"]


def test_unlink_makes_the_next_create_a_new_ticket(driver: DriverProcess, sim: SimProcess) -> None:
    assert driver.send("U-1|CREATE|summary;First|").status_code == 202
    driver.wait_settled()
    first = alarms(driver)["rows"][0]["ticket_key"]
    # the UPDATE's comment is answered 2 s late: its row is open meanwhile
    sim.faults(kind="slow_after", count=1, seconds=2, method="POST", path=f"/rest/api/latest/issue/{first}")
    assert driver.send("U-1|UPDATE|comment;still down|").status_code == 202
    answer = post(driver, "unlink", "U-1")
    assert answer.status_code == 409, answer.text
    assert "open row" in answer.json()["error"]
    driver.wait_settled()
    answer = post(driver, "unlink", "U-1")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"guid": "U-1", "ticket_key": first, "generation": 1}
    assert post(driver, "unlink", "U-1").status_code == 404
    assert driver.send("U-1|CREATE|summary;Second|").status_code == 202
    driver.wait_settled()
    (alarm,) = alarms(driver)["rows"]
    assert alarm["ticket_key"] != first
    assert alarm["generation"] == 2
    with driver.client() as client:
        view = client.get("/api/tickets/U-1").json()
    assert [(t["key"], t["ended"]) for t in view["tickets"]] == [
        (first, "unlinked"),
        (alarm["ticket_key"], None),
    ]


def person_opens(sim: SimProcess, summary: str, labels: tuple[str, ...] = ()) -> str:
    """A ticket a person made in Jira (no stamp of the driver's); its key."""
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary}}
    if labels:
        body["fields"]["labels"] = list(labels)
    answer = httpx.post(f"{sim.url}/rest/api/2/issue", json=body, auth=("admin", "admin"), timeout=10)
    answer.raise_for_status()
    return str(answer.json()["key"])


def labels_of(sim: SimProcess, key: str) -> list[str]:
    issue = httpx.get(f"{sim.url}/rest/api/2/issue/{key}", auth=("admin", "admin"), timeout=10).json()
    return list(issue["fields"]["labels"])


def link(driver: DriverProcess, guid: str, key: str) -> Any:
    with driver.client() as client:
        return client.post("/api/alarms/link", json={"guid": guid, "key": key})


def test_link_stamps_a_persons_ticket_and_the_alarm_then_updates_it(
    driver: DriverProcess, sim: SimProcess
) -> None:
    key = person_opens(sim, "Core router flapping", labels=("network",))
    answer = link(driver, "L-1", key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ticket_key"] == key
    assert answer.json()["generation"] == 1
    assert labels_of(sim, key) == ["network", stamp_label("L-1")]
    assert driver.send("L-1|UPDATE|comment;seen again|").status_code == 202
    driver.wait_settled()
    (row,) = driver.rows()
    assert (row["status"], row["ticket_key"]) == ("Ok", key)
    assert [a["ticket_key"] for a in alarms(driver)["rows"]] == [key]
    # what cannot be linked, and why
    assert link(driver, "L-2", key).status_code == 409  # another GUID holds it
    assert link(driver, "L-1", person_opens(sim, "other")).status_code == 409  # L-1 has a ticket
    assert link(driver, "L-3", "OPS-9999").status_code == 404
    stamped = person_opens(sim, "made for another alarm", labels=(stamp_label("X-9"),))
    refused = link(driver, "L-3", stamped)
    assert refused.status_code == 409
    assert "another alarm's stamp" in refused.json()["error"]
    assert link(driver, "L-3", "not a key").status_code == 400


def test_a_link_whose_answer_is_lost_then_a_kill_ends_in_one_link_one_stamp(
    driver: DriverProcess, sim: SimProcess
) -> None:
    key = person_opens(sim, "UPS on battery")
    # Jira takes the stamp edit and the answer never comes back
    sim.faults(kind="drop_after", count=1, method="PUT", path=f"/rest/api/latest/issue/{key}")
    answer = link(driver, "K-1", key)
    assert answer.status_code == 503, answer.text
    driver.kill()
    driver.start()
    assert driver.send("K-1|UPDATE|comment;still on battery|").status_code == 202
    driver.wait_settled()
    (row,) = driver.rows()
    assert (row["status"], row["ticket_key"]) == ("Ok", key)
    assert labels_of(sim, key) == [stamp_label("K-1")]
    assert [i["key"] for i in sim.issues() if "UPS" in i["fields"]["summary"]] == [key]


def test_link_from_the_shell(driver: DriverProcess, sim: SimProcess) -> None:
    key = person_opens(sim, "Printer on fire")
    done = cli(driver, "link", "P-1", key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"linked P-1 to {key} ")
    again = cli(driver, "link", "P-2", key)
    assert again.returncode == 1
    assert "is the ticket of GUID 'P-1'" in again.stderr


def test_resolve_retry_and_unlink_from_the_shell(driver_factory: Factory, sim: SimProcess) -> None:
    # the TUI and the API had them, the shell had only `link` (an operator trial)
    driver = driver_factory(sim.url, api_token="t", ini={"lifecycle": {"resolve_hold_seconds": "600"}})
    refusals = {
        "resolve": "no ticket to resolve",
        "retry": "no Failed rows to retry (a row is retried once)",
        "unlink": "no ticket to unlink",
    }
    for action, said in refusals.items():
        unknown = cli(driver, action, "never-seen")
        assert (unknown.returncode, unknown.stdout) == (1, ""), (action, unknown.stderr)
        assert unknown.stderr.splitlines() == [
            f"jira-driver {action}: HTTP 404: GUID 'never-seen' has {said}"
        ]

    # retry: a create Jira refused, accepted again once Jira takes it
    sim.faults(kind="status", status=500, count=-1, method="POST", path="/rest/api/latest/issue")
    with driver.client() as client:
        client.put("/api/settings/jira", json={"max_retries": 0})
    assert driver.send("C-1|CREATE|summary;Chiller alarm|").status_code == 202
    (failed,) = driver.wait_rows(lambda rows: bool(rows) and rows[0]["status"] == "Failed")
    sim.admin("faults", method="DELETE")
    retried = cli(driver, "retry", "C-1")
    assert retried.returncode == 0, retried.stderr
    [line] = retried.stdout.splitlines()
    again = int(line.split()[1].removeprefix("#"))
    assert line == f"accepted #{again} CREATE C-1"
    driver.wait_settled()
    row = next(r for r in driver.rows() if r["id"] == again)
    assert (row["status"], row["note"].startswith(f"retry of log #{failed['id']}")) == ("Ok", True)
    first = row["ticket_key"]

    # resolve: now, not after the 600 s hold
    resolved = cli(driver, "resolve", "C-1")
    assert resolved.returncode == 0, resolved.stderr
    [line] = resolved.stdout.splitlines()
    assert re.fullmatch(r"accepted #\d+ RESOLVE C-1", line), line
    driver.wait_settled()
    (issue,) = [i for i in sim.issues() if i["key"] == first]
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"

    # unlink: refused while a row is open, then the next CREATE makes a new ticket
    sim.faults(kind="slow_after", count=1, seconds=2, method="POST", path=f"/rest/api/latest/issue/{first}")
    assert driver.send("C-1|UPDATE|comment;still hot|").status_code == 202
    busy = cli(driver, "unlink", "C-1")
    assert (busy.returncode, busy.stdout) == (1, "")
    assert "open row(s): unlink it once they are settled" in busy.stderr
    driver.wait_settled()
    unlinked = cli(driver, "unlink", "C-1")
    assert unlinked.returncode == 0, unlinked.stderr
    assert unlinked.stdout.splitlines() == [
        f"unlinked C-1 from {first}: its next CREATE makes a new ticket (generation 2)"
    ]
    assert cli(driver, "unlink", "C-1").returncode == 1
    assert driver.send("C-1|CREATE|summary;Chiller alarm again|").status_code == 202
    driver.wait_settled()
    (alarm,) = alarms(driver)["rows"]
    assert (alarm["generation"], alarm["ticket_key"] != first) == (2, True)
