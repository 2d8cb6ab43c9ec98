"""An alarm's state from its GUID's log rows: the table of driver.model.alarm_state, and which row counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.contract.schemas import LogStatus, LogType
from driver.model.alarm_state import (
    ALARM_STATES,
    Alarm,
    RowFacts,
    alarm_row,
    alarm_state,
    speaks_for_the_alarm,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPEN = (LogStatus.PENDING, LogStatus.DEFERRED)
SETTLED = (LogStatus.OK, LogStatus.FAILED)


def row(
    action: str,
    status: LogStatus = LogStatus.OK,
    *,
    id: int = 1,
    type: LogType = LogType.AUTOMATIC,
    time: datetime = T0,
) -> RowFacts:
    return RowFacts(id=id, type=type, action=action, status=status, time=time)


def test_the_states_are_the_apis() -> None:
    assert ALARM_STATES == ("active", "cleared", "resolve_hold", "unknown")


def test_no_row_is_unknown() -> None:
    assert alarm_state(None, 0, T0) == Alarm("unknown")
    assert alarm_state(None, 30, T0) == Alarm("unknown")


@pytest.mark.parametrize("action", ["CREATE", "UPDATE", "REOPEN"])
@pytest.mark.parametrize("status", [*OPEN, *SETTLED])
@pytest.mark.parametrize("hold", [0, 30])
def test_create_update_and_reopen_are_active(action: str, status: LogStatus, hold: float) -> None:
    assert alarm_state(row(action, status), hold, T0) == Alarm("active")


@pytest.mark.parametrize("status", OPEN)
def test_an_open_resolve_is_held_while_the_hold_runs(status: LogStatus) -> None:
    held = row("RESOLVE", status, time=T0)
    until = T0 + timedelta(seconds=30)
    assert alarm_state(held, 30, T0) == Alarm("resolve_hold", until)
    assert alarm_state(held, 30, until - timedelta(microseconds=1)) == Alarm("resolve_hold", until)
    # Its hold is over: it goes out (or is about to), and the alarm is cleared.
    assert alarm_state(held, 30, until) == Alarm("cleared")
    assert alarm_state(held, 30, until + timedelta(hours=1)) == Alarm("cleared")
    # No hold configured: cleared at once.
    assert alarm_state(held, 0, T0) == Alarm("cleared")


@pytest.mark.parametrize("status", SETTLED)
def test_a_settled_resolve_is_cleared(status: LogStatus) -> None:
    # Even within what would have been its hold: it was sent (or refused), it is not held.
    assert alarm_state(row("RESOLVE", status), 30, T0) == Alarm("cleared")


def test_actions_are_compared_as_text() -> None:
    assert alarm_state(row("resolve", LogStatus.PENDING), 30, T0).state == "resolve_hold"
    assert alarm_state(row("reopen"), 0, T0).state == "active"
    assert alarm_state(row("ACKNOWLEDGE"), 0, T0) == Alarm("unknown")


def test_cancelled_and_manual_rows_say_nothing_of_the_alarm() -> None:
    rows = [
        row("CREATE", id=1),
        row("RESOLVE", LogStatus.CANCELLED, id=2),
        row("CREATE", LogStatus.PENDING, id=3, type=LogType.MANUAL),
    ]
    assert [speaks_for_the_alarm(r) for r in rows] == [True, False, False]
    assert alarm_row(rows) == rows[0]
    assert alarm_row(rows[1:]) is None
    assert alarm_row([]) is None
    # A RESOLVE taken back by a later UPDATE: the alarm is active.
    taken_back = [row("RESOLVE", LogStatus.CANCELLED, id=4), row("UPDATE", LogStatus.PENDING, id=5)]
    assert alarm_state(alarm_row(taken_back), 30, T0).state == "active"


rows_strategy = st.lists(
    st.builds(
        row,
        st.sampled_from(["CREATE", "UPDATE", "RESOLVE", "REOPEN"]),
        st.sampled_from(list(LogStatus)),
        id=st.integers(min_value=1, max_value=10_000),
        type=st.sampled_from(list(LogType)),
    ),
    max_size=12,
    unique_by=lambda r: r.id,
)


@given(rows_strategy)
def test_the_newest_row_that_speaks_for_the_alarm_is_picked_whatever_the_order(rows: list[RowFacts]) -> None:
    picked = alarm_row(rows)
    speaking = [r for r in rows if r.type == LogType.AUTOMATIC and r.status != LogStatus.CANCELLED]
    if not speaking:
        assert picked is None
        return
    assert picked is not None
    assert picked.id == max(r.id for r in speaking)
    assert alarm_row(list(reversed(rows))) == picked
