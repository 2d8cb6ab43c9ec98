"""What to send next for one GUID (pure): its head row, its ticket and the configuration in, a plan out.

`plan_next` looks at the oldest open row of a GUID and says one of:

    Send(work)     a request to make: a create, an update (deferred rows merged in), or a stamp
                   search (probe) when an earlier create's outcome is unknown
    Hold(until)    not yet: the update limit (the rows become Deferred), a per-issue 429, or the
                   field list that a command names a field of is not loaded yet
    Refuse(reason) the row cannot be sent at all (no ticket for an UPDATE, a command that no
                   longer parses with the current catalog): it is Failed with that reason

Commands are kept as typed (driver.jobs) and resolved here, when they are sent, with the field
catalog, the user style of the Jira that will receive them and the Ticket Creation Table as they
are now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from driver.commands import Action, ResolvedCommand, parse_command
from driver.errors import CommandError, ShapeError, UnknownFieldError
from driver.fields import FieldType
from driver.jobs import Job, TicketRecord
from driver.limiter import UpdateLimiter
from driver.schemas import LogStatus
from driver.ticket_config import TicketConfig
from driver.ticket_requests import merge_updates, plan_requests
from driver.ticket_table import Mode

CATALOG_RECHECK = timedelta(seconds=2)
"""How often a row waiting for Jira's field list (or flavour) looks again."""
WAITING_FOR_CATALOG = "waiting for Jira's field list: "
WAITING_FOR_FLAVOUR = (
    "waiting for Jira to answer: user fields are shaped for Cloud (accountId) or Data Center (name)"
)


class _NeedsFlavour(Exception):
    """The request holds user fields and Jira's flavour is not known yet."""


def _check_flavour(command: ResolvedCommand, config: TicketConfig, with_table: bool) -> None:
    if config.flavour_known:
        return
    users = {d.id for d in config.catalog if d.type == FieldType.USER}
    named = set(command.fields)
    if with_table:
        named |= {row.field for row in config.table.rows if row.mode == Mode.INCLUDED}
    if users & named:
        raise _NeedsFlavour


class WorkKind(StrEnum):
    """What one request of the engine does."""

    CREATE = "create"
    UPDATE = "update"
    PROBE = "probe"


@dataclass
class Work:
    """One unit of work for a worker: the rows it settles (the first is the head)."""

    kind: WorkKind
    jobs: list[Job]
    guid: str
    body: dict[str, Any] | None = None
    key: str = ""
    comments: list[dict[str, Any]] = field(default_factory=list)
    comment_refs: list[tuple[int, int]] = field(default_factory=list)
    """(log row, index of the comment in that row's command), one per comment: the journal's key."""
    notes: list[str] = field(default_factory=list)
    probe_for: Action = Action.CREATE
    automatic: bool = True

    @property
    def head(self) -> Job:
        """The row whose request this is."""
        return self.jobs[0]

    @property
    def logged_request(self) -> Any:
        """What the log row keeps as the request sent: the body, or for an update its edit and comments."""
        if self.kind == WorkKind.UPDATE:
            return {"edit": self.body, "comments": self.comments}
        return self.body


@dataclass(frozen=True)
class Send:
    """Make this request."""

    work: Work


@dataclass(frozen=True)
class Hold:
    """Wait until `until`; `defer` marks the GUID's automatic rows Deferred (the update limit)."""

    until: datetime
    defer: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Refuse:
    """Fail the head row with this reason, sending nothing."""

    reason: str


Plan = Send | Hold | Refuse


def resolve(job: Job, config: TicketConfig) -> ResolvedCommand:
    """The row's command with field ids and shaped values; CommandError if it no longer resolves."""
    payload = job.payload
    if payload.text is not None:
        settings = config.settings
        return parse_command(payload.text, config.catalog, settings.user_style, settings.text_format)
    if payload.command is not None:
        return payload.command.resolved()
    raise CommandError(1, "the stored command is missing")


