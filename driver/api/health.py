"""Health and status: liveness (open), what the driver, Jira and the database say, check, catalog."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from driver import __version__
from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, require_leader, watch_database
from driver.api.errors import UpstreamFailed, documented
from driver.api.views import creation_table_state
from driver.contract.schemas import CheckResult, CreationTableState, DriverStatus, Health
from driver.errors import JiraError

open_router = APIRouter(route_class=StrictJsonRoute, tags=["health"])
router = APIRouter(route_class=StrictJsonRoute, tags=["health"])


@open_router.get("/api/health", response_model=Health)
async def health() -> Health:
    """Liveness; needs no token."""
    return Health(version=__version__)


@router.get("/api/status", response_model=DriverStatus)
async def status(driver: DriverDep) -> DriverStatus:
    """The status line: Jira's state, the queue, pauses, the database, the engine and sync."""
    return driver.status()


@router.post(
    "/api/check",
    response_model=CheckResult,
    dependencies=[Depends(require_leader)],
    responses={503: documented("This node is a pair's standby: the leader talks to Jira")},
)
async def check_jira(driver: DriverDep) -> CheckResult:
    """GET myself against Jira: a plain answer (an unreachable Jira is an answer too, not an error)."""
    return await driver.check_jira()


@router.post(
    "/api/catalog/refresh",
    response_model=CreationTableState,
    dependencies=[Depends(watch_database), Depends(require_leader)],
    responses={
        502: documented("Jira failed the request for its field list"),
        503: documented("This node is a pair's standby: the leader talks to Jira"),
    },
)
async def catalog_refresh(driver: DriverDep) -> CreationTableState:
    """Reload Jira's field list into the catalog (and the store); 502 when Jira fails."""
    try:
        await driver.refresh_catalog()
    except JiraError as exc:
        raise UpstreamFailed(f"cannot load Jira's field list: {exc}") from exc
    return creation_table_state(driver.setup)
