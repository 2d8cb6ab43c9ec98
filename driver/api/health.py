"""Health and status: liveness (open), what the driver, Jira and the database say, check, catalog."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from driver import __version__
from driver.api.deps import Context, EngineDep, StoreDep, watch_database
from driver.api.errors import UpstreamFailed, database_message, documented
from driver.api.views import ticket_state
from driver.app.metadata import refresh_catalog
from driver.contract.schemas import CheckResult, DriverStatus, Health, SyncStatus, TicketState
from driver.errors import JiraError
from driver.jira.client import check

open_router = APIRouter(tags=["health"])
router = APIRouter(tags=["health"])


@open_router.get("/api/health", response_model=Health)
async def health() -> Health:
    """Liveness; needs no token."""
    return Health(version=__version__)


@router.get("/api/status", response_model=DriverStatus)
async def status(ctx: Context, engine: EngineDep, store: StoreDep) -> DriverStatus:
    """The status line: Jira's state, the queue, pauses, the database, the engine and sync."""
    pending, deferred = store.counts()
    now = engine.timer()
    paused = engine.health.paused_all_until(now)
    outage = engine.health.outage_until if engine.health.outage_strikes else None
    problem = engine.db_problem or ctx.db_problem
    return DriverStatus(
        version=__version__,
        started_at=ctx.started_at,
        jira_state=engine.health.state,
        jira_message=engine.health.message,
        api_type=ctx.jira.api_type,
        queue_depth=pending + deferred,
        pending=pending,
        deferred=deferred,
        failed_today=store.failed_today(),
        paused_until=engine.wall_of(paused) if paused is not None else None,
        pause_reason=engine.health.pauses.reason if paused else "",
        near_limit=ctx.jira.near_limit,
        database="unavailable" if problem else "ok",
        database_message=database_message(problem) if problem else "",
        engine_running=engine.running,
        outage_attempts=engine.health.outage_strikes,
        outage_until=engine.wall_of(outage) if outage is not None else None,
        sync=ctx.sync.status() if ctx.sync is not None else SyncStatus(mode=ctx.config.sync.mode),
    )


@router.post("/api/check", response_model=CheckResult)
async def check_jira(ctx: Context, engine: EngineDep) -> CheckResult:
    """GET myself against Jira: a plain answer (an unreachable Jira is an answer too, not an error)."""
    result, _ = await check(ctx.jira)
    if result.ok:
        engine.mark_ok()
    return result


@router.post(
    "/api/catalog/refresh",
    response_model=TicketState,
    dependencies=[Depends(watch_database)],
    responses={502: documented("Jira failed the request for its field list")},
)
async def catalog_refresh(ctx: Context, engine: EngineDep, store: StoreDep) -> TicketState:
    """Reload Jira's field list into the catalog (and the store); 502 when Jira fails."""
    try:
        await refresh_catalog(ctx.jira, engine.setup, store, engine.health)
    except JiraError as exc:
        raise UpstreamFailed(f"cannot load Jira's field list: {exc}") from exc
    return ticket_state(engine.setup)
