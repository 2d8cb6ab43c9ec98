"""Broken Jiras and networks against the direct transport (aiohttp under httpx,
driver.jira.transport), beside tests/integration/test_direct_transport.py: each case is a real
socket on loopback, and what must come back is what httpx's own transport would give, or the
safer of the two where they differ (never 'not reached' for a request the server read, never a
request sent twice by the transport itself, never an exception the engine does not handle).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

from driver.errors import JiraConnectionLost, JiraNotReached
from driver.jira.auth import Credentials
from driver.jira.client import JiraClient
from driver.jira.transport import DirectTransport
from tests.integration.test_direct_transport import Handler, answer, read_request, request, reset, serving

LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""The failures that say the request may have been applied (driver.jira.http.transport_failure)."""


def replying(wire: bytes) -> Handler:
    """A server that reads a request and writes `wire` back, whatever it is."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(wire)
        await writer.drain()

    return handler


async def outcome(transport: httpx.AsyncBaseTransport, sent: httpx.Request) -> httpx.Response | Exception:
    """The answer, or the failure the transport raised."""
    try:
        return await send(transport, sent)
    except httpx.TransportError as exc:
        return exc


async def send(transport: httpx.AsyncBaseTransport, sent: httpx.Request, bound: float = 5) -> httpx.Response:
    """The request's answer with its body read, bounded so a hang fails the test, not the run."""
    response = await asyncio.wait_for(transport.handle_async_request(sent), bound)
    await response.aread()
    return response


@pytest.mark.parametrize("method", ["PUT", "DELETE", "GET"])
async def test_a_request_whose_connection_closed_after_it_arrived_is_not_sent_again(method: str) -> None:
    """Jira reads a PUT (or DELETE) and the connection closes before any answer: it may have
    been applied, so the transport reports it lost and leaves sending again to the driver, which
    repeats only what it knows to be idempotent (a custom endpoint marked `idempotent = false`
    must never reach Jira twice). httpx's own transport sends once; aiohttp re-sends any
    'idempotent' method on a new connection by itself."""
    arrived: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        arrived.append(head.split(b"\r\n")[0])
        if len(arrived) > 1:  # a second arrival answers, so a re-send would look like success
            writer.write(answer(204, b""))
            await writer.drain()

    transport = DirectTransport()
    async with serving(handler) as url:
        with pytest.raises(LOST):
            await send(transport, request(url, method))
    await transport.aclose()
    assert len(arrived) == 1


@pytest.mark.parametrize(
    "headers",
    [
        ("Content-Security-Policy: " + "default-src 'self' https://*.atlassian.net; " * 250,),
        tuple(f"X-Header-{n}: {n}" for n in range(200)),
    ],
    ids=["a 12 kB header line", "200 headers"],
)
async def test_an_answer_with_large_headers_is_read_as_httpx_reads_it(headers: tuple[str, ...]) -> None:
    """Jira (or the proxy or gateway in front of it) answers with a long header (a
    Content-Security-Policy, a cookie) or very many headers: httpx reads heads up to 100 kB, so
    the answer must come back as sent, not as a broken connection on every request (aiohttp's
    own limits are 8,190 bytes a line and 128 headers)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(201, b'{"key": "OPS-1"}', *headers))
        await writer.drain()

    transport = DirectTransport()
    async with serving(handler) as url:
        response = await send(transport, request(url))
    await transport.aclose()
    assert response.status_code == 201
    assert response.json() == {"key": "OPS-1"}
    assert len(response.headers.raw) == len(headers) + 1


@pytest.mark.filterwarnings("ignore:Sending a large body directly with raw bytes:ResourceWarning")
async def test_a_jira_that_stops_reading_a_large_body_times_out_as_a_write() -> None:
    """Jira takes the connection and the head, then reads nothing more (hung): a body larger than
    the sockets' buffers cannot be written. httpx ends the request with WriteTimeout after the
    write timeout; aiohttp has no write timeout and starts its read timeout only once the body
    is written, so the request hangs as long as Jira does."""
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()

    transport = DirectTransport()
    async with serving(handler) as url:
        try:
            sent = request(url, body=b"x" * (48 << 20), read=0.5, write=0.5)
            with pytest.raises(httpx.WriteTimeout):
                await send(transport, sent, bound=1.5)
        finally:
            release.set()
            await transport.aclose()


async def test_an_answer_slower_than_the_write_timeout_is_waited_for_by_the_read_timeout() -> None:
    """Jira reads the whole body and takes longer than the write timeout to answer: the write
    timeout ended with the body, the read timeout governs the wait."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(0.4)  # Jira working on it
        writer.write(answer(201, b'{"key": "OPS-1"}'))
        await writer.drain()

    transport = DirectTransport()
    async with serving(handler) as url:
        response = await send(transport, request(url, body=b"x" * 200_000, write=0.1, read=1.5))
    await transport.aclose()
    assert response.status_code == 201


