"""GET /metrics: the driver's Prometheus metrics (driver.app.metrics), in the text exposition format.

Protected by `[driver] api_token` like the rest of the API; `[metrics] public = true` lets a
scraper in without it (the metrics carry no secret, GUID or ticket key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, bearer, require_token
from driver.api.errors import documented

router = APIRouter(route_class=StrictJsonRoute)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: documented(
            "Missing or wrong API token ([metrics] public is false)", **{"WWW-Authenticate": "Bearer"}
        ),
    },
)
async def metrics(
    request: Request, driver: DriverDep, token: Annotated[object, Security(bearer)]
) -> Response:
    """The metrics, as Prometheus scrapes them."""
    if not driver.config.metrics.public:
        await require_token(request, driver, token)
    return Response(generate_latest(driver.metrics.registry), media_type=CONTENT_TYPE_LATEST)
