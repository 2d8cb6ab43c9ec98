"""Which GUIDs the driver may forget (pure, no I/O): `[ticket] forget_after_days` without a command.

Every alarm the driver ever saw kept a ticket record, the tickets it had before, and its Alarms
row; DataMiner gives each new alarm a GUID of its own, so on a busy system that was a row set per
alarm for good (622 MB after a million alarms raised and cleared: tests/bench/bench_growth.py). A
GUID is forgotten when nothing the driver does could still need more than its highest ticket
generation:

- its last command (a CALL too) is older than the cutoff, and none of its rows is Pending or
  Deferred;
- it has no ticket record (its commands all failed), or its ticket was created and has since been
  resolved (a done status) or deleted in Jira, that long ago too, and longer ago than `[lifecycle]
  reopen_window_minutes` (a CREATE within it reopens that ticket). A ticket still open is never
  forgotten, however long its alarm is quiet, nor the resolved ticket of an alarm still raised (its
  automation's last word CREATE, UPDATE or REOPEN); nor a create in flight or in doubt; nor an alert
  still firing (Alertmanager repeats its notification unchanged, which makes no command only while
  its notice is kept).

What is kept (driver.store.forgetting): the highest generation and that ticket's key. A CREATE for
the GUID later makes a new ticket of the next generation (as after the reopen window), so its stamp
is new and a stamp search never finds the old ticket; an UPDATE, RESOLVE or REOPEN is refused as for
a GUID without a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from driver.model.jobs import TicketState


@dataclass(frozen=True)
class IdleGuid:
    """A GUID of the Alarms table, with what decides whether it may be forgotten."""

    guid: str
    last_log_id: int
    """The id of its last automatic row (the Alarms table's cursor: ids grow with time)."""
    last_at: datetime
    """When its last command came."""
    state: TicketState | None
    """Its ticket record's state; None: it has no record."""
    status_category: str | None
    """The ticket's status category as last heard (done: resolved)."""
    ended_at: datetime | None
    """When the ticket was resolved or deleted in Jira, if it was and the driver knows when."""
    deleted: bool
    """The ticket was deleted in Jira."""
    generation: int
    """The highest generation of a ticket the GUID had: record, history or an earlier forgetting
    (0: none)."""
    ticket_key: str | None
    """Its current ticket's key, if any."""
    open_rows: bool
    """It has a Pending or Deferred row."""
    last_row_at: datetime | None = None
    """When its newest log row came, of any action (a CALL's is not the Alarms table's last row);
    None: the log's retention removed them all."""
    firing: bool = False
    """Its alert (Alertmanager, Grafana) is firing as last notified: each repeat of that
    notification makes no command only while its notice is kept."""
    alarm_active: bool = False
    """Its automation's last word was CREATE, UPDATE or REOPEN: the alarm is still raised (the
    Alarms table's last action), whatever became of its ticket in Jira."""


@dataclass(frozen=True)
class ForgottenGuid:
    """What is kept of a forgotten GUID."""

    guid: str
    generation: int
    """The highest generation of a ticket it had: its next ticket takes the one after."""
    ticket_key: str | None
    """That ticket's key, when it had one."""
    forgotten_on: date
    """The day (UTC) it was forgotten."""


def forgettable(idle: IdleGuid, cutoff: datetime, ended_before: datetime | None = None) -> bool:
    """Whether the GUID may be forgotten now: see the module docstring. `cutoff` is now minus
    `forget_after_days` (wall time: the stored times are); `ended_before` (default `cutoff`): the
    latest a ticket may have been resolved, so a CREATE within `[lifecycle] reopen_window_minutes`
    still finds the ticket to reopen."""
    if idle.open_rows or idle.firing or idle.last_at >= cutoff:
        return False
    if idle.last_row_at is not None and idle.last_row_at >= cutoff:
        return False
    if idle.state is None:
        return True
    if idle.state != TicketState.CREATED:
        return False
    if idle.alarm_active and not idle.deleted:
        # a person resolved the ticket of an alarm still raised: its next UPDATE goes to that
        # ticket (`when_resolved_in_jira`), as it would the day after
        return False
    if not idle.deleted and idle.status_category != "done":
        return False
    return idle.ended_at is None or idle.ended_at < min(cutoff, ended_before or cutoff)
