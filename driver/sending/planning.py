"""What to send next for one GUID (pure): its head row, its ticket and the request setup in, a plan out.

`plan_next` looks at the oldest open row of a GUID and says one of:

    Send(work)     a request to make: a create, an update (deferred rows merged in), a CALL's
                   endpoint request (driver.sending.call_plan), a transition
                   (RESOLVE, REOPEN, or the reopen before a CREATE's update), or a stamp search
                   (probe) when an earlier create's outcome is unknown
    Hold(until)    not yet: the update limit (the rows become Deferred), a RESOLVE in its resolve
                   hold, or the field list that a command names a field of is not loaded yet (a
                   per-issue 429 holds the GUID before planning: Engine._prepare)
    Refuse(reason) the row cannot be sent at all (no ticket for an UPDATE, a ticket deleted in
                   Jira, a command that no longer parses with the current catalog): it is Failed
    Cancel(reason) a RESOLVE its alarm took back within the resolve hold: Cancelled, nothing sent

What a CREATE or UPDATE does with a resolved or deleted ticket is driver.model.lifecycle's rule; some
courses take two requests (reopen, then update; a new ticket, then the UPDATE on it): the first is
a Work with `continues`, after which the head row is planned again.

Commands are kept as typed (driver.model.jobs) and resolved here, when they are sent, with the field
catalog, the user style of the Jira that will receive them and the Ticket Creation Table as they
are now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from driver.contract.schemas import LogStatus
from driver.errors import CommandError, ShapeError, UnknownFieldError
from driver.model.commands import Action, ResolvedCommand, parse, parse_command
from driver.model.creation_table import Mode
from driver.model.eligible_create import EligibleTake, create_values, missing_placeholder, take_body
from driver.model.fields import FieldType
from driver.model.jobs import DOUBTFUL, Job, TicketRecord, TicketState
from driver.model.lifecycle import CANCELS_RESOLVE, Course, course, hold_until
from driver.model.request_setup import RequestSetup
from driver.model.requests import make_safe, merge_updates, plan_requests
from driver.sending.call_plan import plan_call
from driver.sending.limiter import UpdateLimiter
from driver.sending.plans import Cancel, Hold, Plan, Refuse, Send, limit_hold, no_ticket
from driver.sending.work import Work, WorkKind

CATALOG_RECHECK = timedelta(seconds=2)
"""How often a row waiting for Jira's field list (or flavour) looks again."""
WAITING_FOR_CATALOG = "waiting for Jira's field list: "
WAITING_FOR_FLAVOUR = (
    "waiting for Jira to answer: user fields are shaped for Cloud (accountId) or Data Center (name)"
)


class _NeedsFlavour(Exception):
    """The request holds user fields and Jira's flavour is not known yet."""


def _check_flavour(command: ResolvedCommand, setup: RequestSetup, with_table: bool) -> None:
    if setup.flavour_known:
        return
    users = {d.id for d in setup.catalog if d.type == FieldType.USER}
    named = set(command.fields)
    if with_table:
        named |= {row.field for row in setup.table.rows if row.mode == Mode.INCLUDED}
    if users & named:
        raise _NeedsFlavour


def resolve(job: Job, setup: RequestSetup) -> ResolvedCommand:
    """The row's command with field ids and shaped values; CommandError if it no longer resolves."""
    payload = job.payload
    if payload.text is not None:
        settings = setup.settings
        return parse_command(payload.text, setup.catalog, settings.user_style, settings.text_format)
    if payload.command is not None:
        return payload.command.resolved()
    raise CommandError(1, "the stored command is missing")


