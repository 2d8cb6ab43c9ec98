"""The driver's HTTP API (FastAPI): intake, the read side for the TUI and shell, settings, execute.

Routes and bodies are those of driver.contract.schemas (its docstring lists them), one APIRouter
per area:

    driver.api.intake     POST /api/advanced, /api/parse, /api/execute
    driver.api.log        GET /api/log, /api/log/{id}, /api/stats; POST /api/stats/reset
    driver.api.creation_table
                          the Ticket Creation Table and Create Query: GET /api/ticket;
                          PUT /api/ticket/rows, /api/ticket/query; POST /api/ticket/fields
    driver.api.tickets    GET /api/tickets/{guid} (a GUID's ticket, history and alarm; the GUID
                          percent-encoded, as it may hold `/`)
    driver.api.alarms     GET /api/alarms (one row per GUID the driver knows, newest activity first)
    driver.api.eligible   GET /api/eligible (Get Eligible Ticket: Jira's issues by filters or JQL, paged)
    driver.api.responses  GET /api/responses (every answer heard from Jira, newest first)
    driver.api.endpoints  GET /api/endpoints; POST /api/endpoints/{name} (a person's CALL)
    driver.api.settings   GET /api/settings; PUT /api/settings/{update,log,jira,auth}
    driver.api.health     GET /api/health (open), /api/status; POST /api/check, /api/catalog/refresh
    driver.api.webhook    POST /api/jira/webhook (open to Jira: its signature authenticates it)

Handlers take the driver's parts by `Depends` (driver.api.deps), change settings only through
driver.app.settings, and raise errors instead of returning error bodies: driver.api.errors
turns them into ErrorBody answers in one place. The OpenAPI schema at /openapi.json states the
same: 400 (not FastAPI's 422) for invalid input, and every error status a route may answer.

Every handler runs on the event loop thread, like the engine, so the store has one user and no
locks. When `[driver] api_token` is set every route but /api/health and /api/jira/webhook needs
`Authorization: Bearer <token>`, compared in constant time; the webhook is authenticated by its
X-Hub-Signature instead (Jira cannot send the token). Secrets never appear in any response.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from driver import __version__
from driver.api import (
    alarms,
    alerts,
    creation_table,
    eligible,
    endpoints,
    errors,
    health,
    intake,
    log,
    metrics,
    responses,
    settings,
    tickets,
    webhook,
)
from driver.api.deps import require_token
from driver.api.errors import documented
from driver.app.driver import Driver

__all__ = ["create_app", "openapi_document"]


_COMMON: dict[int | str, dict[str, Any]] = {
    400: documented("Invalid body or parameter (out of bounds included); nothing was applied"),
    401: documented("Missing or wrong API token", **{"WWW-Authenticate": "Bearer"}),
    503: documented(
        "Shutting down, or the database cannot take the write; nothing was queued or stored",
        **{"Retry-After": "seconds to wait before trying again"},
    ),
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the driver's error answers: 400 ErrorBody where FastAPI says 422."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            answers.pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def create_app(driver: Driver) -> FastAPI:
    """The FastAPI application serving one driver (driver.app.driver.build)."""
    app = _application()
    app.state.driver = driver
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document every driver serves at /openapi.json (no driver needed: the routes
    and their models are the same for all); docs/api.md is written from it (driver.api.reference)."""
    return _application().openapi()


def _application() -> FastAPI:
    # no /docs page: Swagger UI's scripts come from a CDN a closed network does not reach;
    # docs/api.md is the reference, /openapi.json the machine-readable one
    app = FastAPI(title="jira-driver", version=__version__, docs_url=None, redoc_url=None)
    errors.install(app)
    app.include_router(health.open_router)
    app.include_router(webhook.router)
    app.include_router(
        metrics.router, responses=_COMMON
    )  # token checked inside: [metrics] public may waive it
    guarded = APIRouter(dependencies=[Depends(require_token)], responses=_COMMON)
    for area in (
        health.router,
        intake.router,
        alerts.router,
        log.router,
        responses.router,
        alarms.router,
        endpoints.router,
        eligible.router,
        creation_table.router,
        tickets.router,
        settings.router,
    ):
        guarded.include_router(area)
    app.include_router(guarded)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