@pytest.mark.parametrize("value", ["token\r\nX-Injected: 1", "tok\x00en", "token\n", "tok\x1ben"])
async def test_a_header_value_with_a_control_character_is_refused_as_httpx_refuses_it(value: str) -> None:
    """A header value the client made with a line break or NUL in it (a token pasted with its
    newline) is never sent, and is refused as httpx's transport refuses it: an httpx
    LocalProtocolError (the engine handles httpx errors only; aiohttp raises a bare ValueError),
    whose text does not carry the value (it may be the secret)."""
    arrived: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.append(await reader.read(100))

    transport = DirectTransport()
    async with serving(handler) as url:
        sent = request(url)
        sent.headers["Authorization"] = "Bearer " + value
        with pytest.raises(httpx.LocalProtocolError) as caught:
            await send(transport, sent)
    await transport.aclose()
    assert arrived in ([], [b""])
    assert "tok" not in str(caught.value)


async def test_an_unreachable_network_is_not_called_a_tls_problem() -> None:
    """Jira on plain http:// behind a network this host has no route to: the driver says it
    cannot connect, as with httpx's transport, not 'TLS: ... (a company CA? ...)' because
    aiohttp's words for every connect failure name its ssl setting ('ssl:default')."""
    client = JiraClient("http://255.255.255.255:80", credentials=Credentials("basic", "u", "p"))
    with pytest.raises(JiraNotReached) as caught:
        await client.create_issue({"fields": {}})
    await client.aclose()
    assert "TLS" not in str(caught.value)
    assert "cannot connect" in str(caught.value)


# --- cases the transport already gets right, not covered by test_direct_transport.py ---


@pytest.mark.parametrize(
    ("method", "wire", "status", "body"),
    [
        (
            "POST",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
            201,
            b"{}",
        ),
        ("GET", b'HTTP/1.0 200 OK\r\n\r\n{"a": 1}', 200, b'{"a": 1}'),
        ("PUT", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 204, b""),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, b""),
        ("GET", b"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 200, b"{}"),
    ],
    ids=["100 Continue first", "HTTP/1.0 to the close", "204 with a length", "HEAD", "chunked"],
)
async def test_an_answer_is_read_as_httpx_reads_it(
    method: str, wire: bytes, status: int, body: bytes
) -> None:
    """Answers httpx reads in its own ways (an interim 100, a body to the close, a 204 or a HEAD
    answer with a Content-Length and no body, chunks) come back the same."""

    transport = DirectTransport()
    async with serving(replying(wire)) as url:
        sent = httpx.Request(method, url + "/x", content=b"{}" if method in ("POST", "PUT") else None)
        response = await send(transport, sent)
    await transport.aclose()
    assert (response.status_code, response.content) == (status, body)


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}EXTRA",
        b"HTTP/1.1 201 Created\r\nContent-Length: 20\r\n\r\n{}",
    ],
    ids=["a chunk size not hex", "a length and chunks", "bytes after the body", "a short body"],
)
async def test_a_broken_answer_to_a_create_is_lost_never_not_reached(wire: bytes) -> None:
    """Jira read the create and answered in a way that cannot be read (httpx reads some of these,
    aiohttp refuses them): whichever, the create may have been applied, so it is lost, never
    'not reached'."""

    transport = DirectTransport()
    async with serving(replying(wire)) as url:
        got = await outcome(transport, request(url))
    await transport.aclose()
    assert isinstance(got, LOST) or (isinstance(got, httpx.Response) and got.status_code in (200, 201))


