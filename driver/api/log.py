"""The create/update log and the daily statistics (read side, and the statistics reset)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from driver.api import views
from driver.api.bodies import StrictJsonRoute
from driver.api.deps import StoreDep, watch_database
from driver.api.errors import NotFound, documented
from driver.contract.schemas import INT64_MAX, LogEntry, LogPage, LogQuery, Statistics, StatsReset
from driver.store import LogFilter

router = APIRouter(route_class=StrictJsonRoute, tags=["log"])


@router.get("/api/log", response_model=LogPage)
async def log_page(store: StoreDep, query: Annotated[LogQuery, Query()]) -> LogPage:
    """Rows matching the filters, newest first, paged by before_id."""
    rows = store.log_page(
        LogFilter(
            status=query.status,
            type=query.type,
            guid=query.guid,
            q=query.q,
            since=query.since,
            until=query.until,
            before_id=query.before_id,
            limit=query.limit,
        )
    )
    return views.log_page(rows)


@router.get("/api/log/{log_id}", response_model=LogEntry, responses={404: documented("No such log row")})
async def log_entry(store: StoreDep, log_id: Annotated[int, Path(ge=1, le=INT64_MAX)]) -> LogEntry:
    """One row with the request sent and Jira's answer."""
    row = store.log_entry(log_id)
    if row is None:
        raise NotFound(f"no log row {log_id}")
    return views.log_entry(row)


@router.get("/api/stats", response_model=Statistics)
async def stats(store: StoreDep) -> Statistics:
    """Created, updated and total: today, yesterday, in all."""
    return store.statistics()


@router.post("/api/stats/reset", response_model=Statistics, dependencies=[Depends(watch_database)])
async def stats_reset(store: StoreDep, body: StatsReset) -> Statistics:
    """Reset counters; the statistics after it."""
    return store.reset_statistics(body)
