"""The simulator's ticket lifecycle: workflows with screens, transition errors, changelog, deletion,
admin webhooks (signed, retried under one identifier) and a person acting in Jira (/_sim/act).

Real HTTP on loopback to `jira-driver sim`; every /rest/api/ answer is checked against its spec.
Webhooks are received by a small HTTP server in the test, on loopback too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.fixtures.sim import SimProcess, SpecChecker, checked_client

ISSUE = "/rest/api/2/issue"
HOOKS = "/rest/webhooks/1.0/webhook"
WAIT = 15.0


def net(issuetype: str = "Incident", summary: str = "Link down on core-1") -> dict[str, Any]:
    return {"fields": {"project": {"key": "NET"}, "issuetype": {"name": issuetype}, "summary": summary}}


def offered(client: httpx.Client, key: str, api: str = "2") -> list[dict[str, Any]]:
    answer = client.get(f"/rest/api/{api}/issue/{key}/transitions", params={"expand": "transitions.fields"})
    assert answer.status_code == 200, answer.text
    transitions: list[dict[str, Any]] = answer.json()["transitions"]
    return transitions


def names(transitions: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(t["id"], t["name"], t["to"]["name"]) for t in transitions]


def fields_of(client: httpx.Client, key: str, api: str = "2") -> dict[str, Any]:
    answer = client.get(f"/rest/api/{api}/issue/{key}")
    assert answer.status_code == 200, answer.text
    fields: dict[str, Any] = answer.json()["fields"]
    return fields


def sim_time(sim: SimProcess) -> datetime:
    return datetime.strptime(sim.clock()["now"], "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    """A loopback HTTP server recording every POST; it answers `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.changed:
                    receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, raw))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, event: str | None = None) -> list[Received]:
        """The first `count` deliveries (of `event`, if given); fails after WAIT seconds without them."""

        def chosen() -> list[Received]:
            return [r for r in self.received if event is None or r.json["webhookEvent"] == event]

        with self.changed:
            assert self.changed.wait_for(lambda: len(chosen()) >= count, timeout=WAIT), (
                f"expected {count} deliveries of {event or 'any event'}, "
                f"got {[r.json for r in self.received]}"
            )
            return chosen()[:count]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def register(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "driver", "url": url, "events": ["jira:issue_updated", "comment_created"], **extra}
    answer = client.post(HOOKS, json=body)
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


def act(sim: SimProcess, **body: Any) -> dict[str, Any]:
    answer = httpx.post(f"{sim.url}/_sim/act", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def recorded(
    sim: SimProcess, ready: Callable[[list[dict[str, Any]]], bool], within: float = 10.0
) -> list[dict[str, Any]]:
    """The delivery journal once `ready` holds for it (the simulator records an attempt just after
    the receiver has answered it), or as it is after `within` seconds."""
    deadline = time.monotonic() + within
    journal = deliveries(sim)
    while not ready(journal) and time.monotonic() < deadline:
        time.sleep(0.02)
        journal = deliveries(sim)
    return journal


def deliveries(sim: SimProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.admin("webhooks/deliveries")
    return found


# --- workflows and screens ---------------------------------------------------------------------


def test_transitions_follow_the_status_and_list_the_resolve_screen(
    sim: SimProcess, spec_check: SpecChecker
) -> None:
    with checked_client(sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        assert fields_of(client, key)["status"]["name"] == "To Do"
        todo = offered(client, key)
        assert names(todo) == [("11", "Start Progress", "In Progress"), ("31", "Resolve Issue", "Done")]
        assert todo[0]["fields"] == {}
        screen = todo[1]["fields"]["resolution"]
        assert screen["required"] is True
        assert screen["fieldId"] == "resolution"
        assert screen["operations"] == ["set"]
        allowed = [r["name"] for r in screen["allowedValues"]]
        assert {"Fixed", "Won't Fix", "Duplicate", "Done", "Cannot Reproduce"} <= set(allowed)
        assert todo[1]["to"]["statusCategory"] == {
            "self": f"{sim.url}/rest/api/2/statuscategory/3",
            "id": 3,
            "key": "done",
            "colorName": "green",
            "name": "Done",
        }
        client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "11"}})
        assert names(offered(client, key)) == [
            ("21", "Stop Progress", "To Do"),
            ("31", "Resolve Issue", "Done"),
        ]
        resolved = client.post(
            f"{ISSUE}/{key}/transitions",
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Fixed"}}},
        )
        assert resolved.status_code == 204
        done = offered(client, key)
        assert names(done) == [("41", "Reopen Issue", "Reopened")]
        assert done[0]["to"]["statusCategory"]["key"] == "new"
        client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "41"}})
        assert fields_of(client, key)["status"]["statusCategory"]["name"] == "To Do"
        assert names(offered(client, key)) == [
            ("11", "Start Progress", "In Progress"),
            ("31", "Resolve Issue", "Done"),
        ]
        only = client.get(f"{ISSUE}/{key}/transitions", params={"transitionId": "31"}).json()
        assert [t["id"] for t in only["transitions"]] == ["31"]
        assert "fields" not in only["transitions"][0]


def test_the_ops_workflow_is_unchanged_and_the_bug_workflow_has_other_ids(
    sim: SimProcess, spec_check: SpecChecker
) -> None:
    with checked_client(sim, spec_check) as client:
        ops = client.post(
            ISSUE, json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}
        ).json()["key"]
        simple = offered(client, ops)
        assert names(simple) == [("21", "In Progress", "In Progress"), ("31", "Done", "Done")]
        assert simple[1]["fields"]["resolution"]["required"] is False
        bug = client.post(ISSUE, json=net("Bug")).json()["key"]
        assert names(offered(client, bug)) == [
            ("4", "Start Progress", "In Progress"),
            ("5", "Resolve Issue", "Resolved"),
            ("2", "Close Issue", "Done"),
        ]
        resolved = client.post(
            f"{ISSUE}/{bug}/transitions",
            json={"transition": {"id": "5"}, "fields": {"resolution": {"name": "Won't Fix"}}},
        )
        assert resolved.status_code == 204
        assert names(offered(client, bug)) == [
            ("701", "Close Issue", "Done"),
            ("3", "Reopen Issue", "Reopened"),
        ]
        # Close Issue from Resolved has no screen: the resolution stays as it was.
        assert (
            client.post(f"{ISSUE}/{bug}/transitions", json={"transition": {"id": "701"}}).status_code == 204
        )
        fields = fields_of(client, bug)
        assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Done", "Won't Fix")


def test_resolve_with_resolution_and_comment_in_one_post_then_reopen_clears_it(
    manual_sim: SimProcess, spec_check: SpecChecker
) -> None:
    with checked_client(manual_sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        created = fields_of(client, key)["created"]
        manual_sim.advance(90)
        resolved_at = manual_sim.clock()["now"]
        answer = client.post(
            f"{ISSUE}/{key}/transitions",
            json={
                "transition": {"id": "31"},
                "fields": {"resolution": {"name": "Won't Fix"}},
                "update": {"comment": [{"add": {"body": "Alarm cleared"}}]},
            },
        )
        assert answer.status_code == 204
        assert answer.content == b""
        fields = fields_of(client, key)
        assert fields["status"]["name"] == "Done"
        assert fields["resolution"]["name"] == "Won't Fix"
        assert fields["resolutiondate"] == fields["updated"] == resolved_at != created
        [comment] = fields["comment"]["comments"]
        assert (comment["body"], comment["author"]["name"], comment["created"]) == (
            "Alarm cleared",
            "admin",
            resolved_at,
        )
        manual_sim.advance(30)
        reopened_at = manual_sim.clock()["now"]
        assert client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "41"}}).status_code == 204
        fields = fields_of(client, key)
        assert (fields["status"]["name"], fields["resolution"], fields["resolutiondate"]) == (
            "Reopened",
            None,
            None,
        )
        assert fields["updated"] == reopened_at
        history = client.get(f"{ISSUE}/{key}", params={"expand": "changelog"}).json()["changelog"]
        assert history["total"] == 2
        first, second = history["histories"]
        assert (first["author"]["name"], first["created"]) == ("admin", resolved_at)
        assert [(i["field"], i["fromString"], i["toString"]) for i in first["items"]] == [
            ("resolution", None, "Won't Fix"),
            ("status", "To Do", "Done"),
        ]
        assert [(i["field"], i["from"], i["to"]) for i in second["items"]] == [
            ("resolution", "2", None),
            ("status", "10001", "4"),
        ]


def test_transition_errors_have_jiras_shapes(sim: SimProcess, spec_check: SpecChecker) -> None:
    with checked_client(sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        path = f"{ISSUE}/{key}/transitions"

        def refused(body: dict[str, Any]) -> dict[str, Any]:
            answer = client.post(path, json=body)
            assert answer.status_code == 400, answer.text
            error: dict[str, Any] = answer.json()
            return error

        assert refused({"transition": {"id": "41"}}) == {
            "errorMessages": ["Transition id '41' is not valid for this issue."],
            "errors": {},
        }
        assert refused({"transition": {"id": "999"}})["errorMessages"] == [
            "Transition id '999' is not valid for this issue."
        ]
        assert refused({"transition": {"id": "31"}}) == {
            "errorMessages": ["Field Resolution is required."],
            "errors": {},
        }
        assert refused({"transition": {"id": "31"}, "fields": {"resolution": {"name": "Fixed-ish"}}}) == {
            "errorMessages": [],
            "errors": {"resolution": "Resolution 'Fixed-ish' is not valid"},
        }
        assert refused({"transition": {"id": "11"}, "fields": {"resolution": {"name": "Fixed"}}})[
            "errors"
        ] == {
            "resolution": "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
        }
        assert refused({"fields": {"resolution": {"name": "Fixed"}}})["errorMessages"] == [
            "Missing 'transition' identifier"
        ]
        # Nothing above moved the issue or wrote its history.
        assert fields_of(client, key)["status"]["name"] == "To Do"
        assert client.get(f"{ISSUE}/{key}", params={"expand": "changelog"}).json()["changelog"]["total"] == 0


def test_a_transitions_properties_are_set_with_it_and_only_when_it_is_done(
    sim: SimProcess, spec_check: SpecChecker
) -> None:
    mark = [{"key": "jira-driver.transition", "value": {"log": 7, "attempt": "a7"}}]
    with checked_client(sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        path = f"{ISSUE}/{key}/transitions"

        def marker() -> Any:
            answer = client.get(f"{ISSUE}/{key}", params={"properties": "jira-driver.transition"})
            return answer.json().get("properties", {}).get("jira-driver.transition")

        refused = client.post(path, json={"transition": {"id": "31"}, "properties": mark})
        assert refused.status_code == 400, "Resolution is required on this screen"
        assert marker() is None
        bad = client.post(
            path,
            json={
                "transition": {"id": "31"},
                "fields": {"resolution": {"name": "Fixed"}},
                "properties": [{"value": 1}],
            },
        )
        assert bad.status_code == 400
        assert fields_of(client, key)["status"]["name"] == "To Do"
        done = client.post(
            path,
            json={
                "transition": {"id": "31"},
                "fields": {"resolution": {"name": "Fixed"}},
                "properties": mark,
            },
        )
        assert done.status_code == 204, done.text
        assert marker() == {"log": 7, "attempt": "a7"}


def test_a_status_after_fault_applies_the_request_then_answers_the_error(sim: SimProcess) -> None:
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=5) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        sim.faults(kind="status_after", status=500, count=1, method="POST", path=f"{ISSUE}/{key}/transitions")
        answer = client.post(
            f"{ISSUE}/{key}/transitions",
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Fixed"}}},
        )
        assert answer.status_code == 500
        assert fields_of(client, key)["status"]["name"] == "Done"
    assert (
        httpx.post(f"{sim.url}/_sim/faults", json={"kind": "status_after", "status": 404}).status_code == 400
    )


def test_a_comment_in_a_screenless_transition_is_dropped_with_a_204(
    sim: SimProcess, spec_check: SpecChecker
) -> None:
    """As Jira: `update.comment` is applied only by a transition with a screen (Resolve Issue here);
    Reopen Issue has none, answers 204, and the comment is not added."""
    with checked_client(sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        resolved = client.post(
            f"{ISSUE}/{key}/transitions",
            json={
                "transition": {"id": "31"},
                "fields": {"resolution": {"name": "Fixed"}},
                "update": {"comment": [{"add": {"body": "kept"}}]},
            },
        )
        assert resolved.status_code == 204
        reopen = offered(client, key)[0]
        assert reopen["fields"] == {}, "Data Center shows no screen as no fields"
        reopened = client.post(
            f"{ISSUE}/{key}/transitions",
            json={"transition": {"id": "41"}, "update": {"comment": [{"add": {"body": "dropped"}}]}},
        )
        assert reopened.status_code == 204
        fields = fields_of(client, key)
        assert fields["status"]["name"] == "Reopened"
        assert [c["body"] for c in fields["comment"]["comments"]] == ["kept"]


def test_cloud_v3_transition_with_an_adf_comment(sim_factory: Any, spec_check: SpecChecker) -> None:
    cloud = sim_factory("--flavor", "cloud")
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "cleared"}]}],
    }
    with checked_client(cloud, spec_check) as client:
        key = client.post("/rest/api/3/issue", json=net("Bug")).json()["key"]
        listed = offered(client, key, "3")
        assert [(t["id"], t["hasScreen"], t["isGlobal"]) for t in listed] == [
            ("4", False, False),
            ("5", True, False),
            ("2", True, False),
        ]
        assert listed[1]["fields"]["resolution"]["key"] == "resolution"
        plain = client.post(
            f"/rest/api/3/issue/{key}/transitions",
            json={
                "transition": {"id": "5"},
                "fields": {"resolution": {"name": "Done"}},
                "update": {"comment": [{"add": {"body": "not ADF"}}]},
            },
        )
        assert plain.status_code == 400
        moved = client.post(
            f"/rest/api/3/issue/{key}/transitions",
            json={
                "transition": {"id": "5"},
                "fields": {"resolution": {"name": "Done"}},
                "update": {"comment": [{"add": {"body": adf}}]},
            },
        )
        assert moved.status_code == 204, moved.text
        fields = fields_of(client, key, "3")
        assert fields["comment"]["comments"][0]["body"] == adf
        assert fields["status"]["statusCategory"]["key"] == "done"
        history = client.get(f"/rest/api/3/issue/{key}", params={"expand": "changelog"}).json()["changelog"]
        assert history["histories"][0]["author"]["accountId"]
        assert history["histories"][0]["items"][1]["fieldId"] == "status"


def test_delete_issue_answers_204_then_404(sim: SimProcess, spec_check: SpecChecker) -> None:
    with checked_client(sim, spec_check) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        assert client.delete(f"{ISSUE}/{key}").status_code == 204
        assert client.get(f"{ISSUE}/{key}").status_code == 404
        assert client.delete(f"{ISSUE}/{key}").status_code == 404
        assert client.post(ISSUE, json=net()).json()["key"] != key
    assert sim.counters()["deleted"] == 1


# --- webhooks -----------------------------------------------------------------------------------


def test_webhook_registration_is_admin_only_and_loopback_only(sim: SimProcess, receiver: Receiver) -> None:
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=10) as client:
        registered = register(
            client, receiver.url, secret="s3cret", filters={"issue-related-events-section": "project = NET"}
        )
        assert registered["url"] == receiver.url
        assert registered["filters"] == {"issue-related-events-section": "project = NET"}
        assert "s3cret" not in json.dumps(registered)
        listed = client.get(HOOKS).json()
        assert [w["self"] for w in listed] == [registered["self"]]
        for url in ("http://10.0.0.1/hook", "http://example.com/hook", "ftp://127.0.0.1/x"):
            refused = client.post(HOOKS, json={"url": url, "events": ["jira:issue_updated"]})
            assert refused.status_code == 400, url
            assert refused.json()["errorMessages"]
        unknown = client.post(HOOKS, json={"url": receiver.url, "events": ["board_created"]})
        assert unknown.status_code == 400
        bad_jql = client.post(
            HOOKS, json={"url": receiver.url, "events": ["jira:issue_updated"], "jqlFilter": "project ="}
        )
        assert bad_jql.status_code == 400
        with httpx.Client(base_url=sim.url, auth=("jsmith", "jsmith"), timeout=10) as person:
            assert person.get(HOOKS).status_code == 403
        path = registered["self"].removeprefix(sim.url)
        assert client.delete(path).status_code == 204
        assert client.get(path).status_code == 404
        assert client.get(HOOKS).json() == []


def test_a_persons_resolve_is_delivered_signed_with_the_changelog(
    sim: SimProcess, receiver: Receiver
) -> None:
    secret = "hook-secret"
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=10) as client:
        register(client, receiver.url, secret=secret, jqlFilter="project = NET")
        ops = client.post(
            ISSUE, json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}
        ).json()["key"]
        key = client.post(ISSUE, json=net()).json()["key"]
    act(sim, user="jsmith", key=ops, action="comment", comment="outside the filter")
    result = act(
        sim, user="jsmith", key=key, action="resolve", resolution="Duplicate", comment="dup of NET-0"
    )
    assert (result["status"], result["resolution"]) == ("Done", "Duplicate")
    [update] = receiver.wait(1, "jira:issue_updated")
    [created] = receiver.wait(1, "comment_created")
    for delivery in (update, created):
        expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery.headers["x-hub-signature"], expected)
        assert delivery.headers["x-atlassian-webhook-identifier"]
        assert delivery.json["issue"]["key"] == key
    assert (
        update.headers["x-atlassian-webhook-identifier"] != created.headers["x-atlassian-webhook-identifier"]
    )
    body = update.json
    assert body["webhookEvent"] == "jira:issue_updated"
    assert body["issue_event_type_name"] == "issue_resolved"
    assert body["user"]["name"] == "jsmith"
    assert isinstance(body["timestamp"], int)
    assert [(i["field"], i["toString"]) for i in body["changelog"]["items"]] == [
        ("resolution", "Duplicate"),
        ("status", "Done"),
    ]
    assert body["issue"]["fields"]["resolution"]["name"] == "Duplicate"
    assert body["comment"]["body"] == "dup of NET-0"
    assert created.json["comment"]["author"]["name"] == "jsmith"
    # the simulator records each attempt just after the receiver answers it
    journal = recorded(sim, lambda journal: all(d["state"] != "pending" for d in journal))
    assert {(d["event"], d["state"], d["issue_key"]) for d in journal} == {
        ("jira:issue_updated", "delivered", key),
        ("comment_created", "delivered", key),
    }


def test_edits_reopen_and_delete_by_a_person_are_delivered(sim: SimProcess, receiver: Receiver) -> None:
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=10) as client:
        key = client.post(ISSUE, json=net()).json()["key"]
        register(client, receiver.url, events=["jira:issue_updated", "jira:issue_deleted"])
    act(sim, user="jsmith", key=key, action="edit", fields={"assignee": {"name": "jsmith"}})
    [assigned] = receiver.wait(1, "jira:issue_updated")
    assert assigned.json["issue_event_type_name"] == "issue_assigned"
    assert assigned.json["changelog"]["items"] == [
        {
            "field": "assignee",
            "fieldtype": "jira",
            "from": None,
            "fromString": None,
            "to": "jsmith",
            "toString": "Jane Smith",
        }
    ]
    assert "x-hub-signature" not in assigned.headers
    act(sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
    reopened = act(sim, user="jsmith", key=key, action="reopen")
    assert (reopened["status"], reopened["resolution"]) == ("Reopened", None)
    updates = receiver.wait(3, "jira:issue_updated")
    assert [u.json["issue_event_type_name"] for u in updates] == [
        "issue_assigned",
        "issue_resolved",
        "issue_reopened",
    ]
    assert act(sim, user="jsmith", key=key, action="delete") == {"key": key, "deleted": True}
    [deleted] = receiver.wait(1, "jira:issue_deleted")
    assert (deleted.json["issue"]["key"], deleted.json["user"]["name"]) == (key, "jsmith")
    assert httpx.get(f"{sim.url}{ISSUE}/{key}", auth=("admin", "admin")).status_code == 404


def test_act_refusals_name_what_exists(sim: SimProcess) -> None:
    key = httpx.post(f"{sim.url}{ISSUE}", json=net(), auth=("admin", "admin")).json()["key"]
    nobody = httpx.post(f"{sim.url}/_sim/act", json={"user": "nobody", "key": key, "action": "resolve"})
    assert nobody.status_code == 400
    reopen = httpx.post(f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "reopen"})
    assert reopen.status_code == 409
    assert [t["name"] for t in reopen.json()["transitions"]] == ["Start Progress", "Resolve Issue"]
    bad = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": key, "action": "resolve", "resolution": "Nope"}
    )
    assert bad.status_code == 400
    assert "Fixed" in bad.json()["resolutions"]


def test_a_retry_after_a_500_carries_the_same_identifier(manual_sim: SimProcess) -> None:
    receiver = Receiver([500, 503])
    try:
        manual_sim.admin("webhooks", {"url": receiver.url, "events": ["jira:issue_updated"], "secret": "k"})
        key = httpx.post(f"{manual_sim.url}{ISSUE}", json=net(), auth=("admin", "admin")).json()["key"]
        act(manual_sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
        [first] = receiver.wait(1)
        [pending] = recorded(manual_sim, lambda journal: bool(journal and journal[0]["attempts"]))
        assert pending["state"] == "pending"
        assert [a["status"] for a in pending["attempts"]] == [500]
        manual_sim.advance(1.0)  # the first retry waits 1 s of the simulator's clock
        second = receiver.wait(2)[1]
        # the second retry is scheduled from the clock when the 503 is recorded: advancing before
        # that would leave it due after the advance, and it would never come
        recorded(manual_sim, lambda journal: bool(journal and len(journal[0]["attempts"]) >= 2))
        manual_sim.advance(2.0)
        third = receiver.wait(3)[2]
        ids = {r.headers["x-atlassian-webhook-identifier"] for r in (first, second, third)}
        assert len(ids) == 1
        assert first.body == second.body == third.body
        assert [r.headers.get("x-atlassian-webhook-retry") for r in (first, second, third)] == [
            None,
            "1",
            "2",
        ]
        assert first.headers["x-hub-signature"] == third.headers["x-hub-signature"]

        def settled() -> dict[str, Any]:
            [delivery] = deliveries(manual_sim)
            return delivery

        # The receiver has answered; the simulator records the attempt just after.
        for _ in range(200):
            if settled()["state"] != "pending":
                break
            with receiver.changed:
                receiver.changed.wait(0.05)
        delivery = settled()
        assert delivery["state"] == "delivered"
        assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
        assert delivery["identifier"] in ids
    finally:
        receiver.stop()


def test_reset_disowns_deliveries_waiting_to_retry(manual_sim: SimProcess) -> None:
    receiver = Receiver([500])
    try:
        manual_sim.admin("webhooks", {"url": receiver.url, "events": ["jira:issue_updated"]})
        key = httpx.post(f"{manual_sim.url}{ISSUE}", json=net(), auth=("admin", "admin")).json()["key"]
        act(manual_sim, user="jsmith", key=key, action="resolve")
        [old] = receiver.wait(1)
        manual_sim.reset()
        assert manual_sim.admin("webhooks") == []
        assert deliveries(manual_sim) == []
        manual_sim.advance(60)
        manual_sim.admin("webhooks", {"url": receiver.url, "events": ["jira:issue_updated"]})
        key = httpx.post(f"{manual_sim.url}{ISSUE}", json=net(), auth=("admin", "admin")).json()["key"]
        act(manual_sim, user="jsmith", key=key, action="resolve")
        later = receiver.wait(2)[1]
        old_id = old.headers["x-atlassian-webhook-identifier"]
        assert later.headers["x-atlassian-webhook-identifier"] != old_id
        assert [r.headers["x-atlassian-webhook-identifier"] for r in receiver.received].count(old_id) == 1
        journal = recorded(manual_sim, lambda journal: all(d["state"] != "pending" for d in journal))
        assert [d["state"] for d in journal] == ["delivered"]
    finally:
        receiver.stop()


def test_the_webhook_flag_registers_for_every_event_and_survives_reset(
    sim_factory: Any, receiver: Receiver
) -> None:
    flagged = sim_factory("--webhook", receiver.url, "--webhook-secret", "flag-secret")
    flagged.reset()
    [hook] = flagged.admin("webhooks")
    assert set(hook["events"]) == {
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
    }
    key = httpx.post(f"{flagged.url}{ISSUE}", json=net(), auth=("admin", "admin")).json()["key"]
    [created] = receiver.wait(1, "jira:issue_created")
    assert created.json["issue"]["key"] == key
    expected = "sha256=" + hmac.new(b"flag-secret", created.body, hashlib.sha256).hexdigest()
    assert created.headers["x-hub-signature"] == expected


def test_the_webhook_flag_refuses_an_address_off_loopback(sim_factory: Any) -> None:
    with pytest.raises(RuntimeError, match="loopback"):
        sim_factory("--webhook", "http://192.0.2.1/hook")


# --- a person's change seen by polling --------------------------------------------------------


def test_a_persons_resolve_is_seen_by_an_updated_since_search(
    manual_sim: SimProcess, spec_check: SpecChecker
) -> None:
    with checked_client(manual_sim, spec_check) as client:
        quiet = client.post(ISSUE, json=net(summary="quiet")).json()["key"]
        key = client.post(ISSUE, json=net()).json()["key"]
        manual_sim.advance(120)
        since = (sim_time(manual_sim) - timedelta(seconds=30)).strftime("%Y/%m/%d %H:%M")
        jql = f'project = NET AND updated >= "{since}" ORDER BY updated DESC'

        def polled() -> list[tuple[str, str]]:
            answer = client.get("/rest/api/2/search", params={"jql": jql, "fields": "status,resolution"})
            assert answer.status_code == 200, answer.text
            return [(i["key"], i["fields"]["status"]["name"]) for i in answer.json()["issues"]]

        assert polled() == []
        act(manual_sim, user="jsmith", key=key, action="resolve", resolution="Fixed")
        assert polled() == [(key, "Done")]
        manual_sim.advance(60)
        act(manual_sim, user="jsmith", key=quiet, action="comment", comment="looking")
        assert polled() == [(quiet, "To Do"), (key, "Done")]
        changelog = client.get(f"{ISSUE}/{key}", params={"expand": "changelog"}).json()["changelog"]
        assert changelog["histories"][-1]["author"]["name"] == "jsmith"


def test_a_moved_issue_keeps_its_id_and_answers_to_its_old_key(sim: SimProcess, receiver: Receiver) -> None:
    """As Jira's Move: a new key in the other project, the same id; the old key still finds the issue
    (GET and JQL); the change is in the changelog (`Key`, `project`) and in an issue_moved event."""
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=10) as client:
        register(client, receiver.url)
        made = client.post(
            ISSUE, json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}
        ).json()
        old = made["key"]
        moved = act(sim, user="jsmith", key=old, action="move", project="NET")
        new = moved["key"]
        assert new.startswith("NET-")
        assert (moved["id"], moved["moved_from"]) == (made["id"], old)
        by_old = client.get(f"{ISSUE}/{old}").json()
        assert (by_old["key"], by_old["id"], by_old["fields"]["project"]["key"]) == (new, made["id"], "NET")
        found = client.post("/rest/api/2/search", json={"jql": f"key = {old}", "fields": ["key"]}).json()
        assert [i["key"] for i in found["issues"]] == [new]
        history = client.get(f"{ISSUE}/{new}", params={"expand": "changelog"}).json()["changelog"]
        items = history["histories"][-1]["items"]
        assert [(i["field"], i["fromString"], i["toString"]) for i in items] == [
            ("Key", old, new),
            ("project", "Operations", "Network"),
        ]
    [event] = receiver.wait(1, "jira:issue_updated")
    assert event.json["issue_event_type_name"] == "issue_moved"
    assert (event.json["issue"]["key"], event.json["issue"]["id"]) == (new, made["id"])
    assert event.json["changelog"]["items"][0]["toString"] == new
    refused = httpx.post(
        f"{sim.url}/_sim/act", json={"user": "jsmith", "key": new, "action": "move"}, timeout=5
    )
    assert refused.status_code == 400