def plan_next(
    queue: Sequence[Job],
    ticket: TicketRecord | None,
    in_doubt: bool,
    config: TicketConfig,
    limiter: UpdateLimiter,
    now: datetime,
) -> Plan:
    """The next step for the GUID whose open rows (oldest first) are `queue`."""
    head = queue[0]
    guid = head.guid
    if in_doubt:
        return Send(Work(WorkKind.PROBE, [head], guid, probe_for=head.action))
    try:
        if head.action == Action.CREATE:
            if ticket is not None and ticket.state == "created":
                return _plan_update(queue, ticket, config, limiter, now, duplicate=True)
            return _plan_create(head, config)
        if ticket is None or ticket.state != "created" or not ticket.ticket_key:
            if ticket is not None and ticket.state in ("creating", "in_doubt"):
                # The CREATE failed while its outcome was unknown: find out before giving up.
                return Send(Work(WorkKind.PROBE, [head], guid, probe_for=Action.UPDATE))
            return Refuse(f"no ticket for GUID {guid!r}: it was never created (or its CREATE failed)")
        return _plan_update(queue, ticket, config, limiter, now, duplicate=False)
    except _NeedsFlavour:
        return Hold(now + CATALOG_RECHECK, reason=WAITING_FOR_FLAVOUR)
    except UnknownFieldError as exc:
        if not config.catalog_loaded:
            return Hold(now + CATALOG_RECHECK, reason=WAITING_FOR_CATALOG + exc.reason)
        return Refuse(f"the command no longer resolves: position {exc.position}: {exc.reason}")
    except CommandError as exc:
        return Refuse(f"the command no longer resolves: position {exc.position}: {exc.reason}")
    except ShapeError as exc:
        return Refuse(f"the Ticket Creation Table is invalid: {exc}")


def _plan_create(head: Job, config: TicketConfig) -> Plan:
    payload = head.payload
    if payload.text is None and payload.create is not None:
        # A Manual execute (or a round-1 CREATE): its body was fixed when it was taken.
        return Send(
            Work(WorkKind.CREATE, [head], head.guid, body=dict(payload.create), notes=list(payload.notes))
        )
    command = resolve(head, config)
    _check_flavour(command, config, with_table=True)
    plan = plan_requests(command, config.table, config.settings, config.catalog)
    assert plan.main is not None
    return Send(Work(WorkKind.CREATE, [head], head.guid, body=plan.main.body, notes=list(plan.notes)))


def _plan_update(
    queue: Sequence[Job],
    ticket: TicketRecord,
    config: TicketConfig,
    limiter: UpdateLimiter,
    now: datetime,
    *,
    duplicate: bool,
) -> Plan:
    head = queue[0]
    key = ticket.ticket_key or ""
    if head.automatic:
        allowed = limiter.next_allowed(key, now)
        if allowed is not None:
            return Hold(allowed, defer=True)
    command = resolve(head, config)
    _check_flavour(command, config, with_table=False)
    notes: list[str] = []
    if duplicate:
        # The ticket's project and type are settled; a repeated CREATE only refreshes fields.
        fields = {k: v for k, v in command.fields.items() if k not in ("project", "issuetype")}
        command = ResolvedCommand(head.guid, Action.UPDATE, fields, ())
        notes.append(f"a ticket already exists for this GUID ({key}): updated it instead of creating")
    jobs = [head]
    refs = [(head.id, index) for index in range(len(command.comments))]
    if head.status == LogStatus.DEFERRED and head.automatic:
        # Everything queued behind a deferred update of this GUID goes out in one request.
        for job in list(queue)[1:]:
            if not job.automatic or job.action != Action.UPDATE:
                break
            try:
                later = resolve(job, config)
            except CommandError:
                break  # it fails on its own turn, with its own reason
            command = merge_updates(command, later)
            refs.extend((job.id, index) for index in range(len(later.comments)))
            jobs.append(job)
        if len(jobs) > 1:
            notes.append(f"merged {len(jobs)} deferred updates into one request")
    settings = config.settings
    if not head.automatic:
        # protected_fields guard people's edits against automation; a Manual execute is a person
        settings = replace(settings, protected_fields=())
    plan = plan_requests(command, config.table, settings, config.catalog).with_key(key)
    notes.extend(plan.notes)
    if len(refs) != len(plan.comments):
        refs = [(head.id, i) for i in range(len(plan.comments))]
    return Send(
        Work(
            WorkKind.UPDATE,
            jobs,
            head.guid,
            body=plan.main.body if plan.main else None,
            key=key,
            comments=[c.body for c in plan.comments],
            comment_refs=refs,
            notes=notes,
            automatic=head.automatic,
        )
    )
