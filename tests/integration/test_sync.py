"""Hearing back from Jira (issue 11, point 3): a real driver, the real simulator, real SQLite.

The simulator's admin webhook calls the driver's POST /api/jira/webhook over loopback, signed with
the shared secret, while a person acts in "Jira" (/_sim/act); polling drivers search the simulator.
What the driver recorded is read from its SQLite file, opened read-only beside the running driver.
Every driver here has an API token: Jira's deliveries carry none and must work all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess, SpecChecker, checked_client
from tests.fixtures.waiting import wait_for

SECRET = "hook-secret-42"
TOKEN = "test-token"
HOOK_PATH = "/api/jira/webhook"
WAIT = 20.0
Factory = Callable[..., DriverProcess]


# --- helpers --------------------------------------------------------------------------------------


def ticket(driver: DriverProcess, guid: str) -> dict[str, Any]:
    """The GUID's row of the driver's `tickets` table, read-only."""
    with sqlite3.connect(f"file:{driver.db_path}?mode=ro", uri=True, timeout=5) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM tickets WHERE guid = ?", (guid,)).fetchone()
        assert row is not None, f"no ticket record for {guid}"
        return dict(row)


def table(driver: DriverProcess, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{driver.db_path}?mode=ro", uri=True, timeout=5) as db:
        return [tuple(r) for r in db.execute(sql, args).fetchall()]


def wait_ticket(
    driver: DriverProcess,
    guid: str,
    ready: Callable[[dict[str, Any]], bool],
    what: str,
    seconds: float = WAIT,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        row = ticket(driver, guid)
        return row if ready(row) else None

    found: dict[str, Any] = wait_for(check, what, seconds)
    return found


def create(driver: DriverProcess, guid: str, summary: str = "Link down on core-1") -> str:
    """Send a CREATE and wait until it is Ok; the ticket's key."""
    accepted = driver.send(f"{guid}|CREATE|summary;{summary}|")
    assert accepted.status_code == 202, accepted.text
    driver.wait_settled()
    [row] = [r for r in driver.rows() if r["guid"] == guid and r["action"] == "CREATE"]
    assert row["status"] == "Ok", row
    key: str = row["ticket_key"]
    return key


