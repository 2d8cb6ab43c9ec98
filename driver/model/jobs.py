"""Jobs: the log rows still to send, as the engine holds them (pure, no I/O).

A log row is created by intake (driver.app.intake) as a NewEntry, committed by the store, and comes
back as a Job while it is Pending or Deferred. Its payload is what intake kept of the command:

- an Advanced command keeps the command **as typed** (`text`): the request body is built when it
  is sent, with the field catalog, the Jira flavour and the Ticket Creation Table known then
  (a Jira that was down at start-up must not fix the shape of every command taken meanwhile);
- a Manual execute keeps the Create Query it sent (`create`), stamped with its own GUID.

Rows written by an older driver (before commands were kept as typed) hold the resolved command
(`command`) and, for a CREATE, the body built at intake (`create`); they load and are sent as they
were shaped then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.dataclasses import dataclass as pydantic_dataclass

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action, ResolvedCommand
from driver.model.shaping import JSON


class StoredCommand(BaseModel):
    """A resolved command as an older driver's log row holds it (field ids and shaped JSON values)."""

    model_config = ConfigDict(frozen=True)

    guid: str
    action: Action
    fields: dict[str, Any] = {}
    comments: tuple[str, ...] = ()

    @classmethod
    def of(cls, command: ResolvedCommand) -> StoredCommand:
        """The stored form of a resolved command."""
        return cls(guid=command.guid, action=command.action, fields=command.fields, comments=command.comments)

    def resolved(self) -> ResolvedCommand:
        """The resolved command again."""
        return ResolvedCommand(self.guid, self.action, dict(self.fields), tuple(self.comments))


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="ignore"))
class JobPayload:
    """What a log row keeps to be sent (the `payload` column, as JSON; `from_json` reads it).

    A pydantic dataclass, not a BaseModel: one is held for every open row (a model instance costs
    about 400 bytes more: 40 MB with 100,000 rows queued behind an outage).
    """

    text: str | None = None
    """The Advanced command as typed; parsed and shaped again when it is sent."""
    command: StoredCommand | None = None
    """Older drivers' rows only: the command resolved at intake."""
    create: dict[str, Any] | None = None
    """The create body: a Manual execute's stamped Create Query (or an older driver's CREATE's)."""
    notes: tuple[str, ...] = ()
    """What intake changed in the body (make_safe), for the log."""

    def to_json(self) -> dict[str, JSON]:
        """The JSON kept in the log row (unset parts left out)."""
        data: dict[str, JSON] = _PAYLOAD.dump_python(
            self, mode="json", exclude_none=True, exclude_defaults=True
        )
        return data

    @staticmethod
    def from_json(text: str | bytes) -> JobPayload:
        """A payload column read back; pydantic.ValidationError if it is not one."""
        return _PAYLOAD.validate_json(text)


_PAYLOAD: TypeAdapter[JobPayload] = TypeAdapter(JobPayload)


def command_to_json(command: ResolvedCommand) -> dict[str, Any]:
    """A resolved command as an older driver's payload stores it."""
    return StoredCommand.of(command).model_dump(mode="json")


def command_from_json(data: dict[str, Any]) -> ResolvedCommand:
    """The inverse of command_to_json."""
    return StoredCommand.model_validate(data).resolved()


@dataclass
class NewEntry:
    """A log row to create: one accepted command or one Manual execute."""

    type: LogType
    action: Action
    guid: str
    payload: JobPayload
    note: str = ""
    summary: str | None = None
    """The summary the command sets, for the Alarms table (None: it sets none)."""
    endpoint: str = ""
    """A CALL's endpoint: the log's Action column says `CALL NAME`."""
    retries: int | None = None
    """The Failed row this one sends again (an Alarms table retry): marked `retried as log #N` in
    the same transaction, so it is never retried twice."""

    @property
    def shown_action(self) -> str:
        """The Action column as the log shows it (the connector's `CALL NAME` for a call)."""
        return f"{self.action.value} {self.endpoint}" if self.endpoint else self.action.value


