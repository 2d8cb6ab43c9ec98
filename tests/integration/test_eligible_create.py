"""Get Eligible Ticket on CREATE (`[eligible] jql`) end to end: a CREATE takes the open ticket a
person opened for the same alarm instead of making a second one, against the simulator over
loopback with the driver's real SQLite file; never blind, never another alarm's ticket, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess

Factory = Callable[..., DriverProcess]
TEMPLATE = "project = OPS AND statusCategory != Done AND summary ~ {summary}"


def start(driver_factory: Factory, sim: SimProcess, template: str = TEMPLATE, **jira: str) -> DriverProcess:
    ini = {
        "eligible": {"jql": template, "pick": "newest"},
        "jira": {"max_retries": "3", "retry_base_seconds": "0.05", "probe_delay_seconds": "0.2", **jira},
    }
    return driver_factory(sim.url, api_token="test-token", ini=ini)


def persons_ticket(sim: SimProcess, summary: str) -> str:
    answer = httpx.post(
        f"{sim.url}/rest/api/2/issue",
        json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary}},
        auth=("jsmith", "jsmith"),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def issue(sim: SimProcess, key: str) -> dict[str, Any]:
    (found,) = [i for i in sim.issues() if i["key"] == key]
    return found


def settled(driver: DriverProcess, count: int) -> list[dict[str, Any]]:
    return driver.wait_rows(
        lambda rows: len(rows) == count and all(r["status"] in ("Ok", "Failed") for r in rows), timeout=40
    )


def test_a_create_takes_the_open_ticket_a_person_opened(driver_factory: Factory, sim: SimProcess) -> None:
    key = persons_ticket(sim, "Disk full on db-1")
    driver = start(driver_factory, sim)
    assert driver.send("E-1|CREATE|summary;Disk full on db-1|priority;High|labels;disk|").status_code == 202
    (row,) = settled(driver, 1)
    assert (row["status"], row["ticket_key"]) == ("Ok", key), row
    assert f"took the open ticket {key} that [eligible] jql found" in row["note"]
    assert len(sim.issues()) == 1
    taken = issue(sim, key)
    assert sorted(taken["fields"]["labels"]) == ["alarm-E-1", "disk"]
    assert taken["fields"]["priority"]["name"] == "High"
    with driver.client() as client:
        detail = client.get(f"/api/log/{row['id']}").json()
        ticket = client.get("/api/tickets/E-1").json()
    assert detail["request"]["edit"]["update"]["labels"] == [{"add": "disk"}, {"add": "alarm-E-1"}]
    assert "project" not in detail["request"]["edit"]["fields"]
    assert ticket["ticket"]["key"] == key
    # the GUID's later commands update the ticket it took
    assert driver.send("E-1|UPDATE|comment;still full|").status_code == 202
    rows = settled(driver, 2)
    assert (rows[1]["status"], rows[1]["ticket_key"]) == ("Ok", key)


def test_no_match_creates_and_another_alarms_ticket_is_never_taken(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    assert driver.send("E-2|CREATE|summary;Fan failure|").status_code == 202
    (first,) = settled(driver, 1)
    assert "no open ticket matched [eligible] jql: created one" in first["note"]
    # the same summary from another alarm: the open ticket found carries E-2's stamp
    assert driver.send("E-3|CREATE|summary;Fan failure|").status_code == 202
    rows = settled(driver, 2)
    assert rows[1]["status"] == "Ok"
    assert rows[1]["ticket_key"] != first["ticket_key"]
    assert len(sim.issues()) == 2


def test_the_alarms_text_cannot_change_the_query(driver_factory: Factory, sim: SimProcess) -> None:
    persons_ticket(sim, "Disk full on db-1")
    driver = start(driver_factory, sim)
    # quotes, a wildcard and a clause of its own: one phrase that matches no ticket
    attack = 'x" OR project = OPS OR summary ~ "*'
    assert driver.send(f"E-4|CREATE|summary;{attack}|").status_code == 202
    (row,) = settled(driver, 1)
    assert row["status"] == "Ok", row
    assert "no open ticket matched" in row["note"]
    assert len(sim.issues()) == 2


def test_a_create_without_the_templates_field_is_refused_at_intake(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim, 'project = OPS AND "Element Name" ~ {Element Name}')
    answer = driver.send("E-5|CREATE|summary;Disk full|")
    assert answer.status_code == 400
    assert "[eligible] jql needs {Element Name}: this CREATE gives no value for it" in answer.text
    assert driver.rows() == []


def test_jira_down_during_the_search_holds_the_create_it_never_creates_blind(
    driver_factory: Factory, sim: SimProcess
) -> None:
    key = persons_ticket(sim, "Link down on r-1")
    driver = start(driver_factory, sim)
    sim.faults(kind="status", status=503, count=3, retry_after=0, method="POST", path="/rest/api/2/search")
    assert driver.send("E-6|CREATE|summary;Link down on r-1|").status_code == 202
    (row,) = settled(driver, 1)
    assert (row["status"], row["ticket_key"]) == ("Ok", key), row
    assert len(sim.issues()) == 1
    creates = [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/issue")]
    assert len(creates) == 1  # the person's


def test_a_lost_answer_to_the_taking_edit_leaves_one_ticket_with_one_stamp(
    driver_factory: Factory, sim: SimProcess
) -> None:
    key = persons_ticket(sim, "Power supply failed")
    driver = start(driver_factory, sim)
    sim.faults(kind="drop_after", count=1, method="PUT", path=f"/rest/api/latest/issue/{key}")
    assert driver.send("E-7|CREATE|summary;Power supply failed|").status_code == 202
    (row,) = settled(driver, 1)
    assert (row["status"], row["ticket_key"]) == ("Ok", key), row
    assert len(sim.issues()) == 1
    assert issue(sim, key)["fields"]["labels"] == ["alarm-E-7"]


def test_a_template_jira_refuses_fails_the_create_with_jiras_reason(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim, "project = OPS AND nosuchfield ~ {summary}")
    assert driver.send("E-8|CREATE|summary;Disk full|").status_code == 202
    (row,) = settled(driver, 1)
    assert row["status"] == "Failed"
    assert "Jira refused the [eligible] jql" in row["error"], row
    assert sim.issues() == []


def test_two_alarms_creating_at_once_never_take_the_same_ticket(
    driver_factory: Factory, sim: SimProcess
) -> None:
    """helper-22: two alarms whose CREATEs match one open ticket, sent in one batch, go out at once
    from two workers; both searches saw the ticket unstamped and both took it (two stamps on it,
    both GUIDs pointing at it: one alarm's RESOLVE would close the other's ticket). One takes it,
    the other creates its own."""
    key = persons_ticket(sim, "Disk full on db-1")
    sim.config(latency_ms=300)  # both searches answered before either edit lands
    try:
        driver = start(driver_factory, sim)
        sent = driver.send("E-A|CREATE|summary;Disk full on db-1|", "E-B|CREATE|summary;Disk full on db-1|")
        assert sent.status_code == 202, sent.text
        rows = settled(driver, 2)
    finally:
        sim.config(latency_ms=0)
    assert [r["status"] for r in rows] == ["Ok", "Ok"]
    stamps = sorted(label for label in issue(sim, key)["fields"]["labels"] if label.startswith("alarm-"))
    assert len(stamps) == 1, stamps
    keys = {r["guid"]: r["ticket_key"] for r in rows}
    taker = stamps[0].removeprefix("alarm-")
    other = "E-B" if taker == "E-A" else "E-A"
    assert keys[taker] == key
    assert keys[other] != key
    (row,) = [r for r in rows if r["guid"] == other]
    assert f"the open tickets [eligible] jql found are other alarms' ({key}): created one" in row["note"]
    assert sorted(i["key"] for i in sim.issues()) == sorted([key, keys[other]])


def test_a_ticket_another_alarm_took_is_not_taken_when_its_stamp_is_gone(
    driver_factory: Factory, sim: SimProcess
) -> None:
    """Jira's search index lags an edit, and a person may take a label off: a ticket found without
    a stamp is still another alarm's when the driver's record says so."""
    key = persons_ticket(sim, "Fan failure on sw-2")
    driver = start(driver_factory, sim)
    assert driver.send("E-C|CREATE|summary;Fan failure on sw-2|").status_code == 202
    (first,) = settled(driver, 1)
    assert first["ticket_key"] == key
    unstamped = httpx.put(
        f"{sim.url}/rest/api/2/issue/{key}",
        json={"update": {"labels": [{"remove": "alarm-E-C"}]}},
        auth=("jsmith", "jsmith"),
        timeout=10,
    )
    assert unstamped.status_code == 204, unstamped.text
    assert driver.send("E-D|CREATE|summary;Fan failure on sw-2|").status_code == 202
    second = settled(driver, 2)[1]
    assert (second["status"], second["guid"]) == ("Ok", "E-D")
    assert second["ticket_key"] != key
    assert f"the open tickets [eligible] jql found are other alarms' ({key}): created one" in second["note"]
