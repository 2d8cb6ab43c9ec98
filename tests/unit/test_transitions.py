"""Pure rules of the ticket's life: targets, choosing a transition, its body, and what a CREATE or
UPDATE does with a resolved or deleted ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.contract.schemas import LogStatus, LogType
from driver.model.answers import IssueTransition, ScreenField
from driver.model.commands import Action
from driver.model.jobs import JobPayload, LoggedRequest, NewEntry, RequestKind, TicketRecord, TicketState
from driver.model.lifecycle import Course, LifecycleSettings, course, hold_until
from driver.model.transitions import (
    Target,
    TransitionCache,
    TransitionRefused,
    choose,
    no_transition_reason,
    transition_request,
)
from driver.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RESOLVE_SCREEN = {"resolution": ScreenField("resolution", "Resolution", True, ("Fixed", "Won't Fix", "Done"))}
OFFERED = [
    IssueTransition("11", "Start Progress", "In Progress", "indeterminate"),
    IssueTransition("5", "Resolve Issue", "Resolved", "done", RESOLVE_SCREEN),
    IssueTransition("2", "Close Issue", "Done", "done", RESOLVE_SCREEN),
]


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("done", Target("category", "done")),
        ("NEW", Target("category", "new")),
        ("category:indeterminate", Target("category", "indeterminate")),
        ("status:Resolved", Target("status", "Resolved")),
        ("Closed", Target("status", "Closed")),
    ],
)
def test_targets_parse(text: str, target: Target) -> None:
    assert Target.parse(text) == target


@pytest.mark.parametrize("text", ["", "category:finished", "status:", "bogus:thing", "Status :Done"])
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="status|category|target"):
        Target.parse(text)


def test_the_first_transition_that_leads_there_is_chosen() -> None:
    assert choose(OFFERED, Target("category", "done")) == OFFERED[1]
    assert choose(OFFERED, Target("status", "done")) == OFFERED[2]
    assert choose(OFFERED, Target("status", "Reopened")) is None


def test_no_transition_lists_what_the_ticket_offers() -> None:
    reason = no_transition_reason("NET-1", "To Do", Target("status", "Reopened"), OFFERED)
    assert "NET-1 (status 'To Do')" in reason
    assert "Start Progress -> In Progress (indeterminate), Resolve Issue -> Resolved (done)" in reason


def test_the_body_carries_resolution_fields_on_the_screen_and_comments() -> None:
    screen = {**RESOLVE_SCREEN, "customfield_1": ScreenField("customfield_1", "Cause", False)}
    transition = IssueTransition("5", "Resolve Issue", "Resolved", "done", screen)
    request = transition_request(
        transition, {"customfield_1": "power", "summary": "x"}, [{"body": "cleared"}], "fixed", "Done"
    )
    assert request.body == {
        "transition": {"id": "5"},
        "fields": {"customfield_1": "power", "resolution": {"name": "Fixed"}},
        "update": {"comment": [{"add": {"body": "cleared"}}]},
    }
    assert request.edit == {"fields": {"summary": "x"}}


def test_a_screenless_transition_leaves_its_comments_apart() -> None:
    """Jira drops `update.comment` of a transition without a screen (docs/wire-facts.md §4)."""
    screenless = IssueTransition("41", "Reopen Issue", "Reopened", "new", has_screen=False)
    request = transition_request(screenless, {}, [{"body": "back"}], None, "")
    assert request.body == {"transition": {"id": "41"}}
    assert request.comments_apart is True
    with_screen = transition_request(OFFERED[1], {}, [{"body": "gone"}], None, "Done")
    assert with_screen.body["update"] == {"comment": [{"add": {"body": "gone"}}]}
    assert with_screen.comments_apart is False
    assert transition_request(screenless, {}, [], None, "").comments_apart is False


@pytest.mark.parametrize(
    ("item", "has_screen"),
    [
        pytest.param({"hasScreen": False, "fields": {}}, False, id="cloud, no screen"),
        pytest.param({"hasScreen": True, "fields": {}}, True, id="cloud, a screen of no fields"),
        pytest.param({"fields": {}}, False, id="data center, no fields"),
        pytest.param({"fields": {"resolution": {"name": "Resolution"}}}, True, id="data center, a screen"),
        pytest.param({}, False, id="fields not expanded"),
    ],
)
def test_a_transition_has_a_screen_as_jira_says_or_as_its_fields_show(
    item: dict[str, Any], has_screen: bool
) -> None:
    transition = IssueTransition.from_json({"id": "1", "name": "T", "to": {"name": "S"}, **item})
    assert transition is not None
    assert transition.has_screen is has_screen


def test_an_unknown_resolution_names_those_that_exist() -> None:
    with pytest.raises(TransitionRefused, match=r"unknown resolution 'Sorted'.*Fixed, Won't Fix, Done"):
        transition_request(OFFERED[1], {}, [], "Sorted", "Done")


def test_a_screen_without_resolution_sets_none_and_says_so() -> None:
    request = transition_request(OFFERED[0], {}, [], "Fixed", "Done")
    assert request.body == {"transition": {"id": "11"}}
    assert "has no resolution on its screen" in request.notes[0]
    assert transition_request(OFFERED[0], {}, [], None, "Done").notes == ()


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "resolution"]), st.integers(), max_size=5),
    st.sets(st.sampled_from(["a", "b", "c", "d"])),
)
def test_every_field_goes_either_with_the_transition_or_in_the_edit(
    fields: dict[str, int], on_screen: set[str]
) -> None:
    screen = {fid: ScreenField(fid, fid, False) for fid in on_screen}
    request = transition_request(IssueTransition("1", "T", "S", "done", screen), fields, [], None, "")
    sent = dict(request.body.get("fields", {}))
    edited = dict((request.edit or {}).get("fields", {}))
    assert not set(sent) & set(edited)
    assert {**sent, **edited} == fields


def test_the_cache_is_keyed_by_project_type_and_status() -> None:
    cache = TransitionCache(limit=2)
    done = Target("category", "done")
    cache.put("NET", "Bug", "To Do", done, OFFERED[1])
    assert cache.get("NET", "Bug", "to do", done) == OFFERED[1]
    assert cache.get("NET", "Task", "To Do", done) is None
    assert cache.get("NET", "Bug", "Resolved", done) is None
    cache.put("NET", "Task", "To Do", done, OFFERED[2])
    cache.put("OPS", "Task", "To Do", done, OFFERED[2])
    assert cache.get("NET", "Bug", "To Do", done) is None  # bounded: the oldest went
    cache.drop("OPS", "Task", "To Do", done)
    assert cache.get("OPS", "Task", "To Do", done) is None


def _ticket(**values: object) -> TicketRecord:
    record = TicketRecord("G", TicketState.CREATED, "1", "NET-1", "u", 1)
    for name, value in values.items():
        setattr(record, name, value)
    return record


SETTINGS = LifecycleSettings(reopen_window=timedelta(minutes=60))


@pytest.mark.parametrize(
    ("ticket", "action", "settings", "expected"),
    [
        (None, Action.CREATE, SETTINGS, Course.NEW_TICKET),
        (_ticket(), Action.CREATE, SETTINGS, Course.UPDATE),
        (_ticket(deleted_at=NOW), Action.CREATE, SETTINGS, Course.NEW_TICKET),
        (
            _ticket(status_category="done", resolved_by_driver=True, resolved_at=NOW - timedelta(minutes=5)),
            Action.CREATE,
            SETTINGS,
            Course.REOPEN_THEN_UPDATE,
        ),
        (
            _ticket(status_category="done", resolved_by_driver=True, resolved_at=NOW - timedelta(hours=2)),
            Action.CREATE,
            SETTINGS,
            Course.NEW_TICKET,
        ),
        (
            _ticket(status_category="done", resolved_by_driver=True, resolved_at=NOW),
            Action.CREATE,
            LifecycleSettings(reopen_window=timedelta(0)),
            Course.NEW_TICKET,
        ),
        (
            _ticket(status_category="done", resolved_by_driver=True, resolved_at=NOW),
            Action.UPDATE,
            SETTINGS,
            Course.UPDATE,
        ),
        (_ticket(status_category="done", resolved_by_driver=False), Action.UPDATE, SETTINGS, Course.UPDATE),
        (
            _ticket(status_category="done", resolved_by_driver=False),
            Action.CREATE,
            LifecycleSettings(when_resolved_in_jira="reopen"),
            Course.REOPEN_THEN_UPDATE,
        ),
        (
            _ticket(status_category="done", resolved_by_driver=False),
            Action.UPDATE,
            LifecycleSettings(when_resolved_in_jira="new_ticket"),
            Course.NEW_TICKET,
        ),
    ],
)
def test_what_a_command_does_with_the_guids_ticket(
    ticket: TicketRecord | None, action: Action, settings: LifecycleSettings, expected: Course
) -> None:
    assert course(action, ticket, settings, NOW) == expected


def test_the_resolve_hold() -> None:
    assert hold_until(NOW, LifecycleSettings()) is None
    assert hold_until(NOW, LifecycleSettings(resolve_hold=timedelta(seconds=30))) == NOW + timedelta(
        seconds=30
    )


def test_a_transition_counts_for_the_update_limit_after_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    entries = [
        NewEntry(LogType.AUTOMATIC, action, "G", JobPayload(text=f"G|{action.value}|"))
        for action in (Action.RESOLVE, Action.RESOLVE, Action.REOPEN)
    ]
    transitioned, nothing_sent, reopened = store.accept(entries)
    ticket = TicketRecord("G", TicketState.CREATED, "1", "OPS-1", "u", 1)
    with store.transaction():
        store.settle(
            transitioned.id,
            LogStatus.OK,
            ticket=ticket,
            request=LoggedRequest(RequestKind.TRANSITION, {"transition": {"id": "31"}}),
        )
        store.settle(nothing_sent.id, LogStatus.OK, ticket=ticket, note="already in 'Done': nothing sent")
        store.settle(
            reopened.id,
            LogStatus.OK,
            ticket=ticket,
            request=LoggedRequest(RequestKind.TRANSITION, {"transition": {"id": "11"}}),
        )
    recent = store.recent_updates(datetime.now(UTC) - timedelta(minutes=1))
    assert [sent.ticket_key for sent in recent] == ["OPS-1", "OPS-1"]
    store.close()
