"""The Alarms table: one row per GUID the driver knows, newest activity first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from driver.api.deps import DriverDep
from driver.contract.alarms import AlarmEntry, AlarmPage, AlarmQuery
from driver.model.alarms import AlarmFilter, AlarmRecord

router = APIRouter(tags=["alarms"])


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
