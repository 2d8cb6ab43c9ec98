"""The ticket's whole life against the simulator: RESOLVE, REOPEN, a CREATE after a resolve (inside
and outside the reopen window), the resolve hold, transitions that cannot be made, an in-doubt
transition, and a ticket deleted in Jira. Real driver processes, real HTTP, real SQLite."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from driver.contract.client import guid_path
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

Factory = Callable[..., DriverProcess]
NET = {"ticket": {"project": "NET", "issue_type": "Task"}}


def _ini(*parts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for part in parts:
        for section, keys in part.items():
            merged.setdefault(section, {}).update(keys)
    return merged


def issue(sim: Any, key: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{sim.url}/_sim/issues/{key}", timeout=5).json()
    return data


def transition_posts(sim: Any, key: str) -> list[dict[str, Any]]:
    return [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith(f"/{key}/transitions")]


def row_of(driver: DriverProcess, guid: str, action: str) -> dict[str, Any]:
    rows = [r for r in driver.rows() if r["guid"] == guid and r["action"] == action]
    assert rows, f"no {action} row for {guid}"
    return rows[-1]


def view(driver: DriverProcess, guid: str) -> dict[str, Any]:
    """GET /api/tickets/{guid}: what the driver records of the GUID's ticket."""
    with driver.client() as client:
        answer = client.get(guid_path(guid))
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def stats(driver: DriverProcess) -> dict[str, Any]:
    with driver.client() as client:
        data: dict[str, Any] = client.get("/api/stats").json()
    return data


def settled(driver: DriverProcess, timeout: float = 20.0) -> list[dict[str, Any]]:
    driver.wait_settled(timeout)
    return driver.rows()


def created_key(driver: DriverProcess, guid: str) -> str:
    key = row_of(driver, guid, "CREATE")["ticket_key"]
    assert key
    return str(key)


