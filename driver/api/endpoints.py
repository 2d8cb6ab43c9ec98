"""Custom API endpoints: the configured ones (GET /api/endpoints), and a person's call of one
(POST /api/endpoints/{name}: a Manual CALL row, sent as an Advanced CALL is)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, require_accepting, watch_database
from driver.api.errors import BadRequest, NotFound, documented
from driver.app.endpoint_calls import UnknownEndpoint, call_entry
from driver.app.intake import IntakeError
from driver.contract.endpoints import EndpointCall, EndpointInfo, EndpointList
from driver.contract.schemas import AcceptedCommand, AdvancedAccepted

router = APIRouter(route_class=StrictJsonRoute, tags=["endpoints"])


@router.get("/api/endpoints", response_model=EndpointList)
async def list_endpoints(driver: DriverDep) -> EndpointList:
    """Every `[endpoint.NAME]` section, by name."""
    endpoints = driver.setup.endpoints
    return EndpointList(
        endpoints=[
            EndpointInfo(
                name=endpoint.name,
                method=endpoint.method,
                path=endpoint.path,
                body=endpoint.body,
                expect=list(endpoint.expect),
                idempotent=endpoint.idempotent,
                variables=endpoint.variables,
                needs_ticket=endpoint.needs_ticket,
            )
            for _, endpoint in sorted(endpoints.items())
        ]
    )


@router.post(
    "/api/endpoints/{name}",
    status_code=202,
    response_model=AdvancedAccepted,
    responses={
        400: documented("A variable missing, unused or too long, or a bad GUID (the CALL's own reason)"),
        404: documented("No endpoint of that name is configured"),
    },
    dependencies=[Depends(require_accepting), Depends(watch_database)],
)
async def call_endpoint(driver: DriverDep, name: str, body: EndpointCall) -> AdvancedAccepted:
    """Call the endpoint for the GUID: a Manual CALL row, in the GUID's order, answered like any."""
    try:
        entry = call_entry(driver.setup, name, body.guid, body.variables)
    except UnknownEndpoint as exc:
        raise NotFound(str(exc)) from None
    except IntakeError as exc:
        # the reason alone: its position is in a command the caller never wrote
        raise BadRequest(exc.reason) from None
    (job,) = driver.accept([entry])
    return AdvancedAccepted(accepted=[AcceptedCommand(id=job.id, guid=job.guid, action=entry.shown_action)])
