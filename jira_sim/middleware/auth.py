"""Authentication of /rest/ requests: Basic (name or email, password or API token) and, on DC, Bearer PATs.

An unauthenticated request gets Jira's 401 (docs/wire-facts.md §9); only serverInfo answers anonymously, and
only when no Authorization header was sent at all.
"""

from __future__ import annotations

import base64
import binascii

from jira_sim.data import RENDER_ZONE, User, now
from jira_sim.middleware.exchange import ASGIApp, Receive, Scope, Send, exchange_of
from jira_sim.middleware.gateway import via_gateway
from jira_sim.responses import error_response
from jira_sim.state import SimState

NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
_ANONYMOUS = frozenset({"serverInfo"})
_OAUTH_SERVER = "/rest/oauth2/"
"""Data Center's OAuth 2.0 endpoints: the client authenticates in the request body."""


class Expired(Exception):
    """An OAuth access token that has expired (the gateway may answer other than 401)."""


def bearer_user(state: SimState, token: str, gateway: bool) -> User | None:
    """The user of a bearer token: a Data Center PAT; an OAuth access token (on Cloud only through
    the gateway); a service account's scoped token (Cloud, gateway only). Raises Expired."""
    catalog = state.catalog
    if not state.cloud and token in catalog.user_by_token:
        return catalog.user_by_token[token]
    grant = state.oauth.access.get(token)
    if grant is not None and (gateway or not state.cloud):
        if grant.expires_at <= now(state.clock).timestamp():
            raise Expired
        return catalog.user_by_name.get(grant.user.lower())
    if state.cloud and gateway:
        return catalog.user_by_scoped_token.get(token)
    return None


def authenticate(state: SimState, header: bytes | None, gateway: bool = False) -> User | None:
    """The user of an Authorization header: Basic name-or-email:password-or-token, or a bearer token
    (bearer_user). Raises Expired."""
    if not header:
        return None
    scheme, _, credentials = header.decode("latin-1").partition(" ")
    catalog = state.catalog
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, secret = decoded.partition(":")
        if not sep or not secret:
            return None
        user = catalog.user_by_name.get(name.lower()) or catalog.user_by_email.get(name.lower())
        if user is None:
            return None
        return user if secret == user.password or secret in user.tokens else None
    if scheme.lower() == "bearer":
        return bearer_user(state, credentials.strip(), gateway)
    return None


def basic_user(authorization: bytes | None) -> str | None:
    """The user name of a Basic Authorization header (lower case), whatever its password."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, _ = decoded.partition(":")
    return name.lower() if sep and name else None


class AuthMiddleware:
    """Finds the request's user (routes read it as `request.state.sim_user`) or answers 401."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        if exchange is None or scope["path"].startswith(_OAUTH_SERVER):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        name = basic_user(authorization)
        if name is not None and self._locked(name):
            # DC's CAPTCHA lock: refused whatever the password, until someone logs in in a browser
            reason = f"CAPTCHA_CHALLENGE: the account {name!r} must log in in a browser"
            denied = error_response(403, [reason])
            denied.headers["X-Seraph-LoginReason"] = "AUTHENTICATION_DENIED"
            denied.headers["X-Authentication-Denied-Reason"] = "CAPTCHA_CHALLENGE; login-url=/login.jsp"
            await denied(scope, receive, send)
            return
        gateway = via_gateway(scope)
        try:
            user = authenticate(self.state, authorization, gateway)
        except Expired:
            status = self.state.limits.gateway_expired_status if gateway else 401
            await error_response(status, ["The access token expired."])(scope, receive, send)
            return
        if user is None and name is not None:
            self.state.failed_logins[name] = self.state.failed_logins.get(name, 0) + 1
        if user is None:
            anonymous = scope["path"].rsplit("/", 1)[-1] in _ANONYMOUS and b"authorization" not in headers
            if not anonymous:
                denied = error_response(401, [NOT_AUTHENTICATED])
                denied.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
                if self.state.settings.flavor == "datacenter" and b"authorization" in headers:
                    denied.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                await denied(scope, receive, send)
                return
        else:
            exchange.user = user.name
            scope["state"]["sim_user"] = user
        # timestamps in the answer are in the user's own zone, as Jira renders them
        zone = RENDER_ZONE.set(user.time_zone if user is not None else "UTC")
        try:
            await self.app(scope, receive, send)
        finally:
            RENDER_ZONE.reset(zone)

    def _locked(self, name: str) -> bool:
        limit = self.state.limits.captcha_after
        datacenter = self.state.settings.flavor == "datacenter"
        return datacenter and limit > 0 and self.state.failed_logins.get(name, 0) >= limit
