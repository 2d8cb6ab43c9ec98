"""Intake: Advanced commands (POST /api/advanced), their dry run (POST /api/parse), Execute.

Work enters only through driver.intake (accept_lines / accept_manual): a batch is committed whole
before the 202, or refused whole (400 for a bad line, 503 with Retry-After when the database
cannot take the commit: nothing is queued either way).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from driver.api.deps import Context, EngineDep, SettingsDep, StoreDep, require_accepting, watch_database
from driver.api.errors import BadRequest, TooLarge, documented
from driver.dry_run import build_dry_run
from driver.errors import CommandError, ShapeError
from driver.intake import Line, accept_manual, check_lines, commit, split_lines
from driver.schemas import (
    MAX_WAIT_SECONDS,
    AcceptedCommand,
    AdvancedAccepted,
    AdvancedRequest,
    CommandProblem,
    DryRun,
    LogEntry,
    ParseRequest,
)

router = APIRouter(tags=["intake"])

_ADVANCED_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string", "description": "one Advanced command per line"}},
            "application/json": {"schema": AdvancedRequest.model_json_schema()},
        },
    }
}


THREAD_BATCH = 200
"""Batches of more lines than this are checked on a worker thread, so other routes stay responsive."""


async def _body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes (TooLarge past it)."""

    def too_large() -> TooLarge:
        return TooLarge(
            f"the body is larger than [driver] max_request_bytes = {limit} bytes:"
            " send fewer commands per request"
        )

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def _lines(request: Request, max_bytes: int, max_lines: int) -> list[Line]:
    """The command lines of the body: text/plain split on line feeds, or AdvancedRequest JSON."""
    raw = await _body(request, max_bytes)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = AdvancedRequest.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BadRequest(f"invalid request body: {first['msg']}", {"errors": str(exc)}) from None
        lines = [Line(n, text) for n, text in enumerate(body.commands, start=1)]
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the body is not UTF-8 text") from None
        lines = split_lines(text)
    if not lines:
        raise BadRequest("no commands: send one Advanced command per line")
    if len(lines) > max_lines:
        raise TooLarge(
            f"{len(lines)} commands in one request: at most [driver] max_batch_lines = {max_lines};"
            " nothing was queued"
        )
    return lines


@router.post(
    "/api/advanced",
    status_code=202,
    response_model=AdvancedAccepted,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
    openapi_extra=_ADVANCED_BODY,
    responses={413: documented("The body or the batch is over [driver] max_request_bytes / max_batch_lines")},
)
async def advanced(
    request: Request, ctx: Context, engine: EngineDep, store: StoreDep, settings: SettingsDep
) -> AdvancedAccepted:
    """Accept a batch of Advanced commands, all or nothing."""
    limits = ctx.config.driver
    lines = await _lines(request, limits.max_request_bytes, limits.max_batch_lines)
    if len(lines) > THREAD_BATCH:
        entries = await asyncio.to_thread(check_lines, lines, engine.ticket)
    else:
        entries = check_lines(lines, engine.ticket)
    jobs = commit(entries, store, engine.submit, settings.max_entries)
    return AdvancedAccepted(
        accepted=[AcceptedCommand(id=job.id, guid=job.guid, action=job.action) for job in jobs]
    )


@router.post("/api/parse", response_model=DryRun)
async def parse(body: ParseRequest, engine: EngineDep) -> DryRun:
    """What a command would send, without sending it."""
    ticket = engine.ticket
    try:
        return build_dry_run(body.command, ticket.table, ticket.catalog, ticket.settings).dry_run
    except CommandError as exc:
        problem = CommandProblem(line=1, position=exc.position, reason=exc.reason, command=body.command)
        raise BadRequest(str(exc), problem) from exc
    except ShapeError as exc:
        problem = CommandProblem(line=1, position=1, reason=str(exc), command=body.command)
        raise BadRequest(str(exc), problem) from exc


@router.post(
    "/api/execute",
    status_code=202,
    response_model=LogEntry,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
)
async def execute(
    engine: EngineDep,
    store: StoreDep,
    settings: SettingsDep,
    wait_seconds: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)] = 0,
) -> LogEntry:
    """A Manual create of the Create Query as it stands; waits up to wait_seconds for Jira."""
    job = accept_manual(engine.ticket, store, engine.submit, settings.max_entries)
    if wait_seconds > 0:
        await engine.wait_settled(job.id, wait_seconds)
    entry = store.log_entry(job.id)
    assert entry is not None  # committed above; retention never removes an open row
    return entry
