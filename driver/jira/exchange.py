"""One request and its answer, sent straight to the transport httpx picked (or, where it picked its
own direct one, to the driver's: driver.jira.transport).

httpx.AsyncClient builds each request through layers the driver does not use (redirects, event
hooks, per-request cookies and headers merged afresh, an auth generator for a header that never
changes): about a fifth of the driver's CPU per ticket (issue 18's profile, py-spy at 200 Hz on
3,000 creates: `AsyncClient.request` 45% of the process against 30% in the transport it calls).
The Exchange sends the same request (the client's headers, cookies, timeouts and auth) by the
transport's public interface, `AsyncBaseTransport.handle_async_request`, and reads the whole body
as the client does.

The AsyncClient stays the one place those settings live, and the one that decides the way: its
transport for a URL is the one it would have used itself (a configured proxy, or the environment's
HTTP(S)_PROXY/ALL_PROXY with NO_PROXY as httpx reads them), so the Jira REST calls and the requests
made without the Exchange (serverInfo, tenant_info, the OAuth token endpoint) go the same way.
`Access.settle` points the client's base URL and auth at the route it found (driver.jira.route);
cookies Jira sets are kept in its jar.
"""

from __future__ import annotations

from collections.abc import Mapping
from json import dumps
from typing import Any

import httpx

from driver.jira.auth import StaticAuth
from driver.jira.http import proxy_for

URLS_KEPT = 1024
"""Paths whose parsed URL is kept: the create and search paths, and the latest tickets' own."""


class Exchange:
    """Requests as `client.request(method, path, json=, params=)` makes them, for a client whose
    requests all go to paths under its base URL and follow no redirects.

    Raises what the transport raises (httpx.TransportError and its kinds), and RuntimeError once the
    client is closed; an answer of any status is returned, its body read.
    """

    def __init__(self, client: httpx.AsyncClient, direct: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = client
        self._direct = direct
        """Carries the requests the client would send on its own transport, where no proxy
        applies (driver.jira.transport); None: the client's own."""
        self._headers = list(client.headers.multi_items())
        self._json_headers = [*self._headers, ("Content-Type", "application/json")]
        self._urls: dict[str, httpx.URL] = {}
        """Each path's URL under the base, parsed once (cleared when the base moves or it is full)."""
        self._extensions = {"timeout": client.timeout.as_dict()}
        self._base: httpx.URL | None = None
        self._base_text = ""
        self._transport: httpx.AsyncBaseTransport | None = None

    @property
    def base(self) -> str:
        """The base URL requests go to now (the Jira URL, or the gateway's once settled)."""
        return str(self._client.base_url)

    def _route(self) -> tuple[str, httpx.AsyncBaseTransport]:
        if self._client.is_closed:
            raise RuntimeError("the Jira client is closed: no request leaves it")
        base = self._client.base_url
        if base is not self._base or self._transport is None:
            # Access.settle may point the client elsewhere (the API gateway): follow it, by the
            # transport (proxy or none) httpx would pick for it. httpx offers no public way to ask,
            # so tests/unit/test_jira_exchange.py checks the answer against the requests it sends.
            self._base, self._base_text = base, str(base)
            self._urls.clear()
            transport = self._client._transport_for_url(base)
            if self._direct is not None and transport is self._client._transport:
                transport = self._direct
            self._transport = transport
        return self._base_text, self._transport

    async def aclose(self) -> None:
        """Close the direct transport's pool (the client closes its own)."""
        if self._direct is not None:
            await self._direct.aclose()

    def proxy(self, setting: str) -> str:
        """The proxy requests to the base URL go through ('' for none), as
        scheme://[[credentials]@]host[:port] (whether it has credentials, never what they are),
        for messages: read off the transport httpx picked, so NO_PROXY means what httpx made of it
        (urllib reads some forms otherwise: `localhost,*`, an entry with a scheme). A transport that
        does not say (not httpx's own) falls back to the configured `setting` and the environment
        as urllib reads them (driver.jira.http.proxy_for)."""
        transport = self._client._transport_for_url(self._client.base_url)
        pool = getattr(transport, "_pool", None)
        if isinstance(transport, httpx.AsyncHTTPTransport) and pool is not None:
            # its pool is httpcore's: a proxy's holds the proxy's URL (scheme, host, port) and its
            # credentials as a Proxy-Authorization header, a direct one neither
            url = getattr(pool, "_proxy_url", None)
            if url is None:
                return ""
            scheme, host, port = (getattr(url, name, None) for name in ("scheme", "host", "port"))
            if isinstance(scheme, bytes) and isinstance(host, bytes):
                name = host.decode("ascii")
                name = f"[{name}]" if ":" in name else name
                headers = getattr(pool, "_proxy_headers", None) or []
                signed = any(
                    isinstance(key, bytes) and key.lower() == b"proxy-authorization" for key, _ in headers
                )
                start = f"{scheme.decode('ascii')}://" + ("[credentials]@" if signed else "")
                return start + name + (f":{port}" if port else "")
        return proxy_for(str(self._client.base_url), setting)

    async def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One request to `path` (relative to the base URL, a leading / ignored, as the client
        joins it), its answer with the body read."""
        base, transport = self._route()
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= URLS_KEPT:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(base + path.lstrip("/"))
        if json is None:
            headers, content = self._headers, None
        else:
            # as httpx encodes json= (httpx._content.encode_json), without its layers
            content = dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = self._json_headers
        request = httpx.Request(
            method, url, params=params, headers=headers, content=content, extensions=self._extensions
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