def plan_next(
    queue: Sequence[Job],
    ticket: TicketRecord | None,
    in_doubt: bool,
    setup: RequestSetup,
    limiter: UpdateLimiter,
    now: datetime,
    known_generation: int = 0,
    *,
    wall: datetime | None = None,
) -> Plan:
    """The next step for the GUID whose open rows (oldest first) are `queue`.

    now: the instant on the monotonic timeline (driver.clock.Timer) that holds and the update limit
    are measured on; wall: the wall time now, for the reopen window counted from a resolve's stored
    time (None: `now`, for callers on one timeline). known_generation: the highest generation of a
    ticket the GUID has had (store.max_generation), needed only when `ticket` is None; a new ticket
    takes the next.
    """
    wall = now if wall is None else wall
    head = queue[0]
    guid = head.guid
    if in_doubt:
        generation = ticket.generation if ticket is not None else max(1, known_generation)
        return Send(Work(WorkKind.PROBE, [head], guid, probe_for=head.action, generation=generation))
    try:
        if head.action.transitions:
            return _plan_transition(queue, ticket, setup, limiter, now, known_generation)
        if head.action == Action.CALL:
            return plan_call(head, resolve(head, setup), ticket, setup, limiter, now, known_generation)
        if head.action == Action.CREATE:
            return _plan_create_command(queue, ticket, setup, limiter, now, wall, known_generation)
        if ticket is None or ticket.state != TicketState.CREATED or not ticket.ticket_key:
            if ticket is not None and ticket.state in DOUBTFUL:
                # The CREATE failed while its outcome was unknown: find out before giving up.
                return Send(
                    Work(WorkKind.PROBE, [head], guid, probe_for=Action.UPDATE, generation=ticket.generation)
                )
            return no_ticket(guid, known_generation)
        if ticket.deleted_at is not None:
            return Refuse(_deleted(ticket))
        # One step before a row's own request at most: a reopen that leaves the ticket resolved (a
        # reopen_target in a done category) must not loop.
        chosen = Course.UPDATE if head.steps_done else course(Action.UPDATE, ticket, setup.lifecycle, wall)
        if chosen == Course.REOPEN_THEN_UPDATE:
            return _plan_reopen_first(head, ticket, setup, limiter, now)
        if chosen == Course.NEW_TICKET:
            return _plan_create(
                head,
                setup,
                _new_generation(ticket, known_generation),
                table_only=True,
                notes=[
                    f"{ticket.ticket_key} was resolved in Jira by {_who(ticket)}: a new ticket for the GUID"
                ],
            )
        return _plan_update(queue, ticket, setup, limiter, now, duplicate=False)
    except _NeedsFlavour:
        return Hold(now + CATALOG_RECHECK, reason=WAITING_FOR_FLAVOUR)
    except UnknownFieldError as exc:
        if not setup.catalog_loaded:
            return Hold(now + CATALOG_RECHECK, reason=WAITING_FOR_CATALOG + exc.reason)
        return Refuse(f"the command no longer resolves: position {exc.position}: {exc.reason}")
    except CommandError as exc:
        return Refuse(f"the command no longer resolves: position {exc.position}: {exc.reason}")
    except ShapeError as exc:
        return Refuse(f"the Ticket Creation Table is invalid: {exc}")


def _accepted(job: Job) -> datetime:
    """When the row was accepted, on the timeline of `now` (the engine sets accepted_at)."""
    return job.accepted_at if job.accepted_at is not None else job.time


def _who(ticket: TicketRecord) -> str:
    return ticket.changed_by or "a person"


def _deleted(ticket: TicketRecord) -> str:
    return (
        f"the ticket {ticket.ticket_key} of GUID {ticket.guid!r} was deleted in Jira: forgotten;"
        " the GUID's next CREATE makes a new ticket"
    )


def _new_generation(ticket: TicketRecord | None, known_generation: int) -> int:
    """The generation of the ticket a create makes now."""
    if ticket is None:
        return known_generation + 1
    if ticket.state == TicketState.CREATED:
        return ticket.generation + 1
    return ticket.generation  # the same create again (refused before, or its search missed twice)


def _plan_create_command(
    queue: Sequence[Job],
    ticket: TicketRecord | None,
    setup: RequestSetup,
    limiter: UpdateLimiter,
    now: datetime,
    wall: datetime,
    known_generation: int,
) -> Plan:
    head = queue[0]
    if ticket is not None and ticket.state != TicketState.CREATED:
        return _plan_create(head, setup, ticket.generation, notes=head.earlier)
    if ticket is None or not ticket.live:
        chosen = Course.NEW_TICKET
    elif head.steps_done:
        chosen = Course.UPDATE
    else:
        chosen = course(Action.CREATE, ticket, setup.lifecycle, wall)
    if chosen == Course.UPDATE:
        assert ticket is not None
        return _plan_update(queue, ticket, setup, limiter, now, duplicate=True)
    if chosen == Course.REOPEN_THEN_UPDATE:
        assert ticket is not None
        return _plan_reopen_first(head, ticket, setup, limiter, now)
    notes: list[str] = list(head.earlier)
    # an earlier attempt's finding (the 404 to its update) already says why there is a new ticket
    why = None if head.earlier else _why_new_ticket(ticket)
    if why:
        notes.append(why)
    return _plan_create(head, setup, _new_generation(ticket, known_generation), notes=notes)


