"""One request and its answer, sent straight to httpx's transport.

httpx.AsyncClient builds each request through layers the driver does not use (redirects, event
hooks, per-request cookies and headers merged afresh, an auth generator for a header that never
changes): about a fifth of the driver's CPU per ticket (issue 18's profile, py-spy at 200 Hz on
3,000 creates: `AsyncClient.request` 45% of the process against 30% in the transport it calls).
The Exchange sends the same request (the client's headers, cookies, timeouts and auth) by the
transport's public interface, `AsyncBaseTransport.handle_async_request`, and reads the whole body
as the client does.

The AsyncClient stays the one place those settings live: `Access.settle` points its base URL and
auth at the route it found (driver.jira.route), and cookies Jira sets are kept in its jar. Its
transport, one per proxy decision, is made here: `proxy_for` (driver.jira.http) decides which
proxy a URL goes through (the configured one, none for 'bypass', else the environment's), so the
proxy a failure message names is the proxy the request used.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from driver.jira.auth import StaticAuth
from driver.jira.http import proxy_for


class SettingsOnly(httpx.AsyncBaseTransport):
    """The transport of the client that only holds settings: a request sent through it is a bug."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("the Jira client's requests go through driver.jira.exchange.Exchange")


class Transports:
    """httpx transports by proxy URL ('' for none), made on first use and closed together."""

    def __init__(
        self,
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        proxy: str,
        trust_env: bool,
        given: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`proxy` is [jira] proxy ('' follows the environment, 'bypass' ignores it); `given`, a
        transport every URL uses (tests' mock transports)."""
        self._verify = verify
        self._limits = limits
        self._proxy = proxy
        self._trust_env = trust_env
        self._given = given
        self._made: dict[str, httpx.AsyncBaseTransport] = {}

    def for_url(self, url: str) -> httpx.AsyncBaseTransport:
        """The transport requests to `url` go through."""
        if self._given is not None:
            return self._given
        proxy = proxy_for(url, self._proxy)
        made = self._made.get(proxy)
        if made is None:
            made = httpx.AsyncHTTPTransport(
                verify=self._verify, limits=self._limits, trust_env=self._trust_env, proxy=proxy or None
            )
            self._made[proxy] = made
        return made

    async def aclose(self) -> None:
        """Close every transport made (and the given one)."""
        for transport in [*self._made.values(), *([self._given] if self._given else [])]:
            await transport.aclose()
        self._made.clear()


class Exchange:
    """Requests as `client.request(method, path, json=, params=)` makes them, for a client whose
    requests all go to paths under its base URL and follow no redirects.

    Raises what the transport raises (httpx.TransportError and its kinds); an answer of any status
    is returned, its body read.
    """

    def __init__(self, client: httpx.AsyncClient, transports: Transports) -> None:
        self._client = client
        self._transports = transports
        self._headers = list(client.headers.multi_items())
        self._extensions = {"timeout": client.timeout.as_dict()}
        self._base: httpx.URL | None = None
        self._base_text = ""
        self._transport: httpx.AsyncBaseTransport | None = None

    def _route(self) -> tuple[str, httpx.AsyncBaseTransport]:
        base = self._client.base_url
        if base is not self._base or self._transport is None:
            # Access.settle may point the client elsewhere (the API gateway): follow it.
            self._base, self._base_text = base, str(base)
            self._transport = self._transports.for_url(self._base_text)
        return self._base_text, self._transport

    async def request(
        self, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response:
        """One request to `path` (relative to the base URL, a leading / ignored, as the client
        joins it), its answer with the body read."""
        base, transport = self._route()
        request = httpx.Request(
            method,
            base + path.lstrip("/"),
            params=params,
            headers=self._headers,
            json=json,
            extensions=self._extensions,
        )
        cookies = self._client.cookies
        if cookies:
            cookies.set_cookie_header(request)
        auth = self._client.auth
        if auth is None:
            return await self._send(transport, request)
        if isinstance(auth, StaticAuth):
            request.headers["Authorization"] = auth.header
            return await self._send(transport, request)
        return await self._send_with_flow(transport, request, auth)

    async def _send_with_flow(
        self, transport: httpx.AsyncBaseTransport, request: httpx.Request, auth: httpx.Auth
    ) -> httpx.Response:
        """An auth flow that may answer a response with another request (TokenAuth renews a token
        after a 401): each answer but the last closed, as httpx's client does."""
        flow = auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._send(transport, request)
                try:
                    request = await flow.asend(response)
                except StopAsyncIteration:
                    return response
                await response.aclose()
        finally:
            await flow.aclose()

    async def _send(self, transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        if "set-cookie" in response.headers:
            self._client.cookies.extract_cookies(response)
        return response
