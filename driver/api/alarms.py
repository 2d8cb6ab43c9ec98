"""The Alarms table: one row per GUID the driver knows, newest activity first, and what an operator
does to one alarm (resolve now, retry its Failed rows, unlink its ticket)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, require_accepting, require_leader, watch_database
from driver.api.errors import Conflict, NotFound, Unavailable, UpstreamFailed, documented
from driver.app.alarm_actions import AlarmActionRefused, resolve_now, retry_failed, unlink
from driver.app.linking import link
from driver.contract.alarms import (
    AlarmActionBody,
    AlarmEntry,
    AlarmLinkBody,
    AlarmLinked,
    AlarmPage,
    AlarmQuery,
    AlarmUnlinked,
)
from driver.contract.schemas import AcceptedCommand, AdvancedAccepted
from driver.errors import JiraAuthError, JiraError, JiraRejected
from driver.model.alarms import AlarmFilter, AlarmRecord
from driver.model.jobs import Job

router = APIRouter(route_class=StrictJsonRoute, tags=["alarms"])


def entry(record: AlarmRecord) -> AlarmEntry:
    """An alarm as the API shows it."""
    ticket, counts = record.ticket, record.counts
    return AlarmEntry(
        guid=record.guid,
        state=record.alarm.state,
        hold_until=record.alarm.hold_until,
        summary=record.summary,
        ticket_key=ticket.ticket_key if ticket else None,
        ticket_url=ticket.ticket_url if ticket else None,
        generation=ticket.generation if ticket else None,
        jira_status=ticket.jira_status if ticket else None,
        status_category=ticket.status_category if ticket else None,
        resolution=ticket.resolution if ticket else None,
        assignee=ticket.assignee if ticket else None,
        deleted=bool(ticket and ticket.deleted_at),
        last_action=record.last_action,
        last_at=record.last_at,
        last_log_id=record.last_log_id,
        last_status=record.last_status,
        last_jira_write=counts.last_jira_write,
        updates_sent=counts.updates_sent,
        updates_merged=counts.updates_merged,
        updates_waiting=counts.updates_waiting,
        failed_rows=counts.failed,
        created_at=ticket.created_at if ticket else None,
        resolved_at=ticket.resolved_at if ticket else None,
        first_seen=record.first_at,
    )


@router.get("/api/alarms", response_model=AlarmPage)
async def alarms_page(driver: DriverDep, query: Annotated[AlarmQuery, Query()]) -> AlarmPage:
    """Alarms matching the filters, newest activity first, paged by `before`."""
    page = driver.store.alarm_page(
        AlarmFilter(
            state=query.state, category=query.category, text=query.q, before=query.before, limit=query.limit
        ),
        driver.config.lifecycle.resolve_hold_seconds,
        driver.clock(),
    )
    return AlarmPage(rows=[entry(r) for r in page.rows], total=page.total, next_before=page.next_before)


def _refused(exc: AlarmActionRefused) -> NotFound | Conflict:
    return NotFound(str(exc)) if exc.kind == "not_found" else Conflict(str(exc))


def _accepted(jobs: list[Job]) -> AdvancedAccepted:
    return AdvancedAccepted(
        accepted=[AcceptedCommand(id=job.id, guid=job.guid, action=job.action.value) for job in jobs]
    )


_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: documented("The GUID has no ticket (resolve, unlink) or no Failed rows (retry)"),
    409: documented("The GUID has rows Pending or Deferred (unlink)"),
}
_WRITES = [Depends(require_accepting), Depends(watch_database)]
_LEADER_WRITES = [*_WRITES, Depends(require_leader)]
"""Unlink reads the engine's queue and link stamps the ticket in Jira: a pair's leader's to do."""


@router.post(
    "/api/alarms/resolve",
    status_code=202,
    response_model=AdvancedAccepted,
    responses=_ACTION_ERRORS,
    dependencies=_WRITES,
)
async def resolve_alarm(driver: DriverDep, body: AlarmActionBody) -> AdvancedAccepted:
    """Resolve the GUID's ticket now: a Manual RESOLVE, sent as an Advanced one is, without the hold."""
    try:
        return _accepted([resolve_now(driver, body.guid)])
    except AlarmActionRefused as exc:
        raise _refused(exc) from None


@router.post(
    "/api/alarms/retry",
    status_code=202,
    response_model=AdvancedAccepted,
    responses=_ACTION_ERRORS,
    dependencies=_WRITES,
)
async def retry_alarm(driver: DriverDep, body: AlarmActionBody) -> AdvancedAccepted:
    """Accept the GUID's Failed rows again as new rows, each Failed row once (it stays Failed, its
    note saying `retried as log #M`); 404 when none is left to retry."""
    try:
        return _accepted(retry_failed(driver, body.guid))
    except AlarmActionRefused as exc:
        raise _refused(exc) from None


@router.post(
    "/api/alarms/unlink", response_model=AlarmUnlinked, responses=_ACTION_ERRORS, dependencies=_LEADER_WRITES
)
async def unlink_alarm(driver: DriverDep, body: AlarmActionBody) -> AlarmUnlinked:
    """End the GUID's link to its ticket: its next CREATE makes a new ticket."""
    try:
        record = unlink(driver, body.guid)
    except AlarmActionRefused as exc:
        raise _refused(exc) from None
    return AlarmUnlinked(guid=body.guid, ticket_key=record.ticket_key, generation=record.generation)


@router.post(
    "/api/alarms/link",
    response_model=AlarmLinked,
    responses={
        404: documented("Jira has no such ticket"),
        409: documented("The GUID has a ticket or open rows, or the ticket is another alarm's"),
        502: documented("Jira refused the stamp edit (its reason) or the credentials"),
        503: documented(
            "Jira did not answer (the stamp is searched for before the GUID's next command), or this"
            " node is a pair's standby"
        ),
    },
    dependencies=_LEADER_WRITES,
)
async def link_alarm(driver: DriverDep, body: AlarmLinkBody) -> AlarmLinked:
    """Make a ticket a person opened the GUID's ticket: the driver stamps it, then its commands
    update it (exactly once, as a create: driver.app.linking)."""
    try:
        record = await link(driver, body.guid, body.key)
    except AlarmActionRefused as exc:
        raise _refused(exc) from None
    except (JiraRejected, JiraAuthError) as exc:
        raise UpstreamFailed(f"Jira refused the link of {body.key}: {exc}") from None
    except JiraError as exc:
        raise Unavailable(str(exc)) from None
    return AlarmLinked(
        guid=body.guid,
        ticket_key=record.ticket_key or body.key,
        ticket_url=record.ticket_url or "",
        generation=record.generation,
    )
