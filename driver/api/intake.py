"""Intake: Advanced commands (POST /api/advanced), their dry run (POST /api/parse), Execute.

Work enters only through driver.intake (accept_lines / accept_manual): a batch is committed whole
before the 202, or refused whole (400 for a bad line, 503 with Retry-After when the database
cannot take the commit: nothing is queued either way).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from driver.api.deps import EngineDep, SettingsDep, StoreDep, require_accepting, watch_database
from driver.api.errors import BadRequest
from driver.dry_run import build_dry_run
from driver.errors import CommandError, ShapeError
from driver.intake import Line, accept_lines, accept_manual, split_lines
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


async def _lines(request: Request) -> list[Line]:
    """The command lines of the body: text/plain split on line feeds, or AdvancedRequest JSON."""
    raw = await request.body()
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
    return lines


@router.post(
    "/api/advanced",
    status_code=202,
    response_model=AdvancedAccepted,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
    openapi_extra=_ADVANCED_BODY,
)
async def advanced(
    request: Request, engine: EngineDep, store: StoreDep, settings: SettingsDep
) -> AdvancedAccepted:
    """Accept a batch of Advanced commands, all or nothing."""
    lines = await _lines(request)
    jobs = accept_lines(lines, engine.ticket, store, engine.submit, settings.max_entries)
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