@dataclass(slots=True)
class Job:
    """An unsettled log row, as the engine needs it. Times are aware datetimes: `time` on the wall
    clock (when it was accepted, as the log shows it), `accepted_at` and `deferred_until` instants
    on the monotonic timeline (driver.clock.Timer).

    The fields after `payload` are the row's run-state in the engine's memory. They change only
    through the methods below, each named for what happened to the row, called by the sending
    stage that learnt it. When the row may go next is not here: the queues keep it
    (driver.sending.queues.GuidQueues.release).
    """

    id: int
    type: LogType
    action: Action
    guid: str
    time: datetime
    status: LogStatus
    attempts: int
    payload: JobPayload
    deferred_until: datetime | None = None
    """While Deferred: the instant the update limit lets it go (the log keeps its wall time)."""
    note: str = ""
    accepted_at: datetime | None = None
    """The instant it was accepted (the resolve hold runs from it); None until the engine takes it."""
    transition_journaled: bool = False
    """A transition of this row was journaled before its POST (store.transition_sends): it may have
    been done, so the row is never Cancelled, only settled."""
    giving_up: str = ""
    """Why a transition whose last allowed attempt's outcome is unknown is about to fail: its next
    attempt only reads the ticket (the attempt's marker) and fails with this unless it went through.
    Memory only: after a restart the row is retried in full."""
    earlier: tuple[str, ...] = ()
    """What earlier attempts of the row found that changed its course (its ticket deleted in Jira),
    for its log note. Memory only, like steps_done."""
    steps_done: tuple[str, ...] = ()
    """What steps before the row's own request did (a reopen, a new ticket), for its log note.
    Memory only: after a restart the step's effect is in the ticket record and the row plans anew."""
    searches_failed: int = 0
    """Stamp searches made for the row that Jira failed (a 5xx): they back off by it, and do not
    use up the row's own attempts. Memory only."""

    def taken(self, instant: datetime) -> None:
        """The engine holds the row from this instant (its resolve hold runs from it)."""
        self.accepted_at = instant

    def defer(self, until: datetime) -> None:
        """The update limit holds the row until `until`."""
        self.status = LogStatus.DEFERRED
        self.deferred_until = until

    def attempted(self, attempts: int) -> None:
        """An attempt failed and will be made again: the row has had `attempts` counted."""
        self.attempts = attempts

    def set_journaled(self, journaled: bool) -> None:
        """Its transition is journaled (it may have been done) or no longer (it was not)."""
        self.transition_journaled = journaled

    def give_up(self, reason: str) -> None:
        """Its last allowed transition attempt is in doubt: the next only reads the marker."""
        self.giving_up = reason

    def search_failed(self) -> None:
        """A stamp search made for the row failed and will be made again."""
        self.searches_failed += 1

    def course_changed(self, note: str) -> None:
        """An attempt found what changes the row's course (its ticket deleted in Jira)."""
        self.earlier = (*self.earlier, note)

    def step_done(self, note: str) -> None:
        """A step before the row's own request is done (a reopen, a new ticket)."""
        self.steps_done = (*self.steps_done, note)

    @property
    def automatic(self) -> bool:
        """An Advanced command (the update limit applies), not a person's Manual execute."""
        return self.type == LogType.AUTOMATIC


@dataclass(frozen=True)
class LogRow:
    """One row of the create/update log as the store keeps it (the API shows it as LogEntry)."""

    id: int
    type: LogType
    action: str
    """The command's action as written (a row may outlive the actions the grammar knows)."""
    guid: str
    time: datetime
    """When the request was accepted (wall clock)."""
    status: LogStatus
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    error: str
    attempts: int
    duration_ms: float | None
    note: str
    request: Any = None
    """With the detail only: the body sent, or for a row not sent yet what it will send."""
    response: Any = None
    """With the detail only: Jira's last answer."""


@dataclass(frozen=True)
class LogRows:
    """A page of the log, newest first: the rows, how many match the filters, where the next page
    starts (None: this is the last)."""

    rows: list[LogRow]
    total: int
    next_before_id: int | None


