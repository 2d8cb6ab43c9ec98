"""Response bodies built from the driver's state (pure reads, no changes)."""

from __future__ import annotations

from driver.app.driver import Driver
from driver.contract.schemas import (
    CreationTableState,
    FieldInfo,
    JiraSettings,
    LogEntry,
    LogPage,
    Settings,
    TicketRowBody,
)
from driver.errors import ShapeError
from driver.model.creation_table import render_query, table_to_query
from driver.model.fields import CUSTOM_TYPES
from driver.model.jobs import LogRow, LogRows
from driver.model.request_setup import RequestSetup


def creation_table_state(setup: RequestSetup) -> CreationTableState:
    """The Ticket Creation Table, its Create Query and the field catalog."""
    settings = setup.settings
    try:
        query = table_to_query(setup.table, settings.user_style, settings.text_format)
    except ShapeError:
        # A stored value that no longer shapes (e.g. the type changed): show the rows anyway.
        query = {"fields": {}}
    return CreationTableState(
        rows=[
            TicketRowBody(
                field=row.field, name=row.name, type=row.type.value, value=row.value, mode=row.mode.value
            )
            for row in setup.table.rows
        ],
        query=query,
        query_text=render_query(query),
        catalog=[FieldInfo(id=f.id, name=f.name, type=f.type.value, custom=f.custom) for f in setup.catalog],
        field_types=[t.value for t in CUSTOM_TYPES],
    )


def settings_view(driver: Driver) -> Settings:
    """The settings in force; the secret only as has_secret."""
    settings = driver.settings
    creds = settings.credentials
    return Settings(
        update=settings.update,
        log=settings.log,
        jira=JiraSettings(
            url=driver.config.jira.url,
            ticket_location=settings.ticket_location,
            auth_mode=creds.mode,
            username=creds.username,
            has_secret=bool(creds.secret),
            api_type=driver.config.jira.api_type.value,
        ),
    )


def log_entry(row: LogRow) -> LogEntry:
    """A log row as GET /api/log shows it."""
    return LogEntry.model_validate(row, from_attributes=True)


def log_page(page: LogRows) -> LogPage:
    """A page of the log as GET /api/log shows it."""
    return LogPage(
        rows=[log_entry(row) for row in page.rows], total=page.total, next_before_id=page.next_before_id
    )
