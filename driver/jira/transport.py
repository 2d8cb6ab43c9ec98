"""Requests to Jira on aiohttp's connection pool, behind httpx's transport interface.

httpx's own transport (httpcore on anyio) spends about 1.3-1.5 ms of CPU a request where aiohttp's
pool spends about 0.4 (issue 18, 3,000 POSTs with 16 in flight and Jira 50 ms away): the larger
part of the driver's CPU per ticket. The driver keeps httpx's requests, answers, auth flows and
proxy routing; this transport only carries a request to Jira directly and its answer back.
Requests through a proxy (configured, or the environment's) stay on httpx's own transports: the
client mounts those by URL and reaches this one only for a direct route (driver.jira.exchange).

The failures keep httpx's kinds and, with them, what the driver concludes about a request whose
answer never came (driver.jira.client; the settling of an ambiguous create: docs/wire-facts.md §10):
- no connection made (DNS, refused, TLS, the connect or pool timeout): `httpx.ConnectError` /
  `httpx.ConnectTimeout`: nothing of the request left, it may be sent again;
- the connection lost after the request may have left (closed, reset, a broken answer):
  `httpx.RemoteProtocolError` / `httpx.ReadError` / `httpx.WriteError`: it may have been applied;
- no answer in time: `httpx.ReadTimeout`: it may have been applied.
Anything aiohttp raises that is not known to be before the request left counts as lost, never as
never-sent: a duplicate ticket is the one mistake the driver must not make.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from contextlib import nullcontext
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractStreamWriter
from yarl import URL

KEEPALIVE_SECONDS = 5.0
"""How long an idle connection is kept (httpx's default keep-alive expiry)."""
FORBIDDEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
"""The control bytes no header may hold (aiohttp's check before it writes a request, as h11's)."""
WRITE_PART = 1 << 16
"""A body up to this size is handed to the socket at once (asyncio buffers it, no wait): only a
longer one is written in parts under the write timeout."""
HEAD_LIMIT = 100 * 1024
"""Answer heads read up to h11's 100 kB, as httpx reads them (aiohttp's 8,190 bytes a line refused)."""


class DirectTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to the request's host on one aiohttp pool of at most `max_connections`, made in
    the event loop of the first request (a request from another loop gets a pool of its own).

    `verify` is httpx's: True (the trust httpx builds, with SSL_CERT_FILE/SSL_CERT_DIR when
    `trust_env`), False, or an SSLContext.
    Timeouts come from each request's `timeout` extension, as httpx's transports read them
    (connect, read, write, pool; seconds or None). The answer's body is read whole and returned
    as sent (httpx decodes a Content-Encoding). No cookies, no redirects, no proxies.
    """

    def __init__(
        self, *, verify: ssl.SSLContext | bool = True, trust_env: bool = True, max_connections: int = 32
    ) -> None:
        self._ssl: ssl.SSLContext | bool = (
            False if verify is False else httpx.create_ssl_context(verify=verify, trust_env=trust_env)
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=self._ssl,
        )
        # the request carries every header the client chose (Accept, Accept-Encoding, User-Agent,
        # Authorization, Cookie): aiohttp adds none of its own, keeps no cookies, and leaves the
        # body as sent for httpx to decode
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
            max_line_size=HEAD_LIMIT,
            max_field_size=HEAD_LIMIT,
            max_headers=HEAD_LIMIT // 4,
        )
        # aiohttp sends a GET, PUT or DELETE again, once and silently, when the connection drops
        # before the answer: the driver decides what is sent again (a custom endpoint may not be;
        # a resend is counted against the limits and heard in the Responses table). No public
        # setting; the attribute is one aiohttp lets be set (ClientSession.ATTRS).
        self._session._retry_connection = False
        self._loop = loop
        return self._session

    def _timeout(self, extensions: dict[str, Any]) -> aiohttp.ClientTimeout:
        given = extensions.get("timeout") or {}
        key = (given.get("connect"), given.get("read"), given.get("write"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, write, pool = key
            # aiohttp's `connect` covers the wait for a pooled connection and the connecting;
            # `sock_read` every wait for the answer, as httpx's read timeout does
            waits = [t for t in (connect, pool) if t is not None]
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=sum(waits) if waits else None,
                sock_connect=connect,
                sock_read=read if read is not None else write,
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """`request`'s answer, its body read; raises httpx.TransportError kinds (module docstring)."""
        session = self._open()
        body = await request.aread()
        headers = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in request.headers.raw]
        write = (request.extensions.get("timeout") or {}).get("write")
        deadline = asyncio.timeout(None) if write is not None and len(body) > WRITE_PART else None
        data = _Body(body, deadline, write) if deadline is not None and write is not None else body or None
        try:
            async with (
                deadline or nullcontext(),
                session.request(
                    request.method,
                    # the target exactly as httpx encoded it (yarl would requote a plain string)
                    URL(str(request.url), encoded=True),
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                    timeout=self._timeout(request.extensions),
                ) as answer,
            ):
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=list(answer.raw_headers),
                    stream=httpx.ByteStream(content),
                    extensions={
                        "http_version": b"HTTP/1.1",
                        "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
                    },
                    request=request,
                )
        except aiohttp.ClientError as exc:
            # the OS's own error (gaierror, SSLError, ConnectionRefusedError) as the cause, for
            # the words that name it (driver.jira.http.describe_transport_error)
            cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
            raise as_httpx(exc, request) from cause
        except ValueError as exc:
            # aiohttp refuses a header with a control character before writing anything, as httpx
            # does (LocalProtocolError, without the value); any other may be after the request left
            if any(FORBIDDEN.search(key + value) for key, value in request.headers.raw):
                raise httpx.LocalProtocolError("a header with a control character", request=request) from exc
            raise httpx.RemoteProtocolError(str(exc) or exc.__class__.__name__, request=request) from exc
        except TimeoutError as exc:
            kind = httpx.WriteTimeout if deadline is not None and deadline.expired() else httpx.ReadTimeout
            raise kind(str(exc) or "no answer in time", request=request) from exc
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise httpx.WriteError(str(exc) or exc.__class__.__name__, request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or exc.__class__.__name__, request=request) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


class _Body(aiohttp.BytesPayload):
    """A body written in parts each within the write timeout, as httpx writes: aiohttp has none (its
    read timeout starts once the body is written), so a Jira that stopped reading held it forever."""

    def __init__(self, value: bytes, deadline: asyncio.Timeout, write: float) -> None:
        super().__init__(value)
        self._deadline, self._write = deadline, write

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        value = memoryview(self._value)[:content_length]
        for start in range(0, len(value), 1 << 16):
            self._deadline.reschedule(asyncio.get_running_loop().time() + self._write)
            await writer.write(value[start : start + (1 << 16)])
        self._deadline.reschedule(None)


def as_httpx(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """httpx's kind of transport failure for what aiohttp raised (see the module docstring)."""
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(text, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        # aiohttp's words name its ssl setting ('ssl:default') whatever failed, which reads as a
        # TLS problem (driver.jira.http.describe_transport_error): on http://, the OS's words
        if request.url.scheme == "http":
            text = exc.strerror or repr(exc.os_error)
        return httpx.ConnectError(text, request=request)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(text, request=request)
    if isinstance(exc, aiohttp.ClientConnectionResetError):
        return httpx.WriteError(text, request=request)
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(text, request=request)
    return httpx.RemoteProtocolError(text, request=request)
