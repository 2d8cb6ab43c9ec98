"""Hearing back from Jira, the pure half: the webhook signature, the body, the rule, the poll's JQL.

The signature is checked against the simulator's own signer (jira_sim.webhooks.signature), an
implementation of docs/wire-facts.md §12 that shares no code with the driver's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from driver.model.answers import IssueState, JiraUser
from driver.model.jobs import TicketRecord, TicketState
from driver.model.stamps import stamp_label, stamp_value
from driver.sync.poll_search import (
    POLL_MARGIN_MINUTES,
    POLL_MAX_MINUTES,
    changelog_cut,
    next_cursor,
    poll_jql,
    poll_minutes,
)
from driver.sync.rules import (
    EVENT_CLOCK_SKEW,
    JiraChange,
    WebhookBody,
    apply_change,
    changed,
    from_the_future,
    is_driver,
    poll_change,
    signature,
    signature_valid,
    stamp_owner,
    webhook_change,
)
from jira_sim.webhooks import signature as sim_signature

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ME = JiraUser(frozenset({"name:admin", "key:JIRAUSER10000"}), "Administrator")
JANE = JiraUser(frozenset({"name:jsmith", "key:JIRAUSER10100"}), "Jane Smith")
DRIVER_JSON = {"name": "admin", "key": "JIRAUSER10000", "displayName": "Administrator"}
JANE_JSON = {"name": "jsmith", "key": "JIRAUSER10100", "displayName": "Jane Smith"}


# --- the signature ------------------------------------------------------------------------------


@given(secret=st.text(min_size=1, max_size=64), body=st.binary(max_size=2048))
def test_any_body_signed_by_the_simulator_is_valid(secret: str, body: bytes) -> None:
    header = sim_signature(secret, body)
    assert signature(secret, body) == header
    assert signature_valid(secret, body, header)
    assert signature_valid(secret, body, header.upper().replace("SHA256=", "sha256="))


@given(
    secret=st.text(min_size=1, max_size=64),
    body=st.binary(min_size=1, max_size=2048),
    data=st.data(),
)
def test_a_changed_byte_fails(secret: str, body: bytes, data: st.DataObject) -> None:
    header = sim_signature(secret, body)
    at = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed_body = body[:at] + bytes([body[at] ^ flip]) + body[at + 1 :]
    assert not signature_valid(secret, changed_body, header)
    assert not signature_valid(secret, body + b" ", header)
    assert not signature_valid(secret + "x", body, header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=" + "0" * 40, "sha256", "deadbeef", "sha256=not hex é"],
)
def test_missing_or_foreign_signatures_fail(header: str | None) -> None:
    assert not signature_valid("s3cret", b"{}", header)


def test_no_secret_accepts_nothing() -> None:
    assert not signature_valid("", b"{}", sim_signature("", b"{}"))


# --- the body -----------------------------------------------------------------------------------


def _issue(key: str = "OPS-1", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": {"name": "Done", "statusCategory": {"key": "done"}},
        "resolution": {"name": "Fixed"},
        "assignee": None,
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "updated": "2026-03-02T09:05:00.000+0000",
        "labels": ["alarm-A-1"],
    }
    base.update(fields)
    return {"id": 10001, "key": key, "self": "http://jira/rest/api/2/issue/10001", "fields": base}


def test_a_body_as_jira_sends_it_parses_with_extra_parts_ignored() -> None:
    raw = json.dumps(
        {
            "timestamp": 1_772_442_300_000,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_resolved",
            "user": JANE_JSON,
            "issue": _issue(),
            "changelog": {"id": 10500, "items": [{"field": "status", "toString": "Done", "extra": 1}]},
            "matchedWebhookIds": [1],
        }
    )
    body = WebhookBody.model_validate_json(raw)
    assert body.issue is not None
    assert body.issue.id == "10001"
    assert body.changelog is not None
    assert body.changelog.id == "10500"
    assert body.moment == datetime.fromtimestamp(1_772_442_300, UTC)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"webhookEvent": ""}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": ""}}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "K" * 300}}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "timestamp": -1}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1", "fields": []}}).encode(),
    ],
)
def test_other_shapes_are_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        WebhookBody.model_validate_json(raw)


def test_the_events_become_changes() -> None:
    updated = webhook_change(
        WebhookBody.model_validate(
            {
                "webhookEvent": "jira:issue_updated",
                "timestamp": 1,
                "user": JANE_JSON,
                "issue": _issue(),
                "changelog": {"items": [{"field": "resolution"}, {"field": "status"}]},
            }
        )
    )
    assert updated is not None
    assert (updated.key, updated.id, updated.deleted) == ("OPS-1", "10001", False)
    assert updated.actor == JANE
    assert updated.status_actor == JANE
    assert updated.moment == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)  # the issue's updated, not timestamp
    edited = webhook_change(
        WebhookBody.model_validate(
            {
                "webhookEvent": "jira:issue_updated",
                "user": DRIVER_JSON,
                "issue": _issue(),
                "changelog": {"items": [{"field": "labels"}]},
            }
        )
    )
    assert edited is not None
    assert edited.actor == ME
    assert edited.status_actor is None
    comment = webhook_change(
        WebhookBody.model_validate(
            {
                "webhookEvent": "comment_created",
                "timestamp": 1_772_442_400_000,
                "issue": {"id": "10001", "key": "OPS-1", "fields": {"summary": "x"}},
                "comment": {"id": 7, "author": JANE_JSON, "created": "2026-03-02T09:06:00.000+0000"},
            }
        )
    )
    assert comment is not None
    assert comment.actor == JANE
    assert comment.moment == datetime(2026, 3, 2, 9, 6, tzinfo=UTC)
    deleted = webhook_change(
        WebhookBody.model_validate(
            {"webhookEvent": "jira:issue_deleted", "timestamp": 0, "user": JANE_JSON, "issue": _issue()}
        )
    )
    assert deleted is not None
    assert deleted.deleted
    assert deleted.actor == JANE
    for other in (
        {"webhookEvent": "worklog_created", "issue": _issue()},
        {"webhookEvent": "jira:issue_updated"},
    ):
        assert webhook_change(WebhookBody.model_validate(other)) is None


# --- the rule -----------------------------------------------------------------------------------


def _record(**values: Any) -> TicketRecord:
    base = TicketRecord(
        guid="A-1",
        state=TicketState.CREATED,
        ticket_id="10001",
        ticket_key="OPS-1",
        project="OPS",
        issuetype="Task",
        jira_status="To Do",
        status_category="new",
    )
    return replace(base, **values)


def _state(status: str, category: str, resolution: str | None = None, **fields: Any) -> IssueState:
    issue = _issue(
        status={"name": status, "statusCategory": {"key": category}},
        resolution={"name": resolution} if resolution else None,
        **fields,
    )
    state = IssueState.from_issue(issue)
    assert state is not None
    return state


def _change(state: IssueState, at: datetime, actor: JiraUser | None, moved: bool = True) -> JiraChange:
    return JiraChange(state, actor=actor, status_actor=actor if moved else None, moment=at)


def test_a_persons_resolve_then_the_drivers_comment_then_a_reopen() -> None:
    record = _record()
    resolved = apply_change(record, _change(_state("Done", "done", "Fixed"), T0, JANE), ME, T0)
    assert resolved is not None
    assert (resolved.jira_status, resolved.status_category, resolved.resolution) == ("Done", "done", "Fixed")
    assert (resolved.changed_by, resolved.changed_by_driver) == ("Jane Smith", False)
    assert (resolved.resolved_at, resolved.resolved_by_driver) == (T0, False)
    assert resolved.jira_updated == T0
    assert resolved.synced_at == T0
    later = T0 + timedelta(minutes=1)
    commented = apply_change(
        resolved, _change(_state("Done", "done", "Fixed"), later, ME, moved=False), ME, later
    )
    assert commented is not None
    assert (commented.changed_by, commented.changed_by_driver) == ("Administrator", True)
    assert (commented.resolved_at, commented.resolved_by_driver) == (T0, False)  # kept while done
    again = later + timedelta(minutes=1)
    reopened = apply_change(commented, _change(_state("Reopened", "new"), again, JANE), ME, again)
    assert reopened is not None
    assert (reopened.status_category, reopened.resolution) == ("new", None)
    assert (reopened.resolved_at, reopened.resolved_by_driver) == (None, None)
    assert changed(commented, reopened)


def test_the_driver_resolving_is_recorded_as_the_driver() -> None:
    resolved = apply_change(_record(), _change(_state("Done", "done", "Done"), T0, ME), ME, T0)
    assert resolved is not None
    assert resolved.resolved_by_driver is True
    assert resolved.changed_by_driver


def test_a_resolve_seen_without_its_status_change_is_not_the_drivers() -> None:
    # the person's status webhook was missed; the driver's own edit is what arrives next
    edit = _change(_state("Done", "done", "Duplicate"), T0, ME, moved=False)
    resolved = apply_change(_record(), edit, ME, T0)
    assert resolved is not None
    assert resolved.resolved_by_driver is False
    assert resolved.changed_by_driver is True


def test_an_older_change_rolls_nothing_back() -> None:
    record = _record(jira_status="Done", status_category="done", jira_updated=T0)
    older = _change(_state("In Progress", "indeterminate"), T0 - timedelta(seconds=1), JANE)
    assert apply_change(record, older, ME, T0) is None
    same = apply_change(record, _change(_state("Done", "done"), T0, JANE), ME, T0 + timedelta(seconds=5))
    assert same is not None
    assert same.jira_status == "Done"


def test_a_change_dated_years_ahead_freezes_nothing() -> None:
    # a signed event from a sender whose clock is ten years ahead, then a person's real resolve
    future = _change(_state("In Progress", "indeterminate"), T0 + timedelta(days=3650), JANE)
    assert from_the_future(future, T0)
    first = apply_change(_record(), future, ME, T0)
    assert first is not None
    assert first.jira_updated == T0, "taken as the driver's clock when it arrived"
    later = T0 + timedelta(seconds=1)
    resolved = apply_change(first, _change(_state("Done", "done", "Fixed"), later, JANE), ME, later)
    assert resolved is not None
    assert resolved.jira_status == "Done"


def test_a_record_frozen_by_an_older_driver_takes_changes_again() -> None:
    # written before times were clamped: its jira_updated is years ahead
    frozen = _record(jira_status="To Do", status_category="new", jira_updated=T0 + timedelta(days=3650))
    now = T0 + timedelta(minutes=10)
    resolved = apply_change(frozen, _change(_state("Done", "done", "Fixed"), now, JANE), ME, now)
    assert resolved is not None
    assert resolved.jira_status == "Done"
    # a change inside the skew is not from the future, and an older one still rolls nothing back
    assert not from_the_future(_change(_state("Done", "done"), now + timedelta(minutes=4), JANE), now)
    assert apply_change(resolved, _change(_state("To Do", "new"), T0, JANE), ME, now) is None


@given(
    ahead=st.timedeltas(
        min_value=EVENT_CLOCK_SKEW + timedelta(microseconds=1), max_value=timedelta(days=365 * 50)
    ),
    step=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=2)),
)
def test_after_any_future_dated_change_a_later_real_change_is_applied(
    ahead: timedelta, step: timedelta
) -> None:
    first = apply_change(_record(), _change(_state("To Do", "new"), T0 + ahead, JANE), ME, T0)
    assert first is not None
    now = T0 + step
    after = apply_change(first, _change(_state("Done", "done", "Fixed"), now, JANE), ME, now)
    assert after is not None
    assert after.jira_status == "Done"


def test_a_deletion_is_final() -> None:
    now = T0 + timedelta(hours=1)
    deleted = apply_change(
        _record(jira_updated=T0 + timedelta(days=1)),
        JiraChange(_state("To Do", "new"), deleted=True, actor=JANE, moment=T0),
        ME,
        now,
    )
    assert deleted is not None
    assert (deleted.deleted_at, deleted.changed_by, deleted.changed_by_driver) == (now, "Jane Smith", False)
    assert not deleted.live
    later = T0 + timedelta(days=2)
    assert apply_change(deleted, _change(_state("Done", "done"), later, JANE), ME, later) is None
    assert apply_change(deleted, JiraChange(_state("To Do", "new"), deleted=True), ME, later) is None


def test_fields_the_event_did_not_carry_are_kept() -> None:
    record = _record(jira_status="Done", status_category="done", resolution="Fixed", assignee="Jane Smith")
    partial = IssueState.from_issue({"id": "10001", "key": "OPS-1", "fields": {"summary": "x"}})
    assert partial is not None
    after = apply_change(record, JiraChange(partial, actor=ME, moment=T0), ME, T0)
    assert after is not None
    assert (after.jira_status, after.status_category, after.resolution, after.assignee) == (
        "Done",
        "done",
        "Fixed",
        "Jane Smith",
    )
    assert after.changed_by == "Administrator"


def test_without_the_drivers_identity_nobody_is_called_the_driver() -> None:
    after = apply_change(_record(), _change(_state("Done", "done"), T0, ME), None, T0)
    assert after is not None
    assert after.changed_by_driver is None
    assert after.resolved_by_driver is None
    assert is_driver(None, ME) is None
    assert is_driver(JiraUser(frozenset({"accountId:5b10"}), ""), ME) is False


STATES = [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done"), ("Reopened", "new")]


@given(
    steps=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.booleans()),
        min_size=1,
        max_size=12,
        unique_by=lambda s: s[1],
    ),
    order=st.randoms(use_true_random=False),
)
def test_out_of_order_deliveries_end_at_the_newest_change(
    steps: list[tuple[int, int, bool]], order: Any
) -> None:
    changes = [
        _change(
            _state(*STATES[s], resolution="Fixed" if STATES[s][1] == "done" else None),
            T0 + timedelta(seconds=t),
            JANE if person else ME,
        )
        for s, t, person in steps
    ]
    shuffled = list(changes)
    order.shuffle(shuffled)
    record = _record()
    newest = max(changes, key=lambda c: c.moment or T0)
    now = newest.moment or T0  # the deliveries arrive once all of them happened
    for change in shuffled:
        record = apply_change(record, change, ME, now) or record
    assert record.jira_updated == newest.moment
    assert (record.jira_status, record.status_category) == (newest.state.status, newest.state.status_category)
    assert record.changed_by == (newest.actor.display_name if newest.actor else None)
    assert (record.resolved_at is not None) == (record.status_category == "done")


# --- a poll's hits ------------------------------------------------------------------------------


def test_a_poll_hit_names_who_changed_it_last_and_who_moved_its_status() -> None:
    fields = _issue()["fields"]
    fields["comment"] = {
        "comments": [
            {"id": "1", "author": DRIVER_JSON, "created": "2026-03-02T09:04:00.000+0000"},
            {"id": "2", "author": DRIVER_JSON, "updated": "2026-03-02T09:07:00.000+0000"},
        ]
    }
    changelog = {
        "histories": [
            {"author": JANE_JSON, "created": "2026-03-02T09:05:00.000+0000", "items": [{"field": "status"}]},
            {
                "author": DRIVER_JSON,
                "created": "2026-03-02T09:01:00.000+0000",
                "items": [{"field": "status"}],
            },
            {
                "author": DRIVER_JSON,
                "created": "2026-03-02T09:06:00.000+0000",
                "items": [{"field": "labels"}],
            },
        ]
    }
    change = poll_change("10001", "OPS-1", fields, changelog)
    assert change is not None
    assert change.actor == ME  # the comment at 09:07 is the latest
    assert change.status_actor == JANE
    assert change.moment == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    resolved = apply_change(_record(), change, ME, T0)
    assert resolved is not None
    assert resolved.resolved_by_driver is False
    assert resolved.changed_by_driver
    bare = poll_change("10001", "OPS-1", {"status": {"name": "Done"}})
    assert bare is not None
    assert bare.actor is None
    assert bare.status_actor is None


def test_a_moved_ticket_is_recorded_under_its_new_key() -> None:
    """The record follows the issue id (a person moved OPS-1 to NET-7): key, link and project."""
    record = _record(ticket_url="https://jira.example/browse/OPS-1")
    state = IssueState.from_issue({"id": "10001", "key": "NET-7", "fields": {"project": {"key": "NET"}}})
    assert state is not None
    moved = apply_change(record, JiraChange(state, moment=T0), ME, T0)
    assert moved is not None
    assert (moved.ticket_key, moved.ticket_url, moved.project) == (
        "NET-7",
        "https://jira.example/browse/NET-7",
        "NET",
    )
    assert record.moved_to("OPS-1") is record
    # without the project in the answer, the key's own project; a link of another form is kept
    other = _record(ticket_url="https://jira.example/issues/OPS-1").moved_to("CORE-NET-2")
    assert (other.project, other.ticket_url) == ("CORE-NET", "https://jira.example/issues/OPS-1")


def test_the_poll_jql_counts_relative_minutes_oldest_first() -> None:
    assert poll_jql(["OPS", 'W"X'], 7) == (
        'project in ("OPS", "W\\"X") AND updated >= "-7m" ORDER BY updated ASC'
    )
    with pytest.raises(ValueError, match="project"):
        poll_jql([], 5)
    # the stamp field finds the driver's tickets wherever a person moved them
    assert poll_jql(["OPS"], 7, "customfield_10101") == (
        'cf[10101] is not EMPTY AND updated >= "-7m" ORDER BY updated ASC'
    )
    assert poll_minutes(None, T0, 60) == 1 + POLL_MARGIN_MINUTES
    assert poll_minutes(T0 - timedelta(seconds=61), T0, 60) == 2 + POLL_MARGIN_MINUTES
    assert poll_minutes(T0 + timedelta(minutes=5), T0, 60) == POLL_MARGIN_MINUTES  # a clock put back
    assert poll_minutes(T0 - timedelta(days=90), T0, 60) == POLL_MAX_MINUTES


def test_the_cursor_goes_on_from_the_last_hit_seen() -> None:
    assert next_cursor(T0, None) == T0
    assert next_cursor(T0, T0 - timedelta(minutes=3)) == T0 - timedelta(minutes=3)
    assert next_cursor(T0, T0 + timedelta(minutes=1)) == T0  # Jira's clock ahead of ours


# --- stamps -------------------------------------------------------------------------------------


def test_a_create_in_doubt_is_recognised_by_its_stamp() -> None:
    guid = "site 7/alarm 1"
    labelled = IssueState.from_issue(_issue(labels=["other", stamp_label(guid, "alarm-")]))
    assert labelled is not None
    assert stamp_owner(labelled, [("X-9", 1), (guid, 1)], "", "alarm-") == guid
    assert stamp_owner(labelled, [("X-9", 1)], "", "alarm-") is None
    unlabelled = IssueState.from_issue({"key": "OPS-1", "fields": {"summary": "x"}})
    assert unlabelled is not None
    assert stamp_owner(unlabelled, [(guid, 1)], "", "alarm-") is None
    field = "customfield_10101"
    stamped = IssueState.from_issue(_issue(**{field: stamp_value(guid)}))
    assert stamped is not None
    assert stamp_owner(stamped, [(guid, 1)], field, "alarm-") == guid
    assert stamp_owner(labelled, [(guid, 1)], field, "alarm-") is None
    # a later ticket of the GUID carries its generation's stamp, not the first ticket's
    second = IssueState.from_issue(_issue(labels=[stamp_label(guid, "alarm-", 2)]))
    assert second is not None
    assert stamp_owner(second, [(guid, 1)], "", "alarm-") is None
    assert stamp_owner(second, [(guid, 2)], "", "alarm-") == guid


def test_a_changelog_is_cut_only_when_it_holds_fewer_histories_and_no_status_move() -> None:
    status = {
        "author": {"name": "a"},
        "created": "2026-12-01T10:00:00.000+0000",
        "items": [{"field": "status"}],
    }
    edit = {
        "author": {"name": "a"},
        "created": "2026-12-01T10:00:00.000+0000",
        "items": [{"field": "summary"}],
    }
    assert changelog_cut({"total": 46, "histories": [edit] * 40})
    assert not changelog_cut({"total": 46, "histories": [edit] * 39 + [status]})
    assert not changelog_cut({"total": 40, "histories": [edit] * 40})
    assert not changelog_cut({})
    assert not changelog_cut({"total": "46", "histories": [edit]})