def _why_new_ticket(ticket: TicketRecord | None) -> str | None:
    """Why a CREATE makes a new ticket for a GUID that had one (None: its first)."""
    if ticket is None:
        return None
    if ticket.deleted_at is not None:
        return f"the GUID's earlier ticket {ticket.ticket_key} was deleted in Jira: a new ticket"
    if not ticket.resolved:
        return None
    if ticket.resolved_by_driver is False:
        return f"{ticket.ticket_key} was resolved in Jira by {_who(ticket)}: a new ticket for the GUID"
    return f"{ticket.ticket_key} was resolved longer ago than the reopen window: a new ticket for the GUID"


def _eligible_take(
    text: str, command: ResolvedCommand, setup: RequestSetup, generation: int
) -> EligibleTake | str:
    """The search a CREATE (typed as `text`, resolved as `command`) makes before creating, and the
    edit that takes a ticket it finds (stamped with `generation`); or why it cannot search (a
    placeholder the command gives no value for: it is never created blind)."""
    values = create_values(parse(text), setup.catalog)
    missing = missing_placeholder(setup.eligible, values)
    if missing is not None:
        return f"[eligible] jql needs {{{missing}}}: the CREATE gives no value for it"
    settings = setup.settings
    body, _ = make_safe(take_body(command, settings.guid_field, settings.guid_label_prefix, generation))
    return EligibleTake(setup.eligible.search_jql(values), body)


def _plan_create(
    head: Job,
    setup: RequestSetup,
    generation: int = 1,
    *,
    table_only: bool = False,
    notes: Sequence[str] = (),
) -> Plan:
    """A create: the head's own (a CREATE), or with `table_only` one from the Ticket Creation Table
    alone before the head (an UPDATE) is applied to it (`continues`)."""
    payload = head.payload
    if not table_only and payload.text is None and payload.create is not None:
        # A Manual execute (or a CREATE an older driver stored resolved): its body was fixed when
        # it was taken.
        return Send(
            Work(WorkKind.CREATE, [head], head.guid, body=dict(payload.create), notes=list(payload.notes))
        )
    if table_only:
        # An UPDATE's new ticket: the table's create with the update's own values (not the ones
        # it clears), so the ticket shows the alarm as it is now; the update then follows.
        update = resolve(head, setup)
        values = {k: v for k, v in update.fields.items() if v not in (None, "", [])}
        command = ResolvedCommand(head.guid, Action.CREATE, values)
    else:
        command = resolve(head, setup)
    _check_flavour(command, setup, with_table=True)
    plan = plan_requests(command, setup.table, setup.settings, setup.catalog, generation=generation)
    assert plan.main is not None
    take = None
    if not table_only and setup.eligible.enabled and payload.text is not None:
        found = _eligible_take(payload.text, command, setup, generation)
        if isinstance(found, str):
            return Refuse(found)
        take = found
    return Send(
        Work(
            WorkKind.CREATE,
            [head],
            head.guid,
            body=plan.main.body,
            notes=[*notes, *plan.notes],
            sets=plan.sets,
            generation=generation,
            continues=table_only,
            automatic=head.automatic,
            eligible=take,
        )
    )


def _plan_reopen_first(
    head: Job, ticket: TicketRecord, setup: RequestSetup, limiter: UpdateLimiter, now: datetime
) -> Plan:
    """Reopen the resolved ticket; the head row (a CREATE or UPDATE) then updates it."""
    key = ticket.ticket_key or ""
    held = limit_hold(head, key, limiter, now)
    if held is not None:
        return held
    lifecycle = setup.lifecycle
    by = "in Jira by " + _who(ticket) if ticket.resolved_by_driver is False else "by the driver"
    return Send(
        Work(
            WorkKind.TRANSITION,
            [head],
            head.guid,
            key=key,
            target=lifecycle.reopen_target,
            notes=[f"{key} had been resolved {by}"],
            automatic=head.automatic,
            generation=ticket.generation,
            continues=True,
        )
    )


