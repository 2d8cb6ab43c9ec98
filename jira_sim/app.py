"""The simulator's FastAPI app: Jira's REST resources and /_sim/ for tests, behind auth, faults and limits.

Layout: the routes are APIRouters by resource in `jira_sim.routes`, sharing the typed `SimState`
(`jira_sim.state`) as a dependency; the middleware layers are in `jira_sim.middleware`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from jira_sim import middleware
from jira_sim.clock import SYSTEM_CLOCK, Clock
from jira_sim.errors import JiraError
from jira_sim.responses import error_response, json_response
from jira_sim.routes import (
    act,
    admin,
    browse,
    comments,
    issues,
    metadata,
    oauth,
    project_setup,
    properties,
    search,
    transitions,
    watchers,
    webhooks,
)
from jira_sim.settings import SimSettings
from jira_sim.state import SimState

# Matched in this order: metadata first, since /issue/createmeta is not the issue with key "createmeta".
ROUTERS = (
    oauth.router,
    oauth.sim,
    project_setup.router,
    metadata.router,
    issues.router,
    comments.router,
    watchers.router,
    transitions.router,
    properties.router,
    search.router,
    browse.router,
    webhooks.rest,
    webhooks.sim,
    act.router,
    admin.router,
)


def create_app(settings: SimSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    """Build the simulator for one flavour; its state lives in `app.state.sim`.

    `clock` is where rate limits, search lag, Retry-After / X-RateLimit-Reset and every timestamp read
    the time: the real clock by default, a `ManualClock` for tests that advance time instead of sleeping.
    """
    state = SimState.start(settings, clock)
    app = FastAPI(title="jira-sim", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    @app.exception_handler(JiraError)
    async def jira_error(request: Request, exc: JiraError) -> Response:
        return json_response(exc.body(), exc.status, exc.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, [f"null for uri: {request.url}"])
        return error_response(exc.status_code, [str(exc.detail)])

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(400, ["The request is not valid."])

    for router in ROUTERS:
        app.include_router(router)

    # Starlette's own middleware stack sits inside; ours wraps it so it sees uvicorn's raw send.
    app.middleware_stack = middleware.wrap(app.build_middleware_stack(), state)
    return app
