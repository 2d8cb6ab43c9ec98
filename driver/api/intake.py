"""Intake: Advanced commands (POST /api/advanced), their dry run (POST /api/parse), Execute.

Work enters only through driver.app.intake (check_lines, then Driver.accept): a batch is
committed whole before the 202, or refused whole (400 for a bad line, 503 with Retry-After when
the database cannot take the commit: nothing is queued either way).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import ValidationError

from driver.api import views
from driver.api.bodies import StrictJsonRoute, media_type, refuse_duplicate_members
from driver.api.deps import DriverDep, StoreDep, require_accepting, watch_database
from driver.api.errors import BadRequest, Conflict, TooLarge, documented
from driver.app.driver import Driver
from driver.app.intake import Line, check_lines, split_lines
from driver.contract.schemas import (
    MAX_WAIT_SECONDS,
    AcceptedCommand,
    AdvancedAccepted,
    AdvancedRequest,
    CommandProblem,
    DryRun,
    LogEntry,
    ParseRequest,
)
from driver.errors import CommandError, ShapeError
from driver.model.dry_run import build_dry_run
from driver.store import Store

router = APIRouter(route_class=StrictJsonRoute, tags=["intake"])

_ADVANCED_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string", "description": "one Advanced command per line"}},
            "application/json": {"schema": AdvancedRequest.model_json_schema()},
        },
    }
}


MAX_IDEMPOTENCY_KEY = 200
"""Characters an Idempotency-Key may have (printable ASCII, no spaces)."""
THREAD_BATCH = 1000
"""Batches of more lines than this are checked on a worker thread, so other routes stay responsive."""


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes (TooLarge past it)."""

    def too_large() -> TooLarge:
        return TooLarge(
            f"the body is larger than [driver] max_request_bytes = {limit} bytes:"
            " send fewer commands (or alerts) per request"
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


def _lines(raw: bytes, kind: str, max_lines: int) -> list[Line]:
    """The command lines of the body: text/plain split on line feeds, or AdvancedRequest JSON."""
    if kind == "application/json":
        try:
            body = AdvancedRequest.model_validate_json(raw)
        except ValidationError as exc:
            problems = [
                {"at": ".".join(str(part) for part in error["loc"]) or "body", "problem": error["msg"]}
                for error in exc.errors(include_url=False, include_input=False)[:20]
            ]
            first = problems[0]
            raise BadRequest(
                f"invalid request body at {first['at']}: {first['problem']}"
                ' (expected {"commands": ["GUID|ACTION|field;value|", ...]})',
                {"errors": problems},
            ) from None
        refuse_duplicate_members(raw, "invalid request body")
        lines = [Line(n, text) for n, text in enumerate(body.commands, start=1)]
    else:
        try:
            # a byte-order mark is how some Windows tools start a UTF-8 file, not part of a GUID
            text = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise BadRequest("the body is not UTF-8 text") from None
        breaks = text.count("\n")
        if breaks > 2 * max_lines:
            # counted before splitting: millions of blank lines must not hold the event loop
            raise TooLarge(
                f"{breaks + 1} lines in one request: at most [driver] max_batch_lines = {max_lines}"
                " commands (and twice as many lines, blank ones included); nothing was queued"
            )
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
    responses={
        409: documented("The Idempotency-Key was used with another body; nothing was queued"),
        413: documented("The body or the batch is over [driver] max_request_bytes / max_batch_lines"),
        415: documented("The body is neither text/plain nor application/json (UTF-8); nothing was queued"),
    },
)
async def advanced(
    request: Request,
    response: Response,
    driver: DriverDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_IDEMPOTENCY_KEY,
            pattern=r"^[\x21-\x7e]+$",
            description="Sent again with the same body, answers as the first time and queues nothing.",
        ),
    ] = None,
) -> AdvancedAccepted:
    """Accept a batch of Advanced commands, all or nothing.

    With an Idempotency-Key, a client that lost the answer can send the same batch again: the
    key is committed with the rows, and a repeat gets the first answer (header
    Idempotent-Replayed: true) without queuing anything; the key with another body is a 409.
    """
    try:
        accepted = await _advanced(request, response, driver, idempotency_key)
    except Exception as exc:
        driver.metrics.refusal(exc)
        raise
    if "Idempotent-Replayed" not in response.headers:  # a replay queued nothing
        driver.metrics.accepted.inc(len(accepted.accepted))
    return accepted


async def _advanced(
    request: Request, response: Response, driver: Driver, idempotency_key: str | None
) -> AdvancedAccepted:
    limits = driver.config.driver
    store = driver.store
    kind = media_type(request, ("text/plain", "application/json"))
    raw = await bounded_body(request, limits.max_request_bytes)
    digest = hashlib.sha256(request.headers.get("content-type", "").encode() + b"\0" + raw).hexdigest()
    if idempotency_key is not None and (first := _replay(store, idempotency_key, digest, response)):
        return first
    lines = _lines(raw, kind, limits.max_batch_lines)
    if len(lines) > THREAD_BATCH:
        entries = await asyncio.to_thread(check_lines, lines, driver.setup)
    else:
        entries = check_lines(lines, driver.setup)
    key = None if idempotency_key is None else (idempotency_key, digest)
    try:
        jobs = driver.accept(entries, key)
    except sqlite3.IntegrityError:
        # the same key committed by a request that overtook this one while its lines were checked
        assert idempotency_key is not None
        if first := _replay(store, idempotency_key, digest, response):
            return first
        raise
    return AdvancedAccepted(
        accepted=[
            # as the log shows it: `CALL NAME` for a call (one job per entry, in order)
            AcceptedCommand(id=job.id, guid=job.guid, action=entry.shown_action)
            for job, entry in zip(jobs, entries, strict=True)
        ]
    )


def _replay(store: Store, key: str, digest: str, response: Response) -> AdvancedAccepted | None:
    """The first answer to this key, if it was accepted before; Conflict if with another body."""
    seen = store.remembered(key)
    if seen is None:
        return None
    if seen.digest != digest:
        raise Conflict(
            "this Idempotency-Key was used with another body: use a new key for a new batch"
            " (nothing was queued)"
        )
    response.headers["Idempotent-Replayed"] = "true"
    return AdvancedAccepted(
        accepted=[AcceptedCommand(id=r.id, guid=r.guid, action=r.action) for r in seen.rows]
    )


@router.post("/api/parse", response_model=DryRun)
async def parse(body: ParseRequest, driver: DriverDep) -> DryRun:
    """What a command would send, without sending it."""
    setup = driver.setup
    try:
        return build_dry_run(
            body.command, setup.table, setup.catalog, setup.settings, setup.lifecycle, setup.endpoints
        ).dry_run
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
    driver: DriverDep,
    store: StoreDep,
    wait_seconds: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)] = 0,
) -> LogEntry:
    """A Manual create of the Create Query as it stands; waits up to wait_seconds for Jira."""
    job = driver.execute()
    if wait_seconds > 0:
        await driver.wait_settled(job.id, wait_seconds)
    row = store.log_entry(job.id)
    assert row is not None  # committed above; retention never removes an open row
    return views.log_entry(row)