def _plan_transition(
    queue: Sequence[Job],
    ticket: TicketRecord | None,
    setup: RequestSetup,
    limiter: UpdateLimiter,
    now: datetime,
    known_generation: int = 0,
) -> Plan:
    """A RESOLVE or REOPEN: its hold, its ticket, the update limit, then the transition."""
    head = queue[0]
    guid = head.guid
    lifecycle = setup.lifecycle
    if head.action == Action.RESOLVE and head.automatic:
        # A person's RESOLVE (the Alarms table's "resolve now") goes at once: the hold is for an
        # alarm that may come back, not for a decision already made.
        until = hold_until(_accepted(head), lifecycle)
        if until is not None:
            back = next((job for job in list(queue)[1:] if job.action in CANCELS_RESOLVE), None)
            # A RESOLVE journaled before a POST whose answer was lost may have been done: it is
            # settled (the ticket's status read), never taken back as if nothing had gone out.
            if back is not None and not head.transition_journaled:
                within = (
                    f" within its resolve hold ({lifecycle.resolve_hold.total_seconds():g} s)"
                    if _accepted(back) <= until
                    else ""
                )
                return Cancel(
                    f"cancelled: the alarm came back{within} before the RESOLVE went out:"
                    f" log #{back.id} {back.action.value}"
                )
            if now < until and not head.transition_journaled:
                return Hold(
                    until,
                    reason=(
                        f"resolve hold ({lifecycle.resolve_hold.total_seconds():g} s): goes when it ends"
                        " unless a CREATE, UPDATE or REOPEN of the GUID comes first"
                    ),
                )
    verb = head.action.value
    if ticket is None or not ticket.live:
        if ticket is not None and ticket.deleted_at is not None:
            return Refuse(_deleted(ticket))
        if ticket is not None and ticket.state in DOUBTFUL:
            return Send(
                Work(WorkKind.PROBE, [head], guid, probe_for=head.action, generation=ticket.generation)
            )
        return no_ticket(guid, known_generation, f" to {verb}")
    key = ticket.ticket_key or ""
    held = limit_hold(head, key, limiter, now)
    if held is not None:
        return held
    command = resolve(head, setup)
    _check_flavour(command, setup, with_table=False)
    as_update = ResolvedCommand(guid, Action.UPDATE, command.fields, command.comments)
    plan = plan_requests(
        as_update,
        setup.table,
        setup.settings,
        setup.catalog,
        generation=ticket.generation,
        before=ticket.driver_values,
    )
    fields = plan.main.body.get("fields", {}) if plan.main else {}
    updates = plan.main.body.get("update", {}) if plan.main else {}
    return Send(
        Work(
            WorkKind.TRANSITION,
            [head],
            guid,
            key=key,
            comments=[c.body for c in plan.comments],
            comment_refs=[(head.id, index) for index in range(len(plan.comments))],
            notes=list(plan.notes),
            automatic=head.automatic,
            generation=ticket.generation,
            target=lifecycle.target(head.action),
            fields=dict(fields) if isinstance(fields, dict) else {},
            updates=dict(updates) if isinstance(updates, dict) else {},
            sets=plan.sets,
            resolution=command.resolution,
            default_resolution=lifecycle.resolution if head.action == Action.RESOLVE else "",
        )
    )


def _plan_update(
    queue: Sequence[Job],
    ticket: TicketRecord,
    setup: RequestSetup,
    limiter: UpdateLimiter,
    now: datetime,
    *,
    duplicate: bool,
) -> Plan:
    head = queue[0]
    key = ticket.ticket_key or ""
    held = limit_hold(head, key, limiter, now)
    if held is not None and not head.steps_done:
        return held
    command = resolve(head, setup)
    _check_flavour(command, setup, with_table=False)
    notes: list[str] = list(head.steps_done)
    if duplicate:
        # The ticket's project and type are settled; a repeated CREATE only refreshes fields.
        fields = {k: v for k, v in command.fields.items() if k not in ("project", "issuetype")}
        command = ResolvedCommand(head.guid, Action.UPDATE, fields, ())
        if not head.steps_done:
            notes.append(f"a ticket already exists for this GUID ({key}): updated it instead of creating")
    jobs = [head]
    refs = [(head.id, index) for index in range(len(command.comments))]
    if head.status == LogStatus.DEFERRED and head.automatic:
        # Everything queued behind a deferred update of this GUID goes out in one request.
        for job in list(queue)[1:]:
            if not job.automatic or job.action != Action.UPDATE:
                break  # a CREATE, RESOLVE or REOPEN is never merged away: it goes on its own turn
            try:
                later = resolve(job, setup)
            except CommandError:
                break  # it fails on its own turn, with its own reason
            command = merge_updates(command, later)
            refs.extend((job.id, index) for index in range(len(later.comments)))
            jobs.append(job)
        if len(jobs) > 1:
            notes.append(f"merged {len(jobs)} deferred updates into one request")
    settings = setup.settings
    if not head.automatic:
        # protected_fields guard people's edits against automation; a Manual execute is a person
        settings = replace(settings, protected_fields=())
    plan = plan_requests(
        command,
        setup.table,
        settings,
        setup.catalog,
        generation=ticket.generation,
        before=ticket.driver_values,
    ).with_key(key)
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
            sets=plan.sets,
            automatic=head.automatic,
            generation=ticket.generation,
        )
    )
