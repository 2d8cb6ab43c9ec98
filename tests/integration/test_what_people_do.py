"""What people do to the driver's tickets in Jira, against the simulator: labels and multi-select
values they add, tickets they move to another project. Real driver processes, real HTTP, real
SQLite (issue 17)."""

from __future__ import annotations

import configparser
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from driver.model.stamps import stamp_label
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for
from tests.integration.test_sync import register
from tests.integration.test_sync import ticket as record

Factory = Callable[..., DriverProcess]
NET = {"ticket": {"project": "NET", "issue_type": "Task"}}
SERVICES = "customfield_10103"  # the simulator's "Affected Services" multi-select
SECRET = "hook-secret-17"
HOOK_PATH = "/api/jira/webhook"


def issue(sim: Any, key: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{sim.url}/_sim/issues/{key}", timeout=5).json()
    return data


def as_person(sim: Any, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A request a person makes in Jira, behind the driver's back."""
    return httpx.request(method, f"{sim.url}{path}", auth=("admin", "admin"), json=body, timeout=5)


def settled_row(driver: DriverProcess, guid: str, action: str) -> dict[str, Any]:
    driver.wait_settled()
    rows = [r for r in driver.rows() if r["guid"] == guid and r["action"] == action]
    assert rows, f"no {action} row for {guid}"
    assert rows[-1]["status"] == "Ok", rows[-1]
    return rows[-1]


def services(fields: dict[str, Any]) -> set[str]:
    return {option["value"] for option in fields.get(SERVICES) or []}


def test_labels_and_options_people_add_survive_the_alarms_updates(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    assert (
        driver.send("P-1|CREATE|summary;x|labels;a,b|Affected Services;Network,Storage|").status_code == 202
    )
    key = settled_row(driver, "P-1", "CREATE")["ticket_key"]
    stamp = stamp_label("P-1")
    # a person adds a label and a service in Jira
    added = as_person(
        sim,
        "PUT",
        f"/rest/api/2/issue/{key}",
        {"update": {"labels": [{"add": "customer-vip"}], SERVICES: [{"add": {"value": "Database"}}]}},
    )
    assert added.status_code == 204, added.text
    driver.send("P-1|UPDATE|labels;a,c|Affected Services;Network,Compute|")
    settled_row(driver, "P-1", "UPDATE")
    fields = issue(sim, key)["fields"]
    assert set(fields["labels"]) == {"a", "c", stamp, "customer-vip"}
    assert services(fields) == {"Network", "Compute", "Database"}
    # what the driver set is kept with the ticket: a restart changes nothing of it
    driver.restart()
    # a person removes the stamp and a label the driver set; the driver puts back only the stamp
    as_person(
        sim, "PUT", f"/rest/api/2/issue/{key}", {"update": {"labels": [{"remove": stamp}, {"remove": "a"}]}}
    )
    driver.send("P-1|UPDATE|labels;a,c|", "P-1|UPDATE|summary;y|")
    driver.wait_settled()
    assert set(issue(sim, key)["fields"]["labels"]) == {"c", stamp, "customer-vip"}
    driver.send("P-1|UPDATE|labels;|Affected Services;|")
    driver.wait_settled()
    fields = issue(sim, key)["fields"]
    assert set(fields["labels"]) == {stamp, "customer-vip"}
    assert services(fields) == {"Database"}
    assert all(r["status"] == "Ok" for r in driver.rows()), driver.rows()


def test_a_resolve_that_sets_labels_leaves_peoples_labels(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    driver.send("P-2|CREATE|summary;x|labels;open|")
    key = settled_row(driver, "P-2", "CREATE")["ticket_key"]
    as_person(sim, "PUT", f"/rest/api/2/issue/{key}", {"update": {"labels": [{"add": "postmortem"}]}})
    driver.send("P-2|RESOLVE|labels;closed|")
    settled_row(driver, "P-2", "RESOLVE")
    fields = issue(sim, key)["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert set(fields["labels"]) == {"closed", "postmortem", stamp_label("P-2")}


# --- moved tickets -------------------------------------------------------------------------------


def resolved(driver: DriverProcess, guid: str, what: str) -> dict[str, Any]:
    """The GUID's record once it says the ticket is done (waited for, up to 30 s)."""

    def done() -> dict[str, Any] | None:
        found = record(driver, guid)
        return found if found["status_category"] == "done" else None

    found: dict[str, Any] = wait_for(done, what, 30)
    return found


def move(sim: Any, key: str, project: str) -> str:
    answer = httpx.post(
        f"{sim.url}/_sim/act",
        json={"user": "jsmith", "key": key, "action": "move", "project": project},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    moved: str = answer.json()["key"]
    return moved


def followed(driver: DriverProcess, guid: str, key: str) -> dict[str, Any]:
    """The record once it names the ticket by `key`."""

    def check() -> dict[str, Any] | None:
        row = record(driver, guid)
        return row if row["ticket_key"] == key else None

    found: dict[str, Any] = wait_for(check, f"the record of {guid} to follow its ticket to {key}", 30)
    return found


SYNC_MODES = {
    "webhook": {"sync": {"mode": "webhook", "webhook_secret": SECRET}},
    "poll by id": {"sync": {"mode": "poll", "poll_seconds": "5"}},
    "poll by stamp": {
        "sync": {"mode": "poll", "poll_seconds": "5", "poll_by_id_max": "0"},
        "ticket": {"guid_field": "customfield_10101"},
    },
}


@pytest.mark.parametrize("mode", list(SYNC_MODES))
def test_a_ticket_moved_to_another_project_is_followed_by_its_id(
    driver_factory: Factory, sim: Any, mode: str
) -> None:
    """OPS-1 moved to NET-n: the record takes the new key, link and project (from a webhook or a
    poll), polls still find it (by id, or by the stamp field, never by the project on record), and
    the alarm's next commands go to it."""
    driver = driver_factory(sim.url, api_token="t", ini=SYNC_MODES[mode])
    if mode == "webhook":
        register(sim, driver, SECRET)
    driver.send("M-1|CREATE|summary;link down|")
    old = settled_row(driver, "M-1", "CREATE")["ticket_key"]
    assert old.startswith("OPS-")
    new = move(sim, old, "NET")
    row = followed(driver, "M-1", new)
    assert row["project"] == "NET"
    assert row["ticket_url"].endswith(f"/browse/{new}"), row
    assert row["ticket_id"] == issue(sim, new)["id"]
    with driver.client() as client:
        view = client.get("/api/tickets/M-1").json()
    assert (view["ticket"]["key"], view["ticket"]["url"]) == (new, row["ticket_url"]), view
    assert [t["key"] for t in view["tickets"]] == [new]
    # a person's resolve in NET is heard: the ticket is still synced where it went
    act = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": new, "action": "resolve"}, timeout=10
    )
    assert act.status_code == 200, act.text

    resolved(driver, "M-1", "the resolve of the moved ticket to be heard")
    driver.send("M-1|UPDATE|comment;still there|")
    row = settled_row(driver, "M-1", "UPDATE")
    assert row["ticket_key"] == new
    comments = issue(sim, new)["fields"]["comment"]["comments"]
    assert [c["body"] for c in comments] == ["still there"]
    if mode == "poll by stamp":
        polls = [
            e["body"]["jql"]
            for e in sim.journal()
            if "/search" in e["path"] and "updated >=" in str(e["body"])
        ]
        assert polls
        assert all(q.startswith("cf[10101] is not EMPTY") for q in polls), polls


def test_an_answer_that_names_the_new_key_moves_the_record(driver_factory: Factory, sim: Any) -> None:
    """Without sync, the RESOLVE's read of the ticket (GET by the old key, which Jira still answers)
    names the new key: the record follows it."""
    driver = driver_factory(sim.url)
    driver.send("M-2|CREATE|summary;x|")
    old = settled_row(driver, "M-2", "CREATE")["ticket_key"]
    new = move(sim, old, "NET")
    driver.send("M-2|RESOLVE|comment;cleared|")
    row = settled_row(driver, "M-2", "RESOLVE")
    assert row["ticket_key"] == new, row
    found = record(driver, "M-2")
    assert (found["ticket_key"], found["project"]) == (new, "NET")
    assert found["ticket_url"].endswith(f"/browse/{new}")
    history = record_history(driver, "M-2")
    assert history == [(new, found["ticket_url"])]


def record_history(driver: DriverProcess, guid: str) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{driver.db_path}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute(
            "SELECT ticket_key, ticket_url FROM ticket_history WHERE guid = ?", (guid,)
        ).fetchall()
    return [(str(k), str(u)) for k, u in rows]


# --- large webhook deliveries --------------------------------------------------------------------


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_a_delivery_of_megabytes_is_heard(driver_factory: Factory, sim: Any) -> None:
    """Data Center renders every comment into each delivery: a ticket with 40 long comments makes a
    1.3 MB delivery, which a person's resolve must still reach the driver in."""
    driver = driver_factory(sim.url, api_token="t", ini=SYNC_MODES["webhook"])
    driver.send("W-1|CREATE|summary;chatty ticket|")
    key = settled_row(driver, "W-1", "CREATE")["ticket_key"]
    for n in range(40):
        said = as_person(sim, "POST", f"/rest/api/2/issue/{key}/comment", {"body": f"{n} " + "z" * 32_000})
        assert said.status_code == 201, said.text
    register(sim, driver, SECRET)
    act = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "resolve"}, timeout=10
    )
    assert act.status_code == 200, act.text

    resolved(driver, "W-1", "the resolve in a 1.3 MB delivery to be heard")

    def answered() -> dict[str, Any] | None:
        # the driver applies the delivery before it answers: the simulator records the answer after
        found = [d for d in sim.admin("webhooks/deliveries") if d["event"] == "jira:issue_updated"]
        return found[0] if found and found[0]["attempts"] else None

    delivery = wait_for(answered, "the simulator to record the delivery's answer")
    assert len(json.dumps(delivery["body"])) > 1_200_000
    assert [a["status"] for a in delivery["attempts"]] == [200]
    assert driver.status()["sync"]["webhooks_refused"] == 0


def test_a_signed_delivery_over_the_bound_is_refused_counted_and_its_issue_read(
    driver_factory: Factory, sim: Any
) -> None:
    """Over 32 MiB: 413 (Jira will not send it again), counted and logged; the delivery is Jira's
    (signed), so the issue it names is read from Jira instead, and the resolve in it is heard."""
    ini = {"sync": {"mode": "both", "webhook_secret": SECRET, "poll_seconds": "3600"}}
    driver = driver_factory(sim.url, api_token="t", ini=ini)
    driver.send("W-2|CREATE|summary;x|")
    key = settled_row(driver, "W-2", "CREATE")["ticket_key"]
    act = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "resolve"}, timeout=10
    )
    assert act.status_code == 200, act.text
    issue_now = as_person(sim, "GET", f"/rest/api/2/issue/{key}").json()
    event = {
        "timestamp": 1,
        "webhookEvent": "jira:issue_updated",
        "user": {"name": "jsmith"},
        "issue": issue_now,
        "padding": "p" * (33 * 1024 * 1024),
    }
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": sign(body)}
    answer = httpx.post(driver.url + HOOK_PATH, content=body, headers=headers, timeout=60)
    assert answer.status_code == 413, answer.text
    assert "32" in answer.json()["error"]

    row = resolved(driver, "W-2", "the issue of the refused delivery to be read instead")
    assert row["changed_by"] == "Jane Smith"
    sync = driver.status()["sync"]
    assert sync["webhooks_refused"] == 1
    assert "over 33554432 bytes" in sync["last_refused_reason"]
    log = driver.stderr_path.read_text(encoding="utf-8")
    assert "webhook delivery refused" in log
    assert f"read {issue_now['id']} from Jira instead of its refused webhook delivery" in log


# --- a changelog longer than a search shows -------------------------------------------------------


def test_who_moved_the_status_is_read_past_the_40_histories_a_search_shows(
    driver_factory: Factory, sim_factory: Callable[..., Any]
) -> None:
    """Cloud's enhanced search keeps the newest 40 histories of `expand=changelog`. The driver's own
    account resolved the ticket outside the engine (a script, or a driver before a lost database),
    then a person made 45 edits before the next poll: the status move is only in the older
    histories, read from getChangeLogs, so the resolve is the driver's and not a person's."""
    cloud = sim_factory("--flavor", "cloud")
    driver = driver_factory(cloud.url, api_token="t", ini={"sync": {"mode": "off"}})
    driver.send("C-1|CREATE|summary;x|")
    key = settled_row(driver, "C-1", "CREATE")["ticket_key"]
    driver.stop()
    with httpx.Client(base_url=cloud.url, auth=("admin", "admin"), timeout=10) as client:
        offered = client.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
        done = next(t["id"] for t in offered if t["to"]["statusCategory"]["key"] == "done")
        assert (
            client.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": done}}).status_code
            == 204
        )
    for n in range(45):
        edited = httpx.post(
            f"{cloud.url}/_sim/act",
            json={"user": "jsmith", "key": key, "action": "edit", "fields": {"summary": f"edit {n}"}},
            timeout=10,
        )
        assert edited.status_code == 200, edited.text
    # the first poll sees it all at once: polling starts now
    ini = configparser.ConfigParser()
    ini.read(driver.config_path)
    ini["sync"] = {"mode": "poll", "poll_seconds": "5"}
    with driver.config_path.open("w") as file:
        ini.write(file)
    driver.start()

    row = resolved(driver, "C-1", "the resolve to be seen by a poll")
    assert row["resolved_by_driver"] == 1, row
    assert row["changed_by"] == "Jane Smith"
    pages = [e for e in cloud.journal() if e["path"].endswith("/changelog")]
    assert pages, "the whole changelog was read"


# --- people in other time zones ------------------------------------------------------------------


def test_answers_in_the_accounts_own_time_zone_change_nothing(
    driver_factory: Factory, sim_factory: Callable[..., Any]
) -> None:
    """Jira renders timestamps in the requesting user's profile zone: the driver's account in
    Kolkata (+0530), the person in Los Angeles. A comment whose answer was lost is still found by
    its time (exactly once), and a person's resolve seen by a poll is dated right."""
    zoned = sim_factory("--time-zone", "admin=Asia/Kolkata", "--time-zone", "jsmith=America/Los_Angeles")
    me = httpx.get(f"{zoned.url}/rest/api/2/myself", auth=("admin", "admin"), timeout=10).json()
    assert me["timeZone"] == "Asia/Kolkata"
    driver = driver_factory(zoned.url, api_token="t", ini={"sync": {"mode": "poll", "poll_seconds": "5"}})
    driver.send("Z-1|CREATE|summary;x|")
    key = settled_row(driver, "Z-1", "CREATE")["ticket_key"]
    shown = as_person(zoned, "GET", f"/rest/api/2/issue/{key}").json()["fields"]["created"]
    assert shown.endswith("+0530"), shown
    zoned.faults(kind="drop_after", count=1, method="POST", path=f"/rest/api/latest/issue/{key}/comment")
    driver.send("Z-1|UPDATE|comment;once, whatever the zone|")
    row = settled_row(driver, "Z-1", "UPDATE")
    assert "was already on" in (row["note"] or ""), row
    assert [c["body"] for c in issue(zoned, key)["fields"]["comment"]["comments"]] == [
        "once, whatever the zone"
    ]
    before = datetime.now(UTC)
    act = httpx.post(
        f"{zoned.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "resolve"}, timeout=10
    )
    assert act.status_code == 200, act.text

    found = resolved(driver, "Z-1", "the resolve to be seen by a poll")
    resolved_at = datetime.fromisoformat(found["resolved_at"])
    assert abs((resolved_at - before).total_seconds()) < 60, (found["resolved_at"], before)


# --- archived projects ---------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["datacenter", "cloud"])
def test_a_ticket_in_an_archived_project_is_kept_not_taken_for_deleted(
    driver_factory: Factory, sim: Any, sim_factory: Callable[..., Any], flavor: str
) -> None:
    """An admin archives the project: Data Center refuses changes with 403, Cloud answers 404 as if
    the ticket were gone. Either way the row fails with the reason and the ticket is kept: once the
    project is unarchived, the alarm's next UPDATE goes to the same ticket."""
    jira = sim if flavor == "datacenter" else sim_factory("--flavor", "cloud")
    driver = driver_factory(jira.url)
    driver.send("A-1|CREATE|summary;x|")
    key = settled_row(driver, "A-1", "CREATE")["ticket_key"]
    assert httpx.post(f"{jira.url}/_sim/projects/OPS/archive", timeout=5).status_code == 200
    driver.send("A-1|UPDATE|comment;while archived|")
    driver.wait_settled()
    [row] = [r for r in driver.rows() if r["action"] == "UPDATE"]
    assert row["status"] == "Failed", row
    assert "archived" in row["error"], row
    kept = record(driver, "A-1")
    assert (kept["ticket_key"], kept["deleted_at"]) == (key, None)
    assert httpx.delete(f"{jira.url}/_sim/projects/OPS/archive", timeout=5).status_code == 200
    driver.send("A-1|UPDATE|comment;back|")
    driver.wait_settled()
    rows = [r for r in driver.rows() if r["action"] == "UPDATE"]
    assert rows[-1]["status"] == "Ok", rows[-1]
    assert rows[-1]["ticket_key"] == key
    assert [c["body"] for c in issue(jira, key)["fields"]["comment"]["comments"]] == ["back"]
