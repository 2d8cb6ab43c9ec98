"""One GUID's ticket view (GET /api/tickets/{guid}, `jira-driver ticket`), built from what the store
holds (pure, no I/O): the ticket record, the GUID's ticket history and its log rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from driver.contract.tickets import CurrentTicket, LastLogRow, PastTicket, TicketView
from driver.model.alarm_state import GuidRows, alarm_state
from driver.model.jobs import HistoryEntry, TicketRecord

__all__ = ["build_view", "current_ticket"]


def current_ticket(record: TicketRecord) -> CurrentTicket:
    """The API's form of a GUID's ticket record."""
    return CurrentTicket(
        key=record.ticket_key,
        id=record.ticket_id,
        url=record.ticket_url,
        generation=record.generation,
        state=record.state,
        status=record.jira_status,
        status_category=record.status_category,
        resolution=record.resolution,
        assignee=record.assignee,
        changed_by=record.changed_by,
        changed_by_driver=record.changed_by_driver,
        resolved_at=record.resolved_at,
        resolved_by_driver=record.resolved_by_driver,
        deleted=record.deleted_at is not None,
        deleted_at=record.deleted_at,
        jira_updated=record.jira_updated,
        synced_at=record.synced_at,
        created_at=record.created_at,
    )


def build_view(
    guid: str,
    record: TicketRecord | None,
    history: Sequence[HistoryEntry],
    rows: GuidRows,
    hold_seconds: float,
    now: datetime,
) -> TicketView | None:
    """The GUID's view; None for a GUID the driver has never seen (no ticket, no history, no row).

    history is store.ticket_history (oldest first, kept in that order); hold_seconds is [lifecycle]
    resolve_hold_seconds; now an aware datetime (the store's clock).
    """
    if record is None and not history and rows.latest is None:
        return None
    alarm = alarm_state(rows.alarm, hold_seconds, now)
    latest = rows.latest
    return TicketView(
        guid=guid,
        alarm=alarm.state,
        hold_until=alarm.hold_until,
        ticket=None if record is None else current_ticket(record),
        tickets=[
            PastTicket(
                generation=h.generation,
                key=h.ticket_key,
                url=h.ticket_url,
                created_at=h.created_at,
                ended=h.ended,
                ended_at=h.ended_at,
            )
            for h in history
        ],
        open_rows=rows.open_rows,
        last_row=None
        if latest is None
        else LastLogRow(
            id=latest.id, action=latest.action, status=latest.status, time=latest.time, error=latest.error
        ),
    )
