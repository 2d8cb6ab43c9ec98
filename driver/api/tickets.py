"""A GUID's ticket and alarm, as the driver records them (read side): GET /api/tickets/{guid}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep
from driver.api.errors import NotFound, documented
from driver.contract.tickets import TicketView
from driver.model.commands import MAX_GUID_LENGTH
from driver.model.ticket_view import build_view

router = APIRouter(route_class=StrictJsonRoute, tags=["tickets"])

# `:path`: a GUID may hold `/` (12/345/6789). Clients send it percent-encoded (`/` as %2F, space
# as %20, `%` as %25); the server decodes the path before routing, so the route sees it as typed.
GuidParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_GUID_LENGTH,
        description=(
            "The GUID exactly as the driver keeps it (a command's spaces around its GUID are not"
            " part of it, and are not stripped here), percent-encoded"
        ),
    ),
]


@router.get(
    "/api/tickets/{guid:path}",
    response_model=TicketView,
    responses={404: documented("The driver has never seen this GUID, or forgot it: no log row, no ticket")},
)
async def ticket_view(driver: DriverDep, guid: GuidParam) -> TicketView:
    """The GUID's current ticket with its Jira state, its earlier tickets, its alarm's state and log rows."""
    store = driver.store
    view = build_view(
        guid,
        store.ticket(guid),
        store.ticket_history(guid),
        store.guid_rows(guid),
        driver.config.lifecycle.resolve_hold_seconds,
        store.clock(),
    )
    if view is None:
        if (kept := store.forgotten(guid)) is not None:
            ticket = f": its last ticket was {kept.ticket_key}" if kept.ticket_key else ""
            raise NotFound(
                f"GUID {guid!r} was forgotten on {kept.forgotten_on:%Y-%m-%d}, [ticket] forget_after_days"
                f" after its last command{ticket}; a CREATE makes a new ticket"
            )
        raise NotFound(f"the driver has never seen GUID {guid!r}: no log row and no ticket")
    return view
