"""OAuth 2.0 access tokens for Jira: the token endpoint's grants and the two token sources, client
credentials (a service account) and a person's consent (3LO, refresh tokens that rotate).

Wire facts: the repository's docs/wire-facts.md, sections 9, 13 and 14 (Cloud's token endpoint is
{auth_url}/oauth/token and takes no `scope` for client credentials; Data Center's is
{url}/rest/oauth2/latest/token with scope READ or WRITE, and its refresh repeats `redirect_uri`;
a refresh token is disabled by its use, and reusing it outside a 10-minute leeway kills the grant).
The request bodies and PKCE come from Authlib's RFC 6749/7636 helpers; the POST goes through an
httpx client set up like the Jira client's (same TLS, CA bundle, proxy and timeouts).

Failures map to the errors the engine already knows: a token endpoint that cannot be reached, or
answers 5xx or 429, is an outage (JiraNotReached/JiraUnavailable: everything waits, nothing fails);
one that refuses the client or the grant is a refusal of the credentials (SetupRefused: nothing is
sent until the configuration changes, or `jira-driver auth login` runs again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from driver.errors import JiraNotReached, JiraUnavailable, SetupRefused
from driver.model.consent import Grant, TokenAnswer

RENEW_AHEAD = 60.0
"""Seconds before its expiry a token is renewed (less for a token that lives under 10 minutes)."""
OLD_AFTER = 60.0
"""A token this old (or past half its life) that the gateway answers 403/404 may have expired
early: it is renewed once and the request sent again (wire facts §14)."""

Monotonic = Callable[[], float]


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it was minted, in seconds of the monotonic clock."""

    value: str = field(repr=False)
    minted: float
    lifetime: float

    def due(self, now: float) -> bool:
        """Whether it should be renewed before its next use."""
        return now >= self.minted + self.lifetime - min(RENEW_AHEAD, self.lifetime / 10)

    def old(self, now: float) -> bool:
        """Whether an unexpected refusal may be its expiry rather than an answer."""
        return now - self.minted >= min(OLD_AFTER, self.lifetime / 2)


class GrantKeeper(Protocol):
    """Where a consent is kept (driver.store.oauth_grant: a 0600 file replaced atomically)."""

    def read(self) -> Grant | None: ...

    def write(self, grant: Grant) -> None: ...


class TokenSource(Protocol):
    """Gives the access token to send, renewing it as needed (one renewal at a time)."""

    async def token(self) -> AccessToken: ...

    async def renew(self, stale: AccessToken | None) -> AccessToken: ...


CHECK_CLIENT = (
    "check [jira] client_id and client_secret (docs/auth.md says where each kind of app shows them)"
)


@dataclass(frozen=True)
class Advice:
    """What to do when the token endpoint refuses, by the error code it gives (RFC 6749 §5.2): the
    client refused (invalid_client, unauthorized_client, a bare 401) is always the client id and
    secret; invalid_scope is the scope; anything else (invalid_grant above all) is the grant's."""

    grant: str
    scope: str

    def said(self, error: str) -> str:
        """The advice for this error code ('HTTP <status>' when the endpoint gave none)."""
        if error in ("invalid_client", "unauthorized_client", "HTTP 401"):
            return CHECK_CLIENT
        if error == "invalid_scope":
            return self.scope
        return self.grant


