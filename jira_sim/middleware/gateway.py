"""Atlassian's API gateway in front of a Cloud site: `/ex/jira/{cloudId}/rest/...` is served as the
site's `/rest/...`, and the request is marked as having come through it (the auth layer accepts
OAuth access tokens and scoped API tokens only so). A cloud id that is not the site's gets the
gateway's 404 `{"code": 404, "message": "Not Found"}`. Source: docs/wire-facts.md §14.
"""

from __future__ import annotations

from jira_sim.middleware.exchange import ASGIApp, Receive, Scope, Send
from jira_sim.responses import json_response
from jira_sim.state import SimState

PREFIX = "/ex/jira/"
GATEWAY_KEY = "sim_gateway"
"""scope["state"][GATEWAY_KEY] is True for a request that came through the gateway."""


def via_gateway(scope: Scope) -> bool:
    """Whether this request came through the gateway."""
    return bool(scope.get("state", {}).get(GATEWAY_KEY))


class GatewayMiddleware:
    """Strips the gateway's prefix (outermost layer: the journal sees the site's path)."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        cloud_id, _, tail = path[len(PREFIX) :].partition("/")
        # the gateway fronts Jira's REST API only; another site's id (or a DC "site") is its 404
        if not self.state.cloud or cloud_id != self.state.settings.cloud_id or not tail.startswith("rest/"):
            await json_response({"code": 404, "message": "Not Found"}, 404)(scope, receive, send)
            return
        inner = dict(scope)
        inner["path"] = "/" + tail
        inner["raw_path"] = ("/" + tail).encode()
        inner.setdefault("state", {})[GATEWAY_KEY] = True
        await self.app(inner, receive, send)
