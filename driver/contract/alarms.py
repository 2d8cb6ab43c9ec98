"""The bodies of GET /api/alarms: the Alarms table, one row per GUID the driver knows, newest
activity first (the connector's 3.0.0.x Alarms page). Pure pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driver.contract.schemas import MAX_GUID_LENGTH, MAX_PAGE, Body, LogId, LogStatus
from driver.contract.tickets import AlarmState

MAX_ALARM_TEXT = 200


class AlarmEntry(Body):
    """One alarm: what its automation last said, its ticket as the driver knows it, its log rows."""

    guid: str
    state: AlarmState
    """active, cleared, resolve_hold (a RESOLVE waiting in its hold: `hold_until`) or unknown."""
    hold_until: datetime | None = None
    summary: str | None = None
    """The summary its last CREATE or UPDATE set."""
    ticket_key: str | None = None
    ticket_url: str | None = None
    generation: int | None = None
    """Which of the GUID's tickets it is (1: its first); None: no ticket yet."""
    jira_status: str | None = None
    status_category: str | None = None
    """Jira's status category key: new, indeterminate or done (as last known)."""
    resolution: str | None = None
    assignee: str | None = None
    """As sync last saw it (None without sync)."""
    deleted: bool = False
    last_action: str
    last_at: datetime
    """When its last command was accepted."""
    last_log_id: int
    last_status: LogStatus | None = None
    """That row's status (None: retention removed it)."""
    last_jira_write: datetime | None = None
    """When its last row that reached Jira settled Ok."""
    updates_sent: int = 0
    updates_merged: int = 0
    """UPDATE rows sent inside another row's request (the update limit merged them)."""
    updates_waiting: int = 0
    """UPDATE rows Pending or Deferred now."""
    failed_rows: int = 0
    created_at: datetime | None = None
    """When its ticket was created."""
    resolved_at: datetime | None = None
    first_seen: datetime
    """When the driver first accepted a command of the GUID."""


class AlarmQuery(BaseModel):
    """The filters of GET /api/alarms (query parameters); an unknown one is refused (400)."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    state: AlarmState | None = None
    category: Literal["new", "indeterminate", "done"] | None = None
    """The ticket's Jira status category."""
    q: str | None = Field(default=None, max_length=MAX_ALARM_TEXT)
    """Text found in the GUID, the ticket key or the summary (as typed: % and _ are plain)."""
    before: LogId | None = None
    """The cursor: `next_before` of the previous page."""
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


class AlarmPage(Body):
    rows: list[AlarmEntry]
    total: int
    """Alarms matching the filter."""
    next_before: int | None = None
    """Pass as `before` for the next (older) page; None on the last page."""


class AlarmActionBody(BaseModel):
    """The body of POST /api/alarms/{resolve,retry,unlink}: the GUID, exactly as in its commands."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    guid: str = Field(min_length=1, max_length=MAX_GUID_LENGTH)


class AlarmUnlinked(Body):
    """POST /api/alarms/unlink: the ticket the GUID no longer updates."""

    guid: str
    ticket_key: str | None
    generation: int
    """The GUID's next CREATE makes generation + 1."""


class AlarmLinkBody(BaseModel):
    """The body of POST /api/alarms/link: the GUID and the ticket (its key, or its numeric id)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    guid: str = Field(min_length=1, max_length=MAX_GUID_LENGTH)
    key: str = Field(pattern=r"^(?:[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}|[1-9][0-9]{0,17})$")


class AlarmLinked(Body):
    """POST /api/alarms/link: the ticket the GUID's commands now update."""

    guid: str
    ticket_key: str
    ticket_url: str
    generation: int