def act(sim: SimProcess, **body: Any) -> dict[str, Any]:
    answer = httpx.post(f"{sim.url}/_sim/act", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def register(sim: SimProcess, driver: DriverProcess, secret: str = SECRET) -> None:
    """Register the driver's webhook in the simulator, as a Jira admin would."""
    body = {
        "name": "jira-driver",
        "url": driver.url + HOOK_PATH,
        "events": ["jira:issue_updated", "jira:issue_deleted", "comment_created"],
        "secret": secret,
    }
    answer = httpx.post(
        f"{sim.url}/rest/webhooks/1.0/webhook", json=body, auth=("admin", "admin"), timeout=10
    )
    assert answer.status_code == 201, answer.text


def deliveries(sim: SimProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.admin("webhooks/deliveries")
    return found


def settled_deliveries(sim: SimProcess, count: int) -> list[dict[str, Any]]:
    """The delivery journal once `count` deliveries are no longer pending (recorded after the answer)."""

    def ready() -> list[dict[str, Any]] | None:
        journal = deliveries(sim)
        done = [d for d in journal if d["state"] != "pending"]
        return journal if len(done) >= count and len(done) == len(journal) else None

    journal: list[dict[str, Any]] = wait_for(ready, f"{count} settled deliveries")
    return journal


def sync_status(driver: DriverProcess) -> dict[str, Any]:
    status: dict[str, Any] = driver.status()["sync"]
    return status


def post_hook(
    driver: DriverProcess,
    body: bytes,
    *,
    secret: str | None = SECRET,
    identifier: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST a delivery as Jira does: no Authorization header, signed with `secret` unless told."""
    headers = {"Content-Type": "application/json", "User-Agent": "Atlassian Webhook HTTP Client"}
    if signature is None and secret is not None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    if identifier is not None:
        headers["X-Atlassian-Webhook-Identifier"] = identifier
    return httpx.post(driver.url + HOOK_PATH, content=body, headers=headers, timeout=10)


def webhook_driver(driver_factory: Factory, sim: SimProcess) -> DriverProcess:
    return driver_factory(
        sim.url, api_token=TOKEN, ini={"sync": {"mode": "webhook", "webhook_secret": SECRET}}
    )


# --- webhooks -------------------------------------------------------------------------------------


def test_a_persons_resolve_arrives_signed_and_is_recorded(driver_factory: Factory, sim: SimProcess) -> None:
    driver = webhook_driver(driver_factory, sim)
    register(sim, driver)
    key = create(driver, "SYNC-1")
    before = ticket(driver, "SYNC-1")
    assert before["jira_status"] in (None, "To Do")
    assert before["resolved_at"] is None

    act(sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
    row = wait_ticket(driver, "SYNC-1", lambda r: r["status_category"] == "done", "the resolve")
    assert (row["jira_status"], row["resolution"]) == ("Done", "Fixed")
    assert (row["changed_by"], row["changed_by_driver"]) == ("Jane Smith", 0)
    assert row["resolved_at"] is not None
    assert row["resolved_by_driver"] == 0
    assert row["deleted_at"] is None
    assert row["jira_updated"] is not None

    # the driver's own comment comes back too, and is recognised as the driver's
    assert driver.send("SYNC-1|UPDATE|comment;Still down|").status_code == 202
    driver.wait_settled()
    resolved_at = row["resolved_at"]
    row = wait_ticket(driver, "SYNC-1", lambda r: r["changed_by_driver"] == 1, "the driver's comment")
    assert row["changed_by"] == "Administrator"
    # still resolved, and still by the person who resolved it
    assert (row["status_category"], row["resolved_at"], row["resolved_by_driver"]) == ("done", resolved_at, 0)

    journal = settled_deliveries(sim, 3)
    # Jira's deliveries carry no bearer token, yet the token-protected driver took every one
    assert {d["state"] for d in journal} == {"delivered"}
    assert all(a["status"] == 200 for d in journal for a in d["attempts"])
    status = sync_status(driver)
    assert status["mode"] == "webhook"
    assert status["webhooks_applied"] >= 2
    assert status["webhooks_ignored"] == 0
    with httpx.Client(base_url=driver.url, timeout=10) as anonymous:
        assert anonymous.get("/api/status").status_code == 401  # the rest of the API is still guarded


def test_refusals_change_nothing_and_a_replay_is_a_duplicate(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = webhook_driver(driver_factory, sim)
    key = create(driver, "SYNC-2")
    act(sim, user="jsmith", key=key, action="resolve", resolution="Duplicate")
    issue = httpx.get(f"{sim.url}/rest/api/2/issue/{key}", auth=("admin", "admin"), timeout=10).json()
    event = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_resolved",
        "user": {"name": "jsmith", "key": "JIRAUSER10100", "displayName": "Jane Smith"},
        "issue": issue,
        "changelog": {"id": "1", "items": [{"field": "resolution"}, {"field": "status"}]},
    }
    body = json.dumps(event).encode()
    identifier = str(uuid.uuid4())
    untouched = ticket(driver, "SYNC-2")

    unsigned = post_hook(driver, body, secret=None, identifier=identifier)
    assert unsigned.status_code == 401, unsigned.text
    assert "X-Hub-Signature" in unsigned.json()["error"]
    wrong = post_hook(driver, body, secret="not-the-secret", identifier=identifier)
    assert wrong.status_code == 401
    other_scheme = post_hook(driver, body, signature="sha1=" + hashlib.sha1(body).hexdigest())
    assert other_scheme.status_code == 401
    tampered = post_hook(driver, body.replace(b"Duplicate", b"Won't Do"), signature=post_sig(body))
    assert tampered.status_code == 401
    malformed = post_hook(driver, b'{"webhookEvent": "jira:issue_updated", ', identifier=str(uuid.uuid4()))
    assert malformed.status_code == 400, malformed.text
    not_a_webhook = post_hook(driver, b'{"user": {"name": "jsmith"}}')
    assert not_a_webhook.status_code == 400
    # over the 32 MiB bound and not signed: refused unread, and nothing is read from Jira instead
    huge = json.dumps({**event, "padding": "x" * (33 * 1024 * 1024)}).encode()
    too_large = post_hook(driver, huge, secret=None, identifier=str(uuid.uuid4()))
    assert too_large.status_code == 413, too_large.text
    assert ticket(driver, "SYNC-2") == untouched
    assert table(driver, "SELECT count(*) FROM webhook_deliveries") == [(0,)]
    status = sync_status(driver)
    assert status["webhooks_applied"] == 0
    # a webhook registered with another secret fails on Jira's side; this side shows it too
    assert status["webhooks_refused"] == 7, "every refusal counts, the 413 too"
    assert status["last_refused_at"]
    assert status["last_refused_reason"]
    assert "webhook delivery refused" in driver.stderr_path.read_text(encoding="utf-8")

    # the identifier of the refused deliveries was not taken: the signed one is applied
    first = post_hook(driver, body, identifier=identifier)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "result": "applied",
        "key": key,
        "reason": "status Done, resolution Duplicate, by Jane Smith",
    }
    applied = ticket(driver, "SYNC-2")
    assert (applied["resolution"], applied["changed_by"]) == ("Duplicate", "Jane Smith")
    # Jira's retry of the same delivery (same identifier): answered, nothing done again
    again = post_hook(driver, body, identifier=identifier)
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate"
    assert ticket(driver, "SYNC-2") == applied
    # the same event without an identifier is handled again, and tells nothing new
    same = post_hook(driver, body)
    assert same.json()["result"] == "unchanged"
    # an older event (a late retry of an earlier change) does not roll the ticket back
    stale = {
        **event,
        "issue": {
            **issue,
            "fields": {
                **issue["fields"],
                "status": {"name": "To Do", "statusCategory": {"key": "new"}},
                "updated": "2020-01-01T00:00:00.000+0000",
            },
        },
    }
    old = post_hook(driver, json.dumps(stale).encode(), identifier=str(uuid.uuid4()))
    assert old.json()["result"] == "unchanged"
    assert ticket(driver, "SYNC-2")["jira_status"] == "Done"

    # an issue that is not the driver's is answered, counted and left alone
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=10) as jira:
        foreign = jira.post(
            "/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "NET"},
                    "issuetype": {"name": "Incident"},
                    "summary": "not ours",
                }
            },
        ).json()["key"]
        foreign_issue = jira.get(f"/rest/api/2/issue/{foreign}").json()
    ignored = post_hook(
        driver, json.dumps({**event, "issue": foreign_issue}).encode(), identifier=str(uuid.uuid4())
    )
    assert ignored.json() == {
        "result": "ignored",
        "key": foreign,
        "reason": "not one of the driver's tickets",
    }
    status = sync_status(driver)
    assert (status["webhooks_applied"], status["webhooks_duplicate"], status["webhooks_ignored"]) == (1, 1, 1)
    assert status["webhooks_unchanged"] == 2
    assert table(driver, "SELECT count(*) FROM tickets WHERE ticket_key = ?", foreign) == [(0,)]
    assert table(driver, "SELECT value FROM stats_totals WHERE counter = 'webhook_ignored'") == [(1,)]


def post_sig(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_hostile_signed_bodies_are_refused_quickly_and_the_driver_lives_on(
    driver_factory: Factory, sim: SimProcess
) -> None:
    # Signed, so read past the signature: 50,000 `[` made ijson build each event's whole path
    # (gigabytes, the API stalled); a 4,301-digit integer crashed its C parser making a Python int
    # (the process segfaulted) when the refusal looked for the issue to read instead.
    driver = webhook_driver(driver_factory, sim)
    key = create(driver, "SYNC-HOSTILE")
    named = b'{"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "%s"}, ' % key.encode()
    bodies = {
        "deep": b"[" * 50_000 + b"]" * 50_000,
        "deep after the issue": named + b'"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "long integer": b'{"timestamp": ' + b"9" * 5_000 + b', "issue": {"id": "1", "key": "OPS-1"}}',
        "long integer after the issue": named + b'"timestamp": ' + b"9" * 5_000 + b"}",
    }
    for name, body in bodies.items():
        started = time.monotonic()
        answer = post_hook(driver, body, identifier=str(uuid.uuid4()))
        assert answer.status_code == 400, (name, answer.text)
        assert "\n" not in answer.json()["error"], name
        assert time.monotonic() - started < 5, name
        with driver.client() as api:
            assert api.get("/api/health").status_code == 200, name
    assert driver.proc is not None
    assert driver.proc.poll() is None
    assert sync_status(driver)["webhooks_refused"] == len(bodies)


def test_a_replay_of_a_real_delivery_is_a_duplicate(driver_factory: Factory, sim: SimProcess) -> None:
    driver = webhook_driver(driver_factory, sim)
    register(sim, driver)
    key = create(driver, "SYNC-3")
    act(sim, user="jsmith", key=key, action="edit", fields={"assignee": {"name": "jsmith"}})
    [delivery] = settled_deliveries(sim, 1)
    assert delivery["state"] == "delivered"
    row = ticket(driver, "SYNC-3")
    assert (row["assignee"], row["changed_by"]) == ("Jane Smith", "Jane Smith")
    # Jira sends the same delivery again (its answer was lost): same bytes, same identifier
    body = json.dumps(delivery["body"], ensure_ascii=False, separators=(",", ":")).encode()
    replay = post_hook(driver, body, signature=delivery["signature"], identifier=delivery["identifier"])
    assert replay.status_code == 200, replay.text
    assert replay.json()["result"] == "duplicate"
    assert ticket(driver, "SYNC-3") == row


def test_a_signed_delivery_dated_years_ahead_freezes_nothing(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = webhook_driver(driver_factory, sim)
    register(sim, driver)
    key = create(driver, "SYNC-FUTURE")
    issue = httpx.get(f"{sim.url}/rest/api/2/issue/{key}", auth=("admin", "admin"), timeout=10).json()
    ten_years = 10 * 365 * 24 * 3600
    issue["fields"]["updated"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(time.time() + ten_years)
    )
    event = {
        "timestamp": int((time.time() + ten_years) * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"name": "jsmith", "key": "JIRAUSER10100", "displayName": "Jane Smith"},
        "issue": issue,
        "changelog": {"id": "1", "items": [{"field": "summary"}]},
    }
    future = post_hook(driver, json.dumps(event).encode(), identifier=str(uuid.uuid4()))
    assert future.status_code == 200, future.text
    assert future.json()["result"] == "applied"
    # a person's real resolve, delivered by Jira a moment later, is still applied
    act(sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
    row = wait_ticket(driver, "SYNC-FUTURE", lambda r: r["status_category"] == "done", "the resolve")
    assert (row["jira_status"], row["resolution"]) == ("Done", "Fixed")
    assert row["jira_updated"] < "2030", row["jira_updated"]
    assert "beyond this host's clock" in driver.stderr_path.read_text(encoding="utf-8")


def test_a_deletion_seen_by_webhook_marks_the_ticket_deleted(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = webhook_driver(driver_factory, sim)
    register(sim, driver)
    key = create(driver, "SYNC-4")
    assert act(sim, user="jsmith", key=key, action="delete") == {"key": key, "deleted": True}
    row = wait_ticket(driver, "SYNC-4", lambda r: r["deleted_at"] is not None, "the deletion")
    assert (row["ticket_key"], row["changed_by"], row["changed_by_driver"]) == (key, "Jane Smith", 0)
    assert table(driver, "SELECT ended FROM ticket_history WHERE guid = ?", "SYNC-4") == [("deleted",)]
    [delivery] = settled_deliveries(sim, 1)
    assert (delivery["event"], delivery["state"]) == ("jira:issue_deleted", "delivered")


def test_webhooks_are_refused_when_sync_takes_none(driver_factory: Factory, sim: SimProcess) -> None:
    driver = driver_factory(
        sim.url, api_token=TOKEN, ini={"sync": {"mode": "poll", "webhook_secret": SECRET}}
    )
    answer = post_hook(driver, b'{"webhookEvent": "jira:issue_updated"}')
    assert answer.status_code == 401
    assert "mode = poll" in answer.json()["error"]


# --- polling --------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["datacenter", "cloud"])
def test_polling_sees_a_persons_resolve(
    driver_factory: Factory, sim: SimProcess, sim_factory: Callable[..., SimProcess], flavor: str
) -> None:
    jira = sim if flavor == "datacenter" else sim_factory("--flavor", "cloud")
    driver = driver_factory(jira.url, api_token=TOKEN, ini={"sync": {"mode": "poll", "poll_seconds": "5"}})
    key = create(driver, "POLL-1")
    act(jira, user="jsmith", key=key, action="resolve", resolution="Fixed")
    row = wait_ticket(
        driver, "POLL-1", lambda r: r["status_category"] == "done", "the resolve, by polling", seconds=30
    )
    assert (row["jira_status"], row["resolution"]) == ("Done", "Fixed")
    assert (row["changed_by"], row["changed_by_driver"]) == ("Jane Smith", 0)
    assert row["resolved_at"] is not None
    assert row["resolved_by_driver"] == 0
    searches = [e for e in jira.journal() if "/search" in e["path"] and e["method"] == "POST"]
    expected = "/rest/api/3/search/jql" if flavor == "cloud" else "/rest/api/2/search"
    polls = [e for e in searches if "updated >=" in e["body"]["jql"]]
    assert polls
    assert {e["path"] for e in polls} == {expected}
    # the driver's own tickets by id (one here), not every updated issue of the project
    assert re.fullmatch(
        r'id in \(\d+\) AND updated >= "-\d+m" ORDER BY updated ASC', polls[-1]["body"]["jql"]
    )
    assert all(e["auth"] == "Basic" for e in polls)
    status = sync_status(driver)
    assert status["mode"] == "poll"
    assert status["last_poll_at"] is not None
    assert status["last_poll_error"] == ""
    [(cursor,)] = table(driver, "SELECT value FROM settings WHERE key = 'sync_poll'")
    assert json.loads(cursor)["since"]


@pytest.mark.parametrize("by", ["project", "id"])
@pytest.mark.parametrize("flavor", ["datacenter", "cloud"])
def test_a_poll_gets_past_a_backlog_of_other_issues(
    driver_factory: Factory, sim: SimProcess, sim_factory: Callable[..., SimProcess], flavor: str, by: str
) -> None:
    # 300 other issues of the project updated since the last poll, served 5 a page: more than a
    # poll read before it began again at the same oldest hits, so a person's later resolve was
    # never reached. A search of the project now reads every page; one by id reads none of them.
    jira = sim if flavor == "datacenter" else sim_factory("--flavor", "cloud")
    sync = {"mode": "poll", "poll_seconds": "5", "poll_by_id_max": "0" if by == "project" else "1000"}
    driver = driver_factory(jira.url, api_token=TOKEN, ini={"sync": sync})
    key = create(driver, "POLL-BACKLOG")
    api = "3" if flavor == "cloud" else "2"
    with httpx.Client(base_url=jira.url, auth=("admin", "admin"), timeout=10) as client:
        for n in range(300):
            body = {
                "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": f"other {n}"}
            }
            assert client.post(f"/rest/api/{api}/issue", json=body).status_code == 201
    jira.config(search_page_max=5)
    act(jira, user="jsmith", key=key, action="resolve", resolution="Fixed")
    row = wait_ticket(
        driver, "POLL-BACKLOG", lambda r: r["status_category"] == "done", "the resolve behind the backlog", 30
    )
    assert (row["jira_status"], row["resolution"]) == ("Done", "Fixed")
    assert sync_status(driver)["last_poll_error"] == ""
    polls = [
        e["body"]["jql"] for e in jira.journal() if "/search" in e["path"] and "updated >=" in str(e["body"])
    ]
    assert all(q.startswith("project in" if by == "project" else "id in") for q in polls), polls


def test_a_poll_by_id_learns_that_a_ticket_was_deleted_and_goes_on(
    driver_factory: Factory, sim: SimProcess
) -> None:
    # Jira refuses a search naming an issue that no longer exists: the poll looks it up (404),
    # records the deletion, and searches the other tickets without it
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"sync": {"mode": "poll", "poll_seconds": "5"}})
    gone = create(driver, "POLL-GONE")
    kept = create(driver, "POLL-KEPT")
    act(sim, user="jsmith", key=gone, action="delete")
    act(sim, user="jsmith", key=kept, action="resolve", resolution="Fixed")
    row = wait_ticket(
        driver, "POLL-KEPT", lambda r: r["status_category"] == "done", "the other ticket's resolve", 30
    )
    assert row["resolution"] == "Fixed"
    deleted = wait_ticket(
        driver, "POLL-GONE", lambda r: r["deleted_at"] is not None, "the deletion, by polling", 30
    )
    assert deleted["status_category"] != "done"
    assert sync_status(driver)["last_poll_error"] == ""


@pytest.mark.parametrize(
    ("flavor", "path", "expand"),
    [("datacenter", "/rest/api/2/search", ["changelog"]), ("cloud", "/rest/api/3/search/jql", "changelog")],
)
def test_the_simulators_search_expands_the_changelog_as_jira_does(
    sim: SimProcess,
    sim_factory: Callable[..., SimProcess],
    spec_check: SpecChecker,
    flavor: str,
    path: str,
    expand: Any,
) -> None:
    jira = sim if flavor == "datacenter" else sim_factory("--flavor", "cloud")
    with checked_client(jira, spec_check) as client:
        key = client.post(
            "/rest/api/2/issue",
            json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}},
        ).json()["key"]
        act(jira, user="jsmith", key=key, action="resolve", resolution="Fixed")
        body = {"jql": f"key = {key}", "fields": ["status", "comment"], "expand": expand}
        answer = client.post(path, json=body)
        assert answer.status_code == 200, answer.text
        [hit] = answer.json()["issues"]
        histories = hit["changelog"]["histories"]
        assert [i["field"] for i in histories[-1]["items"]] == ["resolution", "status"]
        assert histories[-1]["author"]["displayName"] == "Jane Smith"
        plain = client.post(path, json={**body, "expand": [] if flavor == "datacenter" else ""}).json()
        assert "changelog" not in plain["issues"][0]


def test_a_poll_that_meets_a_429_pauses_every_request_until_retry_after(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"sync": {"mode": "poll", "poll_seconds": "5"}})
    key = create(driver, "POLL-2")
    pause = 8  # longer than poll_seconds: the next poll must wait for it, not for its interval
    sim.faults(kind=429, count=1, retry_after=pause, method="POST", path="/rest/api/2/search")

    def refused() -> dict[str, Any] | None:
        return next((e for e in sim.journal() if e["status"] == 429), None)

    refusal = wait_for(refused, "the poll's 429", seconds=15)
    assert (refusal["method"], refusal["path"]) == ("POST", "/rest/api/2/search")  # only polls search here
    # the engine's requests wait for the same pause: the pause is Jira's, not the poll's
    assert driver.send("POLL-2|UPDATE|comment;Still down|").status_code == 202
    act(sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
    wait_ticket(driver, "POLL-2", lambda r: r["status_category"] == "done", "the resolve", seconds=40)
    driver.wait_settled(timeout=30)
    after = [e for e in sim.journal() if e["seq"] > refusal["seq"] and e["path"].startswith("/rest/api/")]
    assert after, "nothing was sent after the 429"
    refused_at = jira_moment(refusal["time"])
    for entry in after:
        waited = (jira_moment(entry["time"]) - refused_at).total_seconds()
        assert waited >= pause, f"{entry['method']} {entry['path']} went {waited:.2f} s after the 429"
    assert ("POST", f"/rest/api/latest/issue/{key}/comment") in {(e["method"], e["path"]) for e in after}


def jira_moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_a_restart_polls_from_the_stored_cursor(driver_factory: Factory, sim: SimProcess) -> None:
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"sync": {"mode": "poll", "poll_seconds": "5"}})
    key = create(driver, "POLL-3")
    wait_for(lambda: sync_status(driver)["last_poll_at"], "a first poll")
    assert driver.stop() == 0
    act(sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
    # as if the driver had been stopped for ten minutes: longer than a first poll reaches back
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    with sqlite3.connect(driver.db_path) as db:
        db.execute("UPDATE settings SET value = ? WHERE key = 'sync_poll'", (json.dumps({"since": since}),))
    seen = len(sim.journal())
    driver.restart()
    row = wait_ticket(driver, "POLL-3", lambda r: r["status_category"] == "done", "the resolve after restart")
    assert (row["resolution"], row["changed_by"]) == ("Fixed", "Jane Smith")
    polls = [e for e in sim.journal()[seen:] if e["path"] == "/rest/api/2/search"]
    minutes = int(polls[0]["body"]["jql"].split('updated >= "-', 1)[1].split("m", 1)[0])
    assert 10 + 2 <= minutes <= 10 + 2 + 1  # ten minutes, the margin, and the minute the restart took
    [(moved,)] = table(driver, "SELECT value FROM settings WHERE key = 'sync_poll'")
    assert json.loads(moved)["since"] > since


def test_a_url_with_a_trailing_slash_and_an_event_for_another_issue_id(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = webhook_driver(driver_factory, sim)
    key = create(driver, "SYNC-9")
    issue_id = str(ticket(driver, "SYNC-9")["ticket_id"])
    event = {
        "webhookEvent": "jira:issue_deleted",
        "timestamp": 1,
        "issue": {"id": str(int(issue_id) + 1000), "key": key, "fields": {}},
    }
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    # Jira does not follow a redirect: the slash form is answered, not sent elsewhere
    answer = httpx.post(driver.url + HOOK_PATH + "/", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    # the key is the driver's ticket's, the id is not: some other issue, nothing deleted
    assert answer.json()["result"] == "ignored"
    assert ticket(driver, "SYNC-9")["deleted_at"] is None
