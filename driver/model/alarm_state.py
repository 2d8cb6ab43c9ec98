"""An alarm's own state, read from its GUID's log rows (pure, no I/O).

The driver never sees the alarm itself, only the commands its automation sends. The GUID's latest
automatic log row that is not Cancelled nor a CALL says what the alarm last did (`alarm_row`):

    no such row                             unknown
    CREATE, UPDATE or REOPEN (any status)   active
    RESOLVE still open (Pending/Deferred)   resolve_hold while [lifecycle] resolve_hold_seconds > 0
                                            and the hold (counted from the row's intake) runs,
                                            else cleared
    RESOLVE settled (Ok or Failed)          cleared: the alarm cleared, whatever Jira made of it
                                            (the ticket's own status says that)
    any other action                        unknown

A Cancelled row is a RESOLVE its alarm took back within the hold (the command that took it back
is a later row), a Manual row is a person's Execute, not the alarm's, and a CALL is a request to
one of the [endpoint.*] the automation made about the ticket: none says anything about the alarm
(the Alarms table skips CALLs for the same reason, driver.store.alarms). Actions are compared
as text, so rows of any version read the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from driver.contract.schemas import LogStatus, LogType
from driver.contract.tickets import AlarmState

__all__ = [
    "ALARM_STATES",
    "Alarm",
    "AlarmState",
    "GuidRows",
    "RowFacts",
    "alarm_row",
    "alarm_state",
    "speaks_for_the_alarm",
]

ALARM_STATES: tuple[AlarmState, ...] = get_args(AlarmState)

_ACTIVE_ACTIONS = frozenset({"CREATE", "UPDATE", "REOPEN"})
_RESOLVE = "RESOLVE"
_CALL = "CALL"
_OPEN = frozenset({LogStatus.PENDING, LogStatus.DEFERRED})


@dataclass(frozen=True)
class RowFacts:
    """What the view needs of one log row. time is its intake, an aware datetime."""

    id: int
    type: LogType
    action: str
    """The action as the row holds it: CREATE, UPDATE, RESOLVE, REOPEN."""
    status: LogStatus
    time: datetime
    error: str = ""

    @property
    def open(self) -> bool:
        """Still to be sent (Pending or Deferred)."""
        return self.status in _OPEN


@dataclass(frozen=True)
class GuidRows:
    """A GUID's log rows as far as its ticket view needs them (driver.store.Store.guid_rows)."""

    latest: RowFacts | None
    """The GUID's newest row, of any type and status (None: no row, or retention removed them)."""
    alarm: RowFacts | None
    """The newest row alarm_row picks (automatic, not Cancelled, not a CALL)."""
    open_rows: int
    """How many of its rows are Pending or Deferred."""


@dataclass(frozen=True)
class Alarm:
    """The alarm's state, and while a RESOLVE is held, when the hold ends."""

    state: AlarmState
    hold_until: datetime | None = None


def speaks_for_the_alarm(row: RowFacts) -> bool:
    """Whether a row says what the alarm did: an automatic row that is not Cancelled nor a CALL."""
    return (
        row.type == LogType.AUTOMATIC
        and row.status != LogStatus.CANCELLED
        and row.action.upper().partition(" ")[0] != _CALL  # a CALL's action is 'CALL <endpoint>'
    )


def alarm_row(rows: Iterable[RowFacts]) -> RowFacts | None:
    """The newest (highest id) row that speaks for the alarm, if any."""
    return max((r for r in rows if speaks_for_the_alarm(r)), key=lambda r: r.id, default=None)


def alarm_state(row: RowFacts | None, hold_seconds: float, now: datetime) -> Alarm:
    """The alarm's state from its newest row that speaks for it (alarm_row), per the module's table.

    hold_seconds is [lifecycle] resolve_hold_seconds (0: no hold); now is an aware datetime. A
    RESOLVE is held while now < its intake + hold_seconds.
    """
    if row is None:
        return Alarm("unknown")
    action = row.action.upper()
    if action in _ACTIVE_ACTIONS:
        return Alarm("active")
    if action != _RESOLVE:
        return Alarm("unknown")
    if row.open and hold_seconds > 0:
        until = row.time + timedelta(seconds=hold_seconds)
        if now < until:
            return Alarm("resolve_hold", until)
    return Alarm("cleared")