def test_resolve_sets_resolution_and_comment_in_one_request(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    assert driver.send("L-1|CREATE|summary;link down|").status_code == 202
    settled(driver)
    key = created_key(driver, "L-1")
    assert driver.send("L-1|RESOLVE|resolution;Fixed|comment;cleared at 10:02|").status_code == 202
    settled(driver)
    row = row_of(driver, "L-1", "RESOLVE")
    assert row["status"] == "Ok", row
    posts = transition_posts(sim, key)
    assert len(posts) == 1
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Done"
    assert fields["resolution"]["name"] == "Fixed"
    assert [c["body"] for c in fields["comment"]["comments"]] == ["cleared at 10:02"]
    # the comment went with the transition: no separate comment POST
    assert not [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/comment")]
    seen = view(driver, "L-1")
    assert seen["alarm"] == "cleared"
    ticket = seen["ticket"]
    assert (ticket["key"], ticket["status"], ticket["status_category"]) == (key, "Done", "done")
    assert ticket["resolution"] == "Fixed"
    assert ticket["resolved_by_driver"] is True
    assert ticket["resolved_at"]


def test_resolve_uses_the_configured_resolution_and_reopen_moves_back(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url, ini=_ini(NET, {"lifecycle": {"resolution": "Won't Fix"}}))
    driver.send("L-2|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "L-2")
    driver.send("L-2|RESOLVE|")
    settled(driver)
    assert issue(sim, key)["fields"]["resolution"]["name"] == "Won't Fix"
    driver.send("L-2|REOPEN|comment;it is back|")
    settled(driver)
    assert row_of(driver, "L-2", "REOPEN")["status"] == "Ok"
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Reopened"
    assert fields["resolution"] is None


def test_resolve_of_a_ticket_already_resolved_sends_nothing(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url)
    driver.send("L-3|CREATE|summary;x|", "L-3|RESOLVE|", "L-3|RESOLVE|")
    rows = settled(driver)
    key = created_key(driver, "L-3")
    resolves = [r for r in rows if r["action"] == "RESOLVE"]
    assert [r["status"] for r in resolves] == ["Ok", "Ok"]
    assert "already in 'Done': nothing sent" in resolves[1]["note"]
    assert len(transition_posts(sim, key)) == 1


def test_resolve_or_reopen_without_a_ticket_fails_with_that_reason(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url)
    driver.send("NOPE|RESOLVE|", "NOPE2|REOPEN|")
    rows = settled(driver)
    assert [r["status"] for r in rows] == ["Failed", "Failed"]
    assert "no ticket for GUID 'NOPE' to RESOLVE" in rows[0]["error"]
    assert "no ticket for GUID 'NOPE2' to REOPEN" in rows[1]["error"]


def test_unknown_resolution_fails_with_the_resolutions_that_exist(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    driver.send("L-4|CREATE|summary;x|", "L-4|RESOLVE|resolution;Sorted|")
    settled(driver)
    key = created_key(driver, "L-4")
    row = row_of(driver, "L-4", "RESOLVE")
    assert row["status"] == "Failed"
    assert "unknown resolution 'Sorted'" in row["error"]
    assert "Fixed" in row["error"]
    assert "Won't Fix" in row["error"]
    assert transition_posts(sim, key) == []
    assert issue(sim, key)["fields"]["status"]["name"] == "To Do"


def test_no_transition_to_the_target_lists_what_exists(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=_ini(NET, {"lifecycle": {"resolve_target": "status:Closed"}}))
    driver.send("L-5|CREATE|summary;x|", "L-5|RESOLVE|")
    settled(driver)
    row = row_of(driver, "L-5", "RESOLVE")
    assert row["status"] == "Failed"
    error = row["error"]
    assert "no transition of" in error
    assert "status 'Closed'" in error
    for offered in ("Start Progress -> In Progress", "Resolve Issue -> Done"):
        assert offered in error, error


def test_transition_ids_differ_per_issue_type_and_are_found_for_each(
    driver_factory: Factory, sim: Any
) -> None:
    # NET Task and NET Bug share transition names under other ids: a cache keyed by project alone
    # would send Task's id to the Bug.
    driver = driver_factory(sim.url, ini=NET)
    driver.send("T-1|CREATE|summary;task|", "B-1|CREATE|summary;bug|issuetype;Bug|")
    settled(driver)
    driver.send("T-1|RESOLVE|", "B-1|RESOLVE|")
    rows = settled(driver)
    assert [r["status"] for r in rows if r["action"] == "RESOLVE"] == ["Ok", "Ok"]
    assert issue(sim, created_key(driver, "T-1"))["fields"]["status"]["name"] == "Done"
    assert issue(sim, created_key(driver, "B-1"))["fields"]["status"]["name"] == "Resolved"


def test_create_after_resolve_inside_the_window_reopens_the_ticket(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    driver.send("W-1|CREATE|summary;first|")
    settled(driver)
    key = created_key(driver, "W-1")
    driver.send("W-1|RESOLVE|")
    settled(driver)
    driver.send("W-1|CREATE|summary;again|")
    settled(driver)
    last = [r for r in driver.rows() if r["action"] == "CREATE"][-1]
    assert last["status"] == "Ok"
    assert last["ticket_key"] == key
    assert "reopened it" in last["note"]
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Reopened"
    assert fields["summary"] == "again"
    assert len(sim.issues()) == 1


def test_create_after_resolve_outside_the_window_makes_a_new_ticket(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url, ini=_ini(NET, {"lifecycle": {"reopen_window_minutes": "0"}}))
    driver.send("W-2|CREATE|summary;first|")
    settled(driver)
    first = created_key(driver, "W-2")
    driver.send("W-2|RESOLVE|", "W-2|CREATE|summary;second|")
    settled(driver)
    second = [r for r in driver.rows() if r["action"] == "CREATE"][-1]
    assert second["status"] == "Ok"
    assert second["ticket_key"]
    assert second["ticket_key"] != first
    assert "a new ticket for the GUID" in second["note"]
    assert issue(sim, first)["fields"]["status"]["name"] == "Done"
    # both tickets carry a stamp of their own, so a stamp search finds exactly one of them
    labels = [set(issue(sim, k)["fields"]["labels"]) for k in (first, str(second["ticket_key"]))]
    assert labels[0]
    assert labels[1]
    assert not labels[0] & labels[1]
    # and later commands go to the new ticket
    driver.send("W-2|UPDATE|summary;second, updated|")
    settled(driver)
    assert issue(sim, str(second["ticket_key"]))["fields"]["summary"] == "second, updated"
    assert issue(sim, first)["fields"]["summary"] == "first"
    seen = view(driver, "W-2")
    assert seen["ticket"]["key"] == second["ticket_key"]
    assert seen["ticket"]["generation"] == 2
    assert [(t["key"], t["ended"]) for t in seen["tickets"]] == [
        (first, "superseded"),
        (second["ticket_key"], None),
    ]


def test_a_flap_inside_the_hold_cancels_the_resolve(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini={"lifecycle": {"resolve_hold_seconds": "30"}})
    driver.send("F-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "F-1")
    driver.send("F-1|RESOLVE|")
    driver.wait_rows(lambda rows: "resolve hold" in row_of(driver, "F-1", "RESOLVE")["error"])
    assert view(driver, "F-1")["alarm"] == "resolve_hold"
    driver.send("F-1|UPDATE|comment;flapped back|")
    rows = settled(driver, 10)
    resolve = next(r for r in rows if r["action"] == "RESOLVE")
    assert resolve["status"] == "Cancelled"
    assert "came back within its resolve hold (30 s) before the RESOLVE went out" in resolve["note"]
    assert view(driver, "F-1")["alarm"] == "active"
    assert transition_posts(sim, key) == []
    assert issue(sim, key)["fields"]["status"]["name"] == "To Do"


def test_a_resolve_goes_once_its_hold_has_passed(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini={"lifecycle": {"resolve_hold_seconds": "1"}})
    driver.send("F-2|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "F-2")
    started = time.monotonic()
    driver.send("F-2|RESOLVE|")
    settled(driver)
    assert time.monotonic() - started >= 1.0
    assert row_of(driver, "F-2", "RESOLVE")["status"] == "Ok"
    assert issue(sim, key)["fields"]["status"]["name"] == "Done"


def test_an_in_doubt_transition_is_settled_by_reading_the_status(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    driver.send("D-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "D-1")
    # Jira does the transition, then the connection drops before the answer
    sim.faults(kind="drop_after", count=1, method="POST", path=f"/rest/api/latest/issue/{key}/transitions")
    driver.send("D-1|RESOLVE|comment;once|")
    settled(driver)
    row = row_of(driver, "D-1", "RESOLVE")
    assert row["status"] == "Ok", row
    assert "the transition sent earlier went through" in row["note"]
    assert len(transition_posts(sim, key)) == 1
    assert len(issue(sim, key)["fields"]["comment"]["comments"]) == 1


def _flap_to_a_refused_transition(
    driver_factory: Factory, sim: Any, guid: str, last: str, fault: dict[str, Any]
) -> tuple[DriverProcess, str]:
    """A flapping alarm: RESOLVE and REOPEN done, then the `last` transition (RESOLVE or REOPEN, with
    a comment) whose first POST meets `fault`: the driver's own earlier move to the same status is
    seconds old."""
    driver = driver_factory(sim.url, ini=NET)
    driver.send(f"{guid}|CREATE|summary;flapping|", f"{guid}|RESOLVE|comment;first clear|")
    settled(driver)
    key = created_key(driver, guid)
    driver.send(f"{guid}|REOPEN|comment;back|")
    settled(driver)
    if last == "REOPEN":
        driver.send(f"{guid}|RESOLVE|comment;second clear|")
        settled(driver)
    sim.faults(method="POST", path=f"/rest/api/latest/issue/{key}/transitions", count=1, **fault)
    driver.send(f"{guid}|{last}|comment;the last word|")
    settled(driver)
    return driver, key


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "status", "status": 503}, id="503 unprocessed"),
        pytest.param({"kind": "drop"}, id="connection dropped unprocessed"),
    ],
)
@pytest.mark.parametrize("last", ["RESOLVE", "REOPEN"])
def test_a_transition_refused_unprocessed_is_not_settled_by_the_drivers_earlier_move(
    driver_factory: Factory, sim: Any, last: str, fault: dict[str, Any]
) -> None:
    driver, key = _flap_to_a_refused_transition(driver_factory, sim, f"FLAP-{last}", last, fault)
    row = [r for r in driver.rows() if r["action"] == last][-1]
    assert row["status"] == "Ok", row
    assert "went through" not in (row["note"] or ""), row
    fields = issue(sim, key)["fields"]
    expected = "Done" if last == "RESOLVE" else "Reopened"
    assert fields["status"]["name"] == expected, "the row is Ok, so Jira must hold its transition"
    bodies = [c["body"] for c in fields["comment"]["comments"]]
    assert bodies.count("the last word") == 1, bodies
    # one refused POST, then the one that went through
    moves = [e for e in transition_posts(sim, key) if e["status"] == 204]
    assert len(moves) == (3 if last == "RESOLVE" else 4)


def test_a_500_from_a_jira_that_applied_a_cached_transition_makes_one_transition(
    driver_factory: Factory, sim: Any
) -> None:
    # the second cycle sends the cached Reopened -> Done id; Jira applies it and answers 500 (DC's
    # answer to a stale id): the driver reads the ticket before looking the id up again, and sends
    # nothing more
    driver = driver_factory(sim.url, ini=NET)
    driver.send("FLAP-500|CREATE|summary;x|", "FLAP-500|RESOLVE|", "FLAP-500|REOPEN|", "FLAP-500|RESOLVE|")
    settled(driver)
    key = created_key(driver, "FLAP-500")
    driver.send("FLAP-500|REOPEN|")
    settled(driver)
    sim.faults(
        kind="status_after",
        status=500,
        count=1,
        method="POST",
        path=f"/rest/api/latest/issue/{key}/transitions",
    )
    driver.send("FLAP-500|RESOLVE|comment;the last word|")
    settled(driver)
    row = [r for r in driver.rows() if r["action"] == "RESOLVE"][-1]
    assert row["status"] == "Ok", row
    assert "the transition sent earlier went through" in row["note"], row
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Done"
    assert [c["body"] for c in fields["comment"]["comments"]].count("the last word") == 1
    assert len(transition_posts(sim, key)) == 5, "four moves, and the one answered 500 after it was done"


def test_a_transition_done_on_its_last_allowed_attempt_is_not_failed(
    driver_factory: Factory, sim: Any
) -> None:
    # max_retries 1: the first POST is refused unprocessed (500), the second is done but its answer
    # comes past the timeout. The row's retries are spent, yet it is not Failed for a transition
    # Jira made: one more attempt reads the ticket (its marker) and sends nothing.
    driver = driver_factory(sim.url, ini=_ini(NET, {"jira": {"max_retries": "1", "timeout_seconds": "1"}}))
    driver.send("LAST-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "LAST-1")
    path = f"/rest/api/latest/issue/{key}/transitions"
    sim.faults(kind="status", status=500, count=1, method="POST", path=path)
    sim.faults(kind="slow_after", seconds=2, count=1, method="POST", path=path)
    driver.send("LAST-1|RESOLVE|comment;once|")
    settled(driver, 30)
    row = row_of(driver, "LAST-1", "RESOLVE")
    assert row["status"] == "Ok", row
    assert "the transition sent earlier went through" in row["note"], row
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Done"
    assert [c["body"] for c in fields["comment"]["comments"]] == ["once"]
    assert sim.counters()["transitions"] == 1, "the refused one was not done; the late one once"


def resolve_then_kill(driver_factory: Factory, sim: Any, guid: str) -> tuple[DriverProcess, str]:
    """A NET ticket for `guid`, whose RESOLVE Jira does while it holds the answer; the driver is
    killed with the POST on the wire (checked: journaled). The driver, not restarted, and the key."""
    driver = driver_factory(sim.url, ini=NET)
    driver.send(f"{guid}|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, guid)
    sim.faults(
        kind="slow_after", count=1, seconds=8, method="POST", path=f"/rest/api/latest/issue/{key}/transitions"
    )
    driver.send(f"{guid}|RESOLVE|comment;exactly once|")
    # Jira has done it and holds the answer (the simulator journals requests once answered)
    wait_for(
        lambda: issue(sim, key)["fields"]["status"]["name"] == "Done",
        "the transition done by the simulator",
        4,
        every=0.02,
    )
    with sqlite3.connect(f"file:{driver.db_path}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM transition_sends").fetchone() == (1,)
    driver.kill()
    return driver, key


def test_kill_9_with_a_transition_on_the_wire_makes_one_transition(driver_factory: Factory, sim: Any) -> None:
    driver, key = resolve_then_kill(driver_factory, sim, "K-1")
    driver.restart()
    settled(driver)
    row = row_of(driver, "K-1", "RESOLVE")
    assert row["status"] == "Ok"
    assert "the transition sent earlier went through" in row["note"]
    # the killed POST is journaled by the simulator only if it finished answering a dead socket;
    # no second POST was made, and the comment that rode on the transition is there once
    assert len(transition_posts(sim, key)) <= 1
    assert len(issue(sim, key)["fields"]["comment"]["comments"]) == 1


def test_a_ticket_deleted_in_jira_is_forgotten_and_the_next_create_makes_a_new_one(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url)
    driver.send("X-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "X-1")
    answer = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "delete"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    driver.send("X-1|UPDATE|summary;y|")
    settled(driver)
    update = row_of(driver, "X-1", "UPDATE")
    assert update["status"] == "Failed"
    assert f"ticket {key} no longer exists in Jira" in update["error"]
    driver.send("X-1|UPDATE|summary;z|", "X-1|CREATE|summary;new life|")
    rows = settled(driver)
    assert "was deleted in Jira" in rows[-2]["error"]
    create = rows[-1]
    assert create["status"] == "Ok", create
    assert create["ticket_key"]
    assert create["ticket_key"] != key
    assert "deleted in Jira: a new ticket" in create["note"]
    seen = view(driver, "X-1")
    assert seen["ticket"]["key"] == create["ticket_key"]
    assert [(t["key"], t["ended"]) for t in seen["tickets"]] == [
        (key, "deleted"),
        (create["ticket_key"], None),
    ]


def test_a_deferred_update_and_a_resolve_go_out_in_order_and_count_as_updates(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url, ini={"update": {"max_updates": "1", "interval_seconds": "2"}})
    driver.send("O-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "O-1")
    before = stats(driver)
    driver.send("O-1|UPDATE|summary;a|", "O-1|UPDATE|summary;b|", "O-1|UPDATE|summary;c|", "O-1|RESOLVE|")
    rows = settled(driver, 30)
    statuses = [(r["action"], r["status"]) for r in rows if r["guid"] == "O-1"]
    assert statuses == [
        ("CREATE", "Ok"),
        ("UPDATE", "Ok"),
        ("UPDATE", "Ok"),
        ("UPDATE", "Ok"),
        ("RESOLVE", "Ok"),
    ]
    writes = [
        e["path"].rsplit("/", 1)[-1]
        for e in sim.journal()
        if e["method"] in ("PUT", "POST") and f"/{key}" in e["path"]
    ]
    # the first update, the two deferred ones merged, then the transition: the resolve is never
    # merged away and never overtakes an update queued before it
    assert writes == [key, key, "transitions"]
    assert issue(sim, key)["fields"]["summary"] == "c"
    after = stats(driver)
    assert after["update"]["total"] - before["update"]["total"] == 3


def test_a_resolve_waits_out_a_jira_outage(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url)
    driver.send("U-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "U-1")
    sim.faults(kind="status", status=503, count=6, method="GET", path=f"/rest/api/latest/issue/{key}")
    driver.send("U-1|RESOLVE|")
    rows = settled(driver, 60)
    resolve = next(r for r in rows if r["action"] == "RESOLVE")
    assert resolve["status"] == "Ok", resolve
    assert issue(sim, key)["fields"]["status"]["name"] == "Done"


def test_a_create_that_meets_its_deleted_ticket_makes_the_new_one(driver_factory: Factory, sim: Any) -> None:
    # no sync: the driver learns of the deletion from Jira's 404 to the CREATE's update
    driver = driver_factory(sim.url)
    driver.send("X-2|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "X-2")
    httpx.post(f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "delete"}, timeout=5)
    driver.send("X-2|CREATE|summary;raised again|priority;High|", "X-2|UPDATE|comment;still raised|")
    rows = settled(driver)
    create, update = rows[-2], rows[-1]
    assert create["status"] == "Ok", create
    assert create["ticket_key"] not in (None, key)
    assert f"{key} was deleted in Jira (HTTP 404 to its update)" in create["note"]
    assert update["status"] == "Ok", update
    fields = issue(sim, create["ticket_key"])["fields"]
    assert (fields["summary"], fields["priority"]["name"]) == ("raised again", "High")
    assert [c["body"] for c in fields["comment"]["comments"]] == ["still raised"]


def test_a_transition_on_the_wire_at_a_kill_that_a_person_undid_is_not_sent_again(
    driver_factory: Factory, sim: Any
) -> None:
    driver, key = resolve_then_kill(driver_factory, sim, "K-2")
    # while the driver is down, a person reopens the ticket
    answer = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "reopen"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    driver.restart()
    settled(driver)
    row = row_of(driver, "K-2", "RESOLVE")
    assert row["status"] == "Ok", row
    assert "has been moved on since: not sent again" in row["note"]
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Reopened"
    assert [c["body"] for c in fields["comment"]["comments"]] == ["exactly once"]


def test_fields_not_on_the_transition_screen_are_set_by_an_edit_first(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url)
    driver.send("E-1|CREATE|summary;x|", "E-1|RESOLVE|summary;cleared: x|comment;gone|")
    settled(driver)
    key = created_key(driver, "E-1")
    fields = issue(sim, key)["fields"]
    assert (fields["summary"], fields["status"]["name"]) == ("cleared: x", "Done")
    writes = [e["method"] for e in sim.journal() if e["method"] in ("PUT", "POST") and f"/{key}" in e["path"]]
    assert writes == ["PUT", "POST"]
    row = row_of(driver, "E-1", "RESOLVE")
    with driver.client() as client:
        request = client.get(f"/api/log/{row['id']}").json()["request"]
    assert request["edit"] == {"fields": {"summary": "cleared: x"}}
    assert request["transition"]["id"]
    assert request["update"] == {"comment": [{"add": {"body": "gone"}}]}


def test_a_resolve_whose_answer_was_lost_is_settled_not_cancelled_by_the_alarms_return(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url, ini={"lifecycle": {"resolve_hold_seconds": "1"}})
    driver.send("H-1|CREATE|summary;x|")
    settled(driver)
    key = created_key(driver, "H-1")
    sim.faults(
        kind="slow_after", count=1, seconds=8, method="POST", path=f"/rest/api/latest/issue/{key}/transitions"
    )
    driver.send("H-1|RESOLVE|comment;cleared|")
    # Jira has done it and holds the answer; the alarm comes back meanwhile
    wait_for(
        lambda: issue(sim, key)["fields"]["status"]["name"] == "Done",
        "the transition done by the simulator",
        10,
        every=0.02,
    )
    driver.send("H-1|UPDATE|summary;back|")
    rows = settled(driver, 30)
    resolve, update = rows[-2], rows[-1]
    assert resolve["status"] == "Ok", resolve
    assert "the transition sent earlier went through" in resolve["note"]
    assert update["status"] == "Ok", update
    seen = view(driver, "H-1")["ticket"]
    assert (seen["status"], seen["resolved_by_driver"]) == ("Done", True)
    fields = issue(sim, key)["fields"]
    assert fields["summary"] == "back"
    assert [c["body"] for c in fields["comment"]["comments"]] == ["cleared"]


def comment_posts(sim: Any, key: str) -> list[dict[str, Any]]:
    return [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith(f"/{key}/comment")]


@pytest.mark.parametrize("answer_lost", [False, True], ids=["answered", "comment answer lost"])
def test_a_reopen_comment_on_a_screenless_transition_reaches_the_ticket_once(
    driver_factory: Factory, sim: Any, answer_lost: bool
) -> None:
    """Reopen Issue has no screen: Jira answers 204 and drops `update.comment`, so the comment goes
    as a comment of its own, exactly once even when the answer to its POST is lost."""
    driver = driver_factory(sim.url, ini=NET)
    driver.send("S-1|CREATE|summary;x|", "S-1|RESOLVE|comment;cleared|")
    settled(driver)
    key = created_key(driver, "S-1")
    if answer_lost:
        sim.faults(kind="drop_after", count=1, method="POST", path=f"/rest/api/latest/issue/{key}/comment")
    driver.send("S-1|REOPEN|comment;it is back|")
    settled(driver)
    row = row_of(driver, "S-1", "REOPEN")
    assert row["status"] == "Ok", row
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Reopened"
    bodies = [c["body"] for c in fields["comment"]["comments"]]
    assert bodies == ["cleared", "it is back"], bodies
    # the resolve screen took its comment; the reopen's went on its own, not in the transition
    reopen = transition_posts(sim, key)[-1]
    assert "update" not in reopen["body"], reopen
    # a lost answer is settled by reading the ticket's comments: found there, not posted again
    assert len(comment_posts(sim, key)) == 1
    assert ("was already on" in (row["note"] or "")) is answer_lost, row
    with driver.client() as client:
        request = client.get(f"/api/log/{row['id']}").json()["request"]
    assert request["comments"] == [{"body": "it is back"}], request
    assert "update" not in request, request


def test_a_screenless_transition_refused_after_its_comment_posts_the_comment_once(
    driver_factory: Factory, sim: Any
) -> None:
    """The comment is journaled before the transition: a transition retried after a 503 does not
    post it again."""
    driver = driver_factory(sim.url, ini=NET)
    driver.send("S-2|CREATE|summary;x|", "S-2|RESOLVE|")
    settled(driver)
    key = created_key(driver, "S-2")
    sim.faults(
        kind="status", status=503, count=1, method="POST", path=f"/rest/api/latest/issue/{key}/transitions"
    )
    driver.send("S-2|REOPEN|comment;back once|")
    settled(driver)
    assert row_of(driver, "S-2", "REOPEN")["status"] == "Ok"
    fields = issue(sim, key)["fields"]
    assert fields["status"]["name"] == "Reopened"
    assert [c["body"] for c in fields["comment"]["comments"]] == ["back once"]
    assert len(comment_posts(sim, key)) == 1


def test_a_reopen_whose_workflow_keeps_the_resolution_says_so(driver_factory: Factory, sim: Any) -> None:
    """NET Bug's Reopen Issue lacks the "clear resolution" post function: the ticket is open again
    but keeps Fixed. The record shows what Jira has, the row says why, and the next RESOLVE works."""
    driver = driver_factory(sim.url, ini={"ticket": {"project": "NET", "issue_type": "Bug"}})
    driver.send("K-1|CREATE|summary;x|", "K-1|RESOLVE|resolution;Fixed|")
    settled(driver)
    key = created_key(driver, "K-1")
    driver.send("K-1|REOPEN|")
    settled(driver)
    row = row_of(driver, "K-1", "REOPEN")
    assert row["status"] == "Ok", row
    assert "keeps resolution 'Fixed'" in row["note"], row
    fields = issue(sim, key)["fields"]
    assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Reopened", "Fixed")
    ticket = view(driver, "K-1")["ticket"]
    assert (ticket["status"], ticket["resolution"]) == ("Reopened", "Fixed"), ticket
    driver.send("K-1|RESOLVE|resolution;Won't Fix|")
    settled(driver)
    assert row_of(driver, "K-1", "RESOLVE")["status"] == "Ok"
    assert issue(sim, key)["fields"]["resolution"]["name"] == "Won't Fix"
    # a workflow that clears it: no note, the record has none
    driver.send("K-2|CREATE|summary;y|issuetype;Task|", "K-2|RESOLVE|", "K-2|REOPEN|")
    settled(driver)
    assert "keeps resolution" not in (row_of(driver, "K-2", "REOPEN")["note"] or "")
    assert view(driver, "K-2")["ticket"]["resolution"] is None
