"""The Responses table: every answer the driver heard from Jira, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import StoreDep
from driver.contract.responses import ResponseEntry, ResponsePageBody, ResponseQuery
from driver.model.responses import ResponseFilter, ResponseKind, StoredResponse

router = APIRouter(route_class=StrictJsonRoute, tags=["responses"])


def entry(stored: StoredResponse) -> ResponseEntry:
    """A stored response as the API shows it."""
    r = stored.response
    return ResponseEntry(
        id=stored.id,
        at=r.at,
        kind=r.kind.value,
        method=r.method,
        path=r.path,
        status=r.status,
        duration_ms=r.duration_ms,
        retry_after=r.retry_after,
        rate_limit_reason=r.rate_limit_reason,
        request_id=r.request_id,
        body=r.body,
        error=r.error,
        log_id=r.log_id,
    )


@router.get("/api/responses", response_model=ResponsePageBody)
async def responses_page(store: StoreDep, query: Annotated[ResponseQuery, Query()]) -> ResponsePageBody:
    """Answers heard from Jira matching the filters, newest first, paged by before_id."""
    page = store.response_page(
        ResponseFilter(
            status=query.status,
            kind=ResponseKind(query.kind) if query.kind else None,
            log_id=query.log_id,
            before_id=query.before_id,
            limit=query.limit,
        )
    )
    return ResponsePageBody(
        rows=[entry(s) for s in page.rows], total=page.total, next_before_id=page.next_before_id
    )
