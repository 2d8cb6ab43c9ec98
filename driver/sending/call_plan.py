"""What a CALL row sends (pure): its endpoint filled for its GUID and ticket, or why it cannot go.

A CALL keeps its GUID's order and the update limit like an UPDATE. It needs the GUID's ticket only
when its endpoint names `{key}` or `{id}` (driver.model.endpoints). A call is not exactly-once:
an endpoint need not be idempotent, so a CALL journaled before its request (the engine does it for
an endpoint not marked idempotent) whose outcome was never heard is Failed with that reason, never
sent again (docs/endpoints.md).
"""

from __future__ import annotations

from datetime import datetime

from driver.model.commands import ResolvedCommand
from driver.model.endpoints import OUTCOME_UNKNOWN, EndpointError, check_variables
from driver.model.jobs import DOUBTFUL, Job, TicketRecord
from driver.model.request_setup import RequestSetup
from driver.sending.limiter import UpdateLimiter
from driver.sending.plans import Plan, Refuse, Send, limit_hold, no_ticket
from driver.sending.work import Work, WorkKind


def plan_call(
    head: Job,
    command: ResolvedCommand,
    ticket: TicketRecord | None,
    setup: RequestSetup,
    limiter: UpdateLimiter,
    now: datetime,
    known_generation: int = 0,
) -> Plan:
    """The call of the head row (a CALL, resolved): Send, a Hold of the update limit, or Refuse
    (`known_generation`: the highest generation the GUID had, for a refusal's words)."""
    name = command.endpoint
    endpoint = setup.endpoints.get(name)
    if endpoint is None:
        known = ", ".join(sorted(setup.endpoints)) or "none"
        return Refuse(f"endpoint {name!r} is not configured any more (known: {known})")
    _, problem = check_variables(endpoint, command.variables)
    if problem:
        return Refuse(problem)
    if head.transition_journaled and not endpoint.idempotent:
        return Refuse(OUTCOME_UNKNOWN.format(name=name, why="the driver stopped while it was on the wire"))
    guid = head.guid
    live = ticket is not None and ticket.live
    if endpoint.needs_ticket and not live:
        if ticket is not None and ticket.state in DOUBTFUL:
            # The CREATE's outcome is unknown: find its ticket first, as an UPDATE would.
            return Send(
                Work(WorkKind.PROBE, [head], guid, probe_for=head.action, generation=ticket.generation)
            )
        if ticket is not None and ticket.deleted_at is not None:
            return Refuse(
                f"the ticket {ticket.ticket_key} of GUID {guid!r} was deleted in Jira: CALL {name} has none"
            )
        return no_ticket(guid, known_generation, f" to CALL {name}")
    key, issue_id = "", ""
    if ticket is not None and live:
        key, issue_id = ticket.ticket_key or "", ticket.ticket_id or ""
    held = limit_hold(head, key or guid, limiter, now)
    if held is not None:
        return held
    values = {"guid": guid, "key": key, "id": issue_id}
    values.update(command.variables)
    try:
        filled = endpoint.fill(values)
    except EndpointError as exc:
        return Refuse(exc.reason)
    return Send(
        Work(
            WorkKind.CALL,
            [head],
            guid,
            key=key,
            call=filled,
            endpoint=endpoint,
            automatic=head.automatic,
            generation=ticket.generation if ticket is not None else 1,
        )
    )
