"""The Alarms table (the connector's 3.0.0.x Alarms page): the driver's view of every GUID it
knows, one row each, newest activity first. Pure: the store fills these from the `alarms` table
(written at intake), the ticket records and the GUID's log rows (driver.store.alarms).

An alarm's state is driver.model.alarm_state's, read from the GUID's newest automatic row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from driver.contract.schemas import LogStatus
from driver.contract.tickets import AlarmState
from driver.model.alarm_state import Alarm
from driver.model.jobs import TicketRecord


@dataclass(frozen=True)
class AlarmFilter:
    """Which alarms a page shows, newest activity first.

    state: the alarm's state; category: the ticket's Jira status category key (new,
    indeterminate, done); text: found in the GUID, the ticket key or the summary (as typed);
    before: the cursor, a `last_log_id` from the previous page (None: the newest).
    """

    state: AlarmState | None = None
    category: str | None = None
    text: str | None = None
    before: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class RowCounts:
    """A GUID's rows in the log as it stands (retention may have removed older ones)."""

    updates_sent: int = 0
    """UPDATE rows Ok with a request of their own."""
    updates_merged: int = 0
    """UPDATE rows Ok inside another row's request (merged while the update limit held them)."""
    updates_waiting: int = 0
    """UPDATE rows Pending or Deferred now."""
    failed: int = 0
    last_jira_write: datetime | None = None
    """When the GUID's last row that reached Jira settled Ok."""


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm: what its automation last said, its ticket as the driver knows it, its rows."""

    guid: str
    summary: str | None
    """The summary its last CREATE or UPDATE set (None: it set none)."""
    last_action: str
    last_at: datetime
    """When the last command was accepted."""
    last_log_id: int
    last_status: LogStatus | None
    """That row's status (None: retention removed it)."""
    alarm: Alarm
    ticket: TicketRecord | None
    counts: RowCounts
    first_at: datetime


@dataclass(frozen=True)
class AlarmRows:
    """A page of alarms; `total` counts every match, `next_before` is the next page's cursor."""

    rows: list[AlarmRecord]
    total: int
    next_before: int | None
