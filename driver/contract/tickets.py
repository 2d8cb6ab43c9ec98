"""The bodies of GET /api/tickets/{guid}: a GUID's ticket now (the driver's record and its Jira
state as last known), its earlier tickets, its alarm's state and its last log row. Pure pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from driver.contract.schemas import Body, LogStatus

AlarmState = Literal["active", "cleared", "resolve_hold", "unknown"]
"""The alarm's own state, as driver.model.alarm_state derives it from the GUID's log rows."""


class CurrentTicket(Body):
    """The GUID's ticket now: the driver's record of it (table `tickets`) and its Jira state as last known."""

    key: str | None = None
    """None until Jira answered the create (state creating or in_doubt)."""
    id: str | None = None
    url: str | None = None
    generation: int
    """Which of the GUID's tickets this is: 1 for its first, 2 for the next..."""
    state: Literal["creating", "in_doubt", "created"]
    """creating: the intent to create is journaled; in_doubt: a create went out and its outcome is
    unknown (a stamp search settles it); created: Jira answered 201 or the search found it."""
    status: str | None = None
    """Jira's status name, e.g. 'To Do' (None: not known yet)."""
    status_category: str | None = None
    """Jira's status category key: new, indeterminate or done."""
    resolution: str | None = None
    assignee: str | None = None
    changed_by: str | None = None
    """Who changed the ticket last, as sync saw it: a person's display name, or the driver's account."""
    changed_by_driver: bool | None = None
    """True when that was the driver itself (recognised by its own Jira account); None: not known."""
    resolved_at: datetime | None = None
    """When it entered a done status; None while it is not resolved."""
    resolved_by_driver: bool | None = None
    """True: the driver resolved it (a RESOLVE); False: a person did, in Jira."""
    deleted: bool = False
    """Deleted in Jira (the driver learnt it by sync or a 404)."""
    deleted_at: datetime | None = None
    jira_updated: datetime | None = None
    """Jira's `updated` time of the ticket at the last sync."""
    synced_at: datetime | None = None
    """When the driver last read the ticket's state from Jira."""
    created_at: datetime | None = None


class PastTicket(Body):
    """One of the tickets a GUID has had (the current one included, with ended None)."""

    generation: int
    key: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    ended: str | None = None
    """None while it is the GUID's ticket; 'superseded' (a later one was made), 'deleted', or
    'unlinked' (an operator ended the link: POST /api/alarms/unlink)."""
    ended_at: datetime | None = None


class LastLogRow(Body):
    """The GUID's newest log row, of any type and status (GET /api/log/{id} has the rest)."""

    id: int
    action: str
    status: LogStatus
    time: datetime
    """When it was accepted."""
    error: str = ""


class TicketView(Body):
    """GET /api/tickets/{guid}: what the driver records of one GUID's ticket and alarm."""

    guid: str
    alarm: AlarmState
    """The alarm's own state, from its newest automatic log row that is not Cancelled:
    CREATE/UPDATE/REOPEN active; a RESOLVE held ([lifecycle] resolve_hold_seconds) resolve_hold,
    else cleared; no such row unknown (driver.model.alarm_state)."""
    hold_until: datetime | None = None
    """While alarm is resolve_hold: when the hold ends and the RESOLVE goes out."""
    ticket: CurrentTicket | None = None
    """None while the GUID has no ticket record (no CREATE sent yet)."""
    tickets: list[PastTicket] = []
    """Every ticket the GUID has had, oldest first."""
    open_rows: int = 0
    """The GUID's log rows still to send (Pending or Deferred)."""
    last_row: LastLogRow | None = None
    """None when the GUID has no log row left (retention removed them)."""
