"""The API's errors: handlers raise them (or domain errors), one handler set turns them into answers.

    ApiError(status, message, details, headers)      every refusal the API makes on purpose
    ├── BadRequest          400  a body or parameter that is not valid
    ├── Unauthorized        401  missing or wrong API token (WWW-Authenticate: Bearer)
    ├── NotFound            404  no such log row, a GUID the driver has never seen
    ├── TooLarge            413  a body or batch over the configured limit
    ├── UnsupportedMediaType 415 a body in a media type the route does not take (driver.api.bodies)
    ├── UpstreamFailed      502  Jira failed the request this route makes
    └── Unavailable         503  shutting down, or the database cannot take the write (Retry-After)
        └── NotLeader       503  a pair's standby asked what only the leader does (Jira, the queue)

Domain errors are mapped here too, so handlers never build error bodies:
    IntakeError -> 400 CommandProblem, TableError -> 400, ShapeError -> 400 {field, value, expected},
    QueryError -> 400 QueryProblem, SettingsError -> 400, JiraError -> 502,
    sqlite3.OperationalError (locked, busy, disk full, I/O error) -> 503 with Retry-After,
    RequestValidationError -> 400 {errors: [{loc, msg}]}, Starlette's HTTPException (unparsable body,
    unknown route, method not allowed) -> its status, anything else -> 500 (logged, no details).
Every body is a driver.contract.schemas.ErrorBody.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from driver.app.intake import IntakeError, TableError
from driver.app.settings import SettingsError
from driver.contract.schemas import CommandProblem, ErrorBody, QueryProblem
from driver.errors import JiraError, QueryError, ShapeError, database_message

log = logging.getLogger("driver.api")

RETRY_AFTER_SECONDS = 1
"""What a 503 asks the client to wait: a locked database is usually free again within a second."""


class ApiError(Exception):
    """A refusal with its HTTP status, one line for people, optional details and headers."""

    status = 500

    def __init__(
        self,
        message: str,
        details: BaseModel | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message
        self.details = details
        self.headers = headers or {}
        super().__init__(message)


class BadRequest(ApiError):
    status = 400


class TooLarge(ApiError):
    """A body or batch over the configured limit (named in the message); nothing was read or queued."""

    status = 413


class Unauthorized(ApiError):
    status = 401

    def __init__(
        self, message: str = "missing or wrong API token: send Authorization: Bearer <api_token>"
    ) -> None:
        super().__init__(
            message,
            headers={"WWW-Authenticate": "Bearer"},
        )


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class UpstreamFailed(ApiError):
    status = 502


class Unavailable(ApiError):
    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class ShuttingDown(Unavailable):
    def __init__(self) -> None:
        super().__init__("the driver is shutting down and takes no new commands")


class NotLeader(Unavailable):
    """This node of a pair is the standby: what talks to Jira, or to the sending engine's memory,
    is the leader's to do (Retry-After: a takeover may make this node the leader)."""

    def __init__(self, leader: str) -> None:
        who = f"node {leader}" if leader else "the other node (none holds the lease now)"
        super().__init__(f"this node is the standby of a pair: {who} talks to Jira; ask it")


def documented(description: str, **headers: str) -> dict[str, Any]:
    """An error answer as a route's `responses` entry declares it in the OpenAPI schema."""
    answer: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return answer


def _answer(error: ApiError) -> JSONResponse:
    details = error.details.model_dump(mode="json") if isinstance(error.details, BaseModel) else error.details
    body = ErrorBody(error=error.message, details=details)
    return JSONResponse(status_code=error.status, content=body.model_dump(mode="json"), headers=error.headers)


def as_api_error(exc: Exception) -> ApiError | None:
    """The ApiError a domain error stands for; None for an error nobody meant (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, IntakeError):
        problem = CommandProblem(line=exc.line, position=exc.position, reason=exc.reason, command=exc.command)
        return BadRequest(str(exc), problem)
    if isinstance(exc, TableError):
        return BadRequest(str(exc))
    if isinstance(exc, ShapeError):
        return BadRequest(str(exc), {"field": exc.field, "value": exc.value, "expected": exc.expected})
    if isinstance(exc, QueryError):
        return BadRequest(str(exc), QueryProblem(line=exc.line, column=exc.column, reason=exc.reason))
    if isinstance(exc, SettingsError):
        return BadRequest(str(exc), exc.details)
    if isinstance(exc, JiraError):
        return UpstreamFailed(f"Jira: {exc}")
    if isinstance(exc, sqlite3.OperationalError):
        return Unavailable(database_message(exc))
    if isinstance(exc, HTTPException):
        # Starlette's own refusals (an unparsable body, an unknown route, a method not allowed)
        error = ApiError(str(exc.detail), headers=dict(exc.headers or {}))
        error.status = exc.status_code
        return error
    return None


def _validation_error(exc: RequestValidationError) -> BadRequest:
    problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": _problem(e)} for e in exc.errors()]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    return BadRequest(f"invalid request: {'.'.join(first['loc'])}: {first['msg']}", {"errors": problems})


def _problem(error: dict[str, Any]) -> str:
    """A validation error's message; for a body that is not JSON, with the parser's reason (where
    it stopped, or the member a JSON object names twice: driver.api.bodies)."""
    message = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")
    return f"{message}: {reason}" if error.get("type") == "json_invalid" and reason else message


def install(app: FastAPI) -> None:
    """Register the one set of exception handlers."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _answer(_validation_error(exc))

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        error = as_api_error(exc)
        if error is None:
            log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
            error = ApiError("internal error: see the driver's log")
        elif isinstance(exc, sqlite3.OperationalError):
            log.warning("%s %s answered 503: %s", request.method, request.url.path, error.message)
        return _answer(error)

    app.add_exception_handler(RequestValidationError, on_validation)
    for kind in (
        ApiError,
        HTTPException,
        IntakeError,
        TableError,
        ShapeError,
        QueryError,
        SettingsError,
        JiraError,
    ):
        app.add_exception_handler(kind, on_error)
    app.add_exception_handler(sqlite3.OperationalError, on_error)
    app.add_exception_handler(Exception, on_error)
