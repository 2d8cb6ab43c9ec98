"""The ASGI layers in front of the /rest/ resources, outermost first: gateway, journal, faults, auth, rate
limits.

Each layer is its own module; they share one `Exchange` per request (see `exchange`). `wrap` stacks them
around the app's own (Starlette) middleware stack, so the journal sees uvicorn's raw `send` and can drop
a connection without an answer.
"""

from __future__ import annotations

from jira_sim.middleware.auth import AuthMiddleware
from jira_sim.middleware.exchange import ASGIApp
from jira_sim.middleware.faults import FaultsMiddleware
from jira_sim.middleware.gateway import GatewayMiddleware
from jira_sim.middleware.journal import JournalMiddleware
from jira_sim.middleware.rate_limits import RateLimitMiddleware
from jira_sim.state import SimState


def wrap(app: ASGIApp, state: SimState) -> ASGIApp:
    """`app` behind Atlassian's gateway prefix, the journal, then injected faults, then authentication,
    then Cloud's rate limits."""
    return GatewayMiddleware(
        JournalMiddleware(
            FaultsMiddleware(AuthMiddleware(RateLimitMiddleware(app, state), state), state), state
        ),
        state,
    )
