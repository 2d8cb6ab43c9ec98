"""How the driver proves who it is to Jira: basic (user and password or API token), bearer (a
personal access token), or a header value, as httpx auth flows whose reprs mask the secret
like httpx's own `[secure]` (docs/wire-facts.md, auth forms).
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from driver.config import JiraSection
from driver.contract.schemas import AuthMode

SECURE = "[secure]"


class BasicAuth(httpx.Auth):
    """Basic user:password (Server/DC) or e-mail:API token (Cloud)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={SECURE!r})"


class BearerAuth(httpx.Auth):
    """A Data Center personal access token."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth(token={SECURE!r})"


class HeaderAuth(httpx.Auth):
    """The connector's Authorization Key: the whole header value, sent as is."""

    def __init__(self, value: str) -> None:
        self._header = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth(value={SECURE!r})"


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
    """The configured credentials; an Authorization Key wins, then a bearer token, then Basic."""
    if jira.authorization_key.get_secret_value():
        return Credentials("authorization_key", "", jira.authorization_key.get_secret_value())
    if jira.bearer_token.get_secret_value():
        return Credentials("bearer", "", jira.bearer_token.get_secret_value())
    if jira.username:
        return Credentials("basic", jira.username, jira.password.get_secret_value())
    return Credentials("none")