@dataclass
class TokenEndpoint:
    """One OAuth 2.0 token endpoint and the client that asks it."""

    http: httpx.AsyncClient
    url: str
    client_id: str
    client_secret: str = field(repr=False)

    async def grant(self, grant_type: str, advice: Advice, **params: str) -> TokenAnswer:
        """POST one grant (form-encoded, the client's id and secret in the body) and read the answer.

        advice: what the operator should do when the endpoint refuses, by its error code (RFC 6749
        §5.2); it ends the error message. Raises JiraNotReached (no connection), JiraUnavailable (a
        timeout, 5xx, 429, or an answer that is not a token), SetupRefused (400/401/403: the client
        or the grant refused).
        """
        body = prepare_token_request(
            grant_type,
            client_id=self.client_id,
            client_secret=self.client_secret,
            **{k: v for k, v in params.items() if v},
        )
        try:
            response = await self.http.post(
                self.url,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            raise JiraNotReached(f"the OAuth token endpoint {self.url} cannot be reached ({exc})") from exc
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            raise JiraUnavailable(f"the OAuth token endpoint {self.url} did not answer ({kind})") from exc
        status = response.status_code
        data = _json_object(response)
        if status == 429 or status >= 500:
            raise JiraUnavailable(
                f"the OAuth token endpoint {self.url} answered {status}", _retry_after(response), status
            )
        if status >= 400:
            error = str(data.get("error", "")) or f"HTTP {status}"
            described = str(data.get("error_description", ""))[:200]
            said = f"{error}: {described}" if described else error
            raise SetupRefused(status, f"the OAuth token endpoint refused ({said}); {advice.said(error)}")
        token = data.get("access_token")
        if status >= 300 or not isinstance(token, str) or not token:
            raise JiraUnavailable(f"the OAuth token endpoint {self.url} answered {status} without a token")
        expires_in = data.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
        refresh = data.get("refresh_token")
        return TokenAnswer(
            token,
            lifetime,
            refresh if isinstance(refresh, str) else "",
            str(data.get("scope", "")),
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        # some servers answer token errors form-encoded (RFC 6749 predates JSON everywhere)
        data = dict(parse_qsl(response.text)) if "=" in response.text[:200] else {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class _Renewing:
    """Gives the current token, and renews it (one renewal at a time) when it is due or a request
    found it stale; `_mint` asks the token endpoint for the next one."""

    def __init__(self, endpoint: TokenEndpoint, clock: Monotonic) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.minted = 0
        """Tokens minted or refreshed so far (metrics and tests)."""
        self._current: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> AccessToken:
        current = self._current
        if current is not None and not current.due(self.clock()):
            return current
        return await self.renew(current)

    async def renew(self, stale: AccessToken | None) -> AccessToken:
        async with self._lock:
            current = self._current
            if current is not None and current is not stale and not current.due(self.clock()):
                return current  # another request renewed it meanwhile
            answer = await self._mint()
            self.minted += 1
            self._current = AccessToken(answer.access_token, self.clock(), answer.expires_in)
            return self._current

    async def _mint(self) -> TokenAnswer:
        raise NotImplementedError


class ClientCredentials(_Renewing):
    """A service account's tokens: minted from the client id and secret, again before each expires
    (there is no refresh token in this grant)."""

    def __init__(self, endpoint: TokenEndpoint, scope: str = "", clock: Monotonic = time.monotonic) -> None:
        super().__init__(endpoint, clock)
        self.scope = scope

    async def _mint(self) -> TokenAnswer:
        scope = (
            "set [jira] oauth_scope to a scope the app has on Data Center (WRITE or READ)"
            if self.scope
            else "add the Jira API scopes to the app's service account (docs/auth.md)"
        )
        return await self.endpoint.grant(
            "client_credentials",
            Advice(f"{CHECK_CLIENT}, and that the app may use client credentials", scope),
            scope=self.scope,
        )


LOGIN_AGAIN = "the consent is gone: run `jira-driver auth login` again"
NO_CONSENT = "no consent is stored for [jira] auth = oauth_3lo: run `jira-driver auth login`"
CONSENT_ADVICE = Advice(
    LOGIN_AGAIN, "check [jira] oauth_scope against the app's scopes, then run `jira-driver auth login` again"
)


class Consent(_Renewing):
    """A person's consent (3LO): access tokens from the kept refresh token, which rotates.

    The new pair is written to the keeper before the new access token is used, and one refresh runs
    at a time: the refresh token just sent is disabled, so losing its successor would lose the grant.
    A crash after the endpoint answered and before the write leaves the sent token on disk; the
    endpoint takes it again within its 10-minute reuse leeway (wire facts §14).
    """

    def __init__(
        self,
        endpoint: TokenEndpoint,
        keeper: GrantKeeper,
        redirect_uri: str = "",
        clock: Monotonic = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_answer: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(endpoint, clock)
        self.keeper = keeper
        self.redirect_uri = redirect_uri
        """Data Center's refresh repeats it (else a bare invalid_grant); empty on Cloud."""
        self.wall = wall
        self.after_answer = after_answer
        """Called between the endpoint's answer and the write (the crash tests' failpoint)."""

    async def token(self) -> AccessToken:
        if self._current is None:
            self._current = self._kept()
        return await super().token()

    def _kept(self) -> AccessToken | None:
        """The kept access token while it has life left (one process's check or login does not
        rotate the refresh token of the next). Its age comes from the wall clock, the only one two
        processes share; a wrong guess costs one refusal, which renews it."""
        grant = self.keeper.read()
        if grant is None:
            return None
        wall = self.wall()
        left = grant.access_left(wall)
        if left <= 2 * RENEW_AHEAD:
            return None
        age = max(0.0, (wall - grant.refreshed_at).total_seconds())
        return AccessToken(grant.access_token, self.clock() - age, age + left)

    async def _mint(self) -> TokenAnswer:
        grant = self.keeper.read()
        if grant is None:
            raise SetupRefused(401, NO_CONSENT)
        answer = await self.endpoint.grant(
            "refresh_token", CONSENT_ADVICE, refresh_token=grant.refresh_token, redirect_uri=self.redirect_uri
        )
        self.after_answer()
        self.keeper.write(grant.rotated(answer, self.wall()))
        return answer


@dataclass(frozen=True)
class OAuthSetup:
    """What [jira] says about OAuth, and where a consent is kept (3LO)."""

    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    """As configured; empty takes the default for the grant and the site (source)."""
    redirect_uri: str = ""
    keeper: GrantKeeper | None = None
    after_answer: Callable[[], None] = lambda: None

    def source(
        self, http: httpx.AsyncClient, token_url: str, cloud: bool, three_legged: bool, clock: Monotonic
    ) -> TokenSource:
        """The token source for this site's token endpoint."""
        endpoint = TokenEndpoint(http, token_url, self.client_id, self.client_secret)
        if not three_legged:
            # Cloud's service accounts take no scope (refused as invalid_scope); DC needs one
            return ClientCredentials(endpoint, "" if cloud else (self.scope or "WRITE"), clock)
        if self.keeper is None:
            raise SetupRefused(401, NO_CONSENT)
        return Consent(
            endpoint,
            self.keeper,
            "" if cloud else self.redirect_uri,
            clock,
            after_answer=self.after_answer,
        )
