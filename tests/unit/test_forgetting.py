"""Which GUIDs may be forgotten (driver.model.forgetting): pure, no store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from driver.model.forgetting import IdleGuid, forgettable
from driver.model.jobs import TicketState

CUTOFF = datetime(2026, 9, 1, tzinfo=UTC)
OLD = CUTOFF - timedelta(days=1)
RESOLVED = IdleGuid(
    guid="G",
    last_log_id=7,
    last_at=OLD,
    state=TicketState.CREATED,
    status_category="done",
    ended_at=OLD,
    deleted=False,
    generation=1,
    ticket_key="OPS-1",
    open_rows=False,
)

moments = st.one_of(st.none(), st.sampled_from([OLD, CUTOFF, CUTOFF + timedelta(days=1)]))
idle_guids = st.builds(
    IdleGuid,
    guid=st.just("G"),
    last_log_id=st.integers(0, 10),
    last_at=st.sampled_from([OLD, CUTOFF, CUTOFF + timedelta(seconds=1)]),
    state=st.one_of(st.none(), st.sampled_from(TicketState)),
    status_category=st.sampled_from([None, "new", "indeterminate", "done"]),
    ended_at=moments,
    deleted=st.booleans(),
    generation=st.integers(0, 3),
    ticket_key=st.sampled_from([None, "OPS-1"]),
    open_rows=st.booleans(),
    last_row_at=moments,
    firing=st.booleans(),
    alarm_active=st.booleans(),
)
ended_before = st.one_of(st.none(), st.sampled_from([OLD - timedelta(days=30), OLD, CUTOFF]))


def test_a_ticket_resolved_and_quiet_since_before_the_cutoff_goes() -> None:
    assert forgettable(RESOLVED, CUTOFF)
    assert forgettable(replace(RESOLVED, status_category="new", deleted=True), CUTOFF)
    assert forgettable(replace(RESOLVED, state=None, status_category=None, ended_at=None), CUTOFF)


def test_each_reason_to_keep_keeps() -> None:
    assert not forgettable(replace(RESOLVED, open_rows=True), CUTOFF)
    assert not forgettable(replace(RESOLVED, firing=True), CUTOFF)
    assert not forgettable(replace(RESOLVED, alarm_active=True), CUTOFF)  # a person resolved it
    assert forgettable(replace(RESOLVED, alarm_active=True, deleted=True), CUTOFF)
    assert not forgettable(replace(RESOLVED, last_row_at=CUTOFF), CUTOFF)  # a CALL since
    assert not forgettable(RESOLVED, CUTOFF, ended_before=OLD - timedelta(days=1))  # reopen window
    assert not forgettable(replace(RESOLVED, last_at=CUTOFF), CUTOFF)
    assert not forgettable(replace(RESOLVED, ended_at=CUTOFF + timedelta(hours=1)), CUTOFF)
    assert not forgettable(replace(RESOLVED, status_category="indeterminate"), CUTOFF)
    for state in (TicketState.CREATING, TicketState.IN_DOUBT):
        assert not forgettable(replace(RESOLVED, state=state), CUTOFF)


@given(idle_guids, ended_before)
def test_nothing_open_in_doubt_recent_or_still_raised_is_ever_forgotten(
    idle: IdleGuid, before: datetime | None
) -> None:
    if forgettable(idle, CUTOFF, before):
        assert not idle.open_rows
        assert not idle.firing
        assert idle.last_at < CUTOFF
        assert idle.last_row_at is None or idle.last_row_at < CUTOFF
        assert idle.state in (None, TicketState.CREATED)
        if idle.state is not None:
            assert idle.deleted or (idle.status_category == "done" and not idle.alarm_active)
            assert idle.ended_at is None or idle.ended_at < min(CUTOFF, before or CUTOFF)