class RequestKind(StrEnum):
    """What a log row's request was (the `log.request_kind` column). The update limit counts the
    automatic UPDATE and TRANSITION requests that went out Ok (driver.store.log.recent_updates)."""

    CREATE = "create"
    UPDATE = "update"
    """An edit of the ticket and its comments (also a repeated CREATE that became one)."""
    TRANSITION = "transition"
    """A transition (and the edit sent just before it, of the fields its screen does not take)."""
    PROBE = "probe"
    """A search for the GUID's stamp."""
    CALL = "call"
    """A custom API endpoint's request (counted by the update limit like an update)."""
    PLANNED = "planned"
    """Nothing went out: what the row was to send (a transition whose way was not found)."""


@dataclass(frozen=True)
class LoggedRequest:
    """The request a log row keeps: its kind and the JSON body shown in the log."""

    kind: RequestKind
    body: Any


class TicketState(StrEnum):
    """Where the create of a GUID's ticket stands (the `tickets.state` column)."""

    CREATING = "creating"
    """The intent to create is journaled: the request may or may not have gone out."""
    IN_DOUBT = "in_doubt"
    """A create went out and its outcome is unknown: a stamp search settles it."""
    CREATED = "created"
    """Jira answered 201, or a search found the stamped ticket."""


DOUBTFUL = (TicketState.CREATING, TicketState.IN_DOUBT)
"""The states whose ticket may or may not exist in Jira."""


@dataclass
class TicketRecord:
    """What the driver knows about the ticket of one GUID."""

    guid: str
    state: TicketState
    ticket_id: str | None = None
    ticket_key: str | None = None
    ticket_url: str | None = None
    create_log_id: int | None = None
    probes: int = 0
    generation: int = 1
    """Which of the GUID's tickets this is (1 for the first); its stamp carries it."""
    project: str | None = None
    issuetype: str | None = None
    jira_status: str | None = None
    """The last status the driver knows of (its own transitions, sync, a read of the ticket)."""
    status_category: str | None = None
    """new, indeterminate or done."""
    resolution: str | None = None
    assignee: str | None = None
    changed_by: str | None = None
    """Who changed the ticket last, as sync saw it (a person's name, or the driver's account)."""
    changed_by_driver: bool | None = None
    resolved_at: datetime | None = None
    """When it entered a done status (None while it is not resolved)."""
    resolved_by_driver: bool | None = None
    """Whether the driver resolved it (False: a person did, in Jira)."""
    deleted_at: datetime | None = None
    """When the driver learnt it was deleted in Jira (sync, or a 404)."""
    jira_updated: datetime | None = None
    synced_at: datetime | None = None
    created_at: datetime | None = None
    driver_values: dict[str, list[JSON]] = field(default_factory=dict)
    """Per multi-value field (labels, components, ...), the values the driver set on the ticket last,
    the stamp left out: an UPDATE adds and removes only the difference (driver.model.multi_values).
    Empty for a ticket found by its stamp: nothing is removed from it until the driver sets values."""

    def moved_to(self, key: str, project: str = "") -> TicketRecord:
        """The record once Jira names the ticket `key` (a person moved it to another project: the
        same issue id, a new key). Key, browse link and project follow; the same record if nothing
        moved. Jira keeps answering to the old key, so nothing sent meanwhile was lost."""
        old = self.ticket_key or ""
        if not key or key == old:
            return self
        url = self.ticket_url
        if url and old and url.endswith(f"/browse/{old}"):
            url = url[: -len(old)] + key
        return replace(
            self, ticket_key=key, ticket_url=url, project=project or key.rpartition("-")[0] or None
        )

    @property
    def live(self) -> bool:
        """A ticket exists in Jira for the GUID as far as the driver knows."""
        return self.state == TicketState.CREATED and bool(self.ticket_key) and self.deleted_at is None

    @property
    def resolved(self) -> bool:
        """The live ticket is in a done status."""
        return self.live and self.status_category == "done"


@dataclass(frozen=True)
class HistoryEntry:
    """One ticket a GUID has had: its generation, key, when it was made, and how it ended."""

    guid: str
    generation: int
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    created_at: datetime | None
    ended_at: datetime | None
    ended: str | None
    """None while it is the GUID's ticket; 'superseded' (a new ticket was made), 'deleted'."""
