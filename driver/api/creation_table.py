"""The Ticket Creation Table: its rows, its Create Query, Add Field (changed through RuntimeSettings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import SettingsDep, watch_database
from driver.api.views import creation_table_state
from driver.contract.schemas import AddField, CreationTableState, TicketQueryUpdate, TicketRowsUpdate

router = APIRouter(route_class=StrictJsonRoute, tags=["ticket"], dependencies=[Depends(watch_database)])


@router.get("/api/ticket", response_model=CreationTableState)
async def ticket(settings: SettingsDep) -> CreationTableState:
    """The table, its Create Query and the field catalog."""
    return creation_table_state(settings.setup)


@router.put("/api/ticket/rows", response_model=CreationTableState)
async def ticket_rows(settings: SettingsDep, body: TicketRowsUpdate) -> CreationTableState:
    """Replace the rows; every value is canonicalised, a bad one refuses the whole change."""
    settings.set_rows(body.rows)
    return creation_table_state(settings.setup)


@router.put("/api/ticket/query", response_model=CreationTableState)
async def ticket_query(settings: SettingsDep, body: TicketQueryUpdate) -> CreationTableState:
    """Replace the table by a Create Query typed as JSON."""
    settings.set_query(body.query_text)
    return creation_table_state(settings.setup)


@router.post("/api/ticket/fields", response_model=CreationTableState)
async def ticket_fields(settings: SettingsDep, body: AddField) -> CreationTableState:
    """Add Field (a custom field the catalog did not know joins it)."""
    settings.add_field(body)
    return creation_table_state(settings.setup)