async def test_an_answer_before_the_body_is_read_is_the_answer() -> None:
    """Jira refuses a large create by its head (413) and closes without reading the body: the
    413 comes back (httpx reports a read error instead; both mean not created by this request)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer(413, b"too large", "Connection: close"))
        await writer.drain()
        reset(writer)

    transport = DirectTransport()
    async with serving(handler) as url:
        got = await outcome(transport, request(url, body=b"x" * (1 << 20)))
    await transport.aclose()
    assert isinstance(got, LOST) or (isinstance(got, httpx.Response) and got.status_code == 413)


async def test_a_half_close_without_an_answer_is_lost() -> None:
    """Jira reads the create and shuts its side (FIN) with no answer: lost, at once."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write_eof()
        await reader.read()

    async with serving(handler) as url:
        client = JiraClient(url, credentials=Credentials("basic", "u", "p"))
        with pytest.raises(JiraConnectionLost):
            await client.create_issue({"fields": {}})
        await client.aclose()


@pytest.fixture(scope="module")
def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


@asynccontextmanager
async def serving_tls(handler: Handler, context: ssl.SSLContext | None) -> AsyncIterator[str]:
    """As `serving`, on https:// (TLS by `context`, or raw TCP for a handshake that fails)."""

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0, ssl=context)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("how", ["reset", "closed", "hung"])
async def test_a_tls_handshake_that_fails_was_never_sent(
    how: str, tls_pair: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """The server takes the ClientHello and resets, closes or hangs: no request left (a connect
    error, or a connect timeout within the connect timeout)."""
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(5)
        if how == "reset":
            reset(writer)
        elif how == "hung":
            await release.wait()

    transport = DirectTransport(verify=tls_pair[1])
    async with serving_tls(handler, None) as url:
        expected = httpx.ConnectTimeout if how == "hung" else httpx.ConnectError
        with pytest.raises(expected):
            await send(transport, request(url, connect=0.3, pool=0.1))
        release.set()
    await transport.aclose()


async def test_a_tls_connection_closed_after_the_handshake_is_lost(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    """The handshake completes and the server closes before answering: the request may have left
    (as httpx says too), so lost, not 'not reached'."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)

    transport = DirectTransport(verify=tls_pair[1])
    async with serving_tls(handler, tls_pair[0]) as url:
        with pytest.raises(LOST):
            await send(transport, request(url))
    await transport.aclose()


@pytest.mark.parametrize(
    "wire",
    [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"garbage\r\n\r\n"],
    ids=["a broken chunk", "not HTTP"],
)
async def test_the_authorization_value_is_in_no_failure_text(wire: bytes) -> None:
    """A broken answer's failure, and every failure it was made from, says nothing of the
    Authorization header the request carried (aiohttp's own keep the request's headers in their
    request_info: their repr, not their text, shows it)."""

    transport = DirectTransport()
    async with serving(replying(wire)) as url:
        sent = request(url)
        sent.headers["Authorization"] = "Basic c2VjcmV0LXRva2Vu"
        got = await outcome(transport, sent)
    await transport.aclose()
    assert isinstance(got, LOST)
    chain: list[BaseException] = []
    cause: BaseException | None = got
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    assert not any("c2VjcmV0" in str(each) for each in chain)
