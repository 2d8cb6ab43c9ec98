"""How the driver proves who it is to Jira: basic (user and password or API token), bearer (a
personal access token or a scoped token), a header value, or an OAuth 2.0 access token, as httpx
auth flows whose reprs mask the secret like httpx's own `[secure]` (docs/wire-facts.md §9, §14).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass

import httpx

from driver.config_jira import AuthChoice, JiraSection
from driver.contract.schemas import AuthMode
from driver.jira.oauth import Monotonic, TokenSource

SECURE = "[secure]"


class StaticAuth(httpx.Auth):
    """An Authorization header that never changes: driver.jira.exchange sets it without running
    the auth flow."""

    header: str

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request


class BasicAuth(StaticAuth):
    """Basic user:password (Server/DC) or e-mail:API token (Cloud)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={SECURE!r})"


class BearerAuth(StaticAuth):
    """A Data Center personal access token."""

    def __init__(self, token: str) -> None:
        self.header = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"BearerAuth(token={SECURE!r})"


class HeaderAuth(StaticAuth):
    """The connector's Authorization Key: the whole header value, sent as is."""

    def __init__(self, value: str) -> None:
        self.header = value

    def __repr__(self) -> str:
        return f"HeaderAuth(value={SECURE!r})"


class TokenAuth(httpx.Auth):
    """An OAuth 2.0 access token as `Authorization: Bearer`, renewed before it expires.

    A 401, or (through the gateway, which may say so for an expired token) a 403 or 404 while the
    token is old, renews the token once and sends the request again; the second answer is the
    answer. Safe for any method: those answers mean the request was not applied.
    """

    requires_response_body = True

    def __init__(self, source: TokenSource, via_gateway: bool, clock: Monotonic) -> None:
        self.source = source
        self.via_gateway = via_gateway
        self.clock = clock

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.source.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        status = response.status_code
        expired = status == 401 or (self.via_gateway and status in (403, 404) and token.old(self.clock()))
        if expired:
            token = await self.source.renew(token)
            request.headers["Authorization"] = f"Bearer {token.value}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("TokenAuth renews tokens asynchronously: use httpx.AsyncClient")

    def __repr__(self) -> str:
        return f"TokenAuth(source={type(self.source).__name__}, token={SECURE!r})"


@dataclass(frozen=True)
class Credentials:
    """Which auth to use; the secret is never shown by repr."""

    mode: AuthMode
    username: str = ""
    secret: str = ""

    def __repr__(self) -> str:
        shown = SECURE if self.secret else ""
        return f"Credentials(mode={self.mode!r}, username={self.username!r}, secret={shown!r})"

    def auth(self) -> httpx.Auth | None:
        """The httpx auth flow for these credentials."""
        if self.mode == "basic":
            return BasicAuth(self.username, self.secret)
        if self.mode == "bearer":
            return BearerAuth(self.secret)
        if self.mode == "authorization_key":
            return HeaderAuth(self.secret)
        return None


def credentials_from_config(jira: JiraSection) -> Credentials:
    """The configured credentials: [jira] auth's mode; without one, an Authorization Key wins, then a
    bearer token, then Basic. OAuth modes carry the client id and the (trimmed) client secret."""
    mode = jira.auth
    if mode in (AuthChoice.OAUTH_CLIENT_CREDENTIALS, AuthChoice.OAUTH_3LO):
        return Credentials(mode.value, jira.client_id, jira.client_secret_trimmed()[0])  # type: ignore[arg-type]
    if mode == AuthChoice.AUTHORIZATION_KEY:
        return Credentials("authorization_key", "", jira.authorization_key.get_secret_value())
    if mode == AuthChoice.BEARER:
        return Credentials("bearer", "", jira.bearer_token.get_secret_value())
    if mode == AuthChoice.BASIC:
        return Credentials("basic", jira.username, jira.password.get_secret_value())
    if jira.authorization_key.get_secret_value():
        return Credentials("authorization_key", "", jira.authorization_key.get_secret_value())
    if jira.bearer_token.get_secret_value():
        return Credentials("bearer", "", jira.bearer_token.get_secret_value())
    if jira.username:
        return Credentials("basic", jira.username, jira.password.get_secret_value())
    return Credentials("none")
