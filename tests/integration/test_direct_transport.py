"""The direct transport (aiohttp under httpx, driver.jira.transport) keeps httpx's meaning of each
failure, because the driver decides by it whether a create whose answer never came may be sent
again: a failure before the request left is a connect error, one after it may have left is a
lost connection or a timeout, never the other way round.

Each case is a real socket on loopback behaving as a broken Jira or network would; the JiraClient
cases go through the client's own words (driver.jira.client), the rest through the transport.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from driver.errors import JiraConnectionLost, JiraNotReached, JiraTimeout
from driver.jira.auth import Credentials
from driver.jira.client import JiraClient
from driver.jira.transport import DirectTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

TIMEOUT = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """A server on a free loopback port running `handler` for each connection; its base URL."""

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (by its Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def answer(status: int, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def request(url: str, method: str = "POST", body: bytes = b'{"a": 1}', **timeout: float) -> httpx.Request:
    return httpx.Request(
        method,
        url + "/rest/api/2/issue",
        content=body if method == "POST" else None,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "jira-driver",
            "Accept": "application/json",
        },
        extensions={"timeout": {**TIMEOUT, **timeout}},
    )


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed server or a firewall does."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_an_answer_comes_back_as_sent_with_the_request_as_made() -> None:
    heads: list[bytes] = []
    zipped = gzip.compress(b'{"key": "OPS-1"}')

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await read_request(reader)
        heads.append(head + body)
        writer.write(
            answer(
                201,
                zipped,
                "Content-Encoding: gzip",
                "Set-Cookie: a=1",
                "Set-Cookie: b=2",
                "X-AREQUESTID: r1",
            )
        )
        await writer.drain()
        writer.close()

    transport = DirectTransport()
    async with serving(handler) as url:
        response = await transport.handle_async_request(request(url))
        await response.aread()
    await transport.aclose()
    assert response.status_code == 201
    assert response.json() == {"key": "OPS-1"}  # httpx decoded the gzip body
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-arequestid"] == "r1"
    sent = heads[0].decode()
    assert sent.startswith("POST /rest/api/2/issue HTTP/1.1\r\n")
    assert sent.endswith('\r\n\r\n{"a": 1}')
    lines = sent.lower().split("\r\n")
    # the headers the request carried, none of aiohttp's own
    for header in ("user-agent: jira-driver", "accept: application/json", "content-length: 8"):
        assert header in lines
    assert "content-type: application/json" in lines
    assert not any("aiohttp" in line or line.startswith("accept-encoding") for line in lines)


async def test_the_target_goes_as_httpx_encoded_it_and_a_long_header_comes_back() -> None:
    """A JQL search's query (spaces, quotes, + and & inside values, non-ASCII) reaches Jira byte
    for byte as httpx encoded it; an answer with a 12 KB header line (a large cookie) is read."""
    targets: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        targets.append(head.split(b" ")[1])
        writer.write(answer(200, b"{}", "Set-Cookie: big=" + "x" * 12_000))
        await writer.drain()

    transport = DirectTransport()
    async with serving(handler) as url:
        sent = httpx.Request(
            "GET",
            url + "/rest/api/2/search/a%2Fb",
            params={"jql": 'labels = "alarm-a+b&c" AND summary ~ "é 100%"', "fields": "key,labels"},
            extensions={"timeout": TIMEOUT},
        )
        response = await transport.handle_async_request(sent)
    await transport.aclose()
    assert targets == [sent.url.raw_path]
    assert len(response.headers["set-cookie"]) == 12_004


async def test_a_redirect_is_returned_not_followed() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(302, b"", "Location: http://127.0.0.1:1/elsewhere"))
        await writer.drain()
        writer.close()

    transport = DirectTransport()
    async with serving(handler) as url:
        response = await transport.handle_async_request(request(url, "GET"))
    await transport.aclose()
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:1/elsewhere"


async def test_a_refused_connection_is_never_sent_and_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once closed
    client = JiraClient(f"http://127.0.0.1:{port}", credentials=Credentials("basic", "u", "p"))
    with pytest.raises(JiraNotReached, match=f"connection refused by 127.0.0.1:{port}"):
        await client.create_issue({"fields": {}})
    await client.aclose()


async def test_an_unknown_host_is_never_sent_and_named() -> None:
    client = JiraClient("http://jira.invalid", credentials=Credentials("basic", "u", "p"))
    with pytest.raises(JiraNotReached, match="DNS: cannot resolve the host name 'jira.invalid'"):
        await client.create_issue({"fields": {}})
    await client.aclose()


@pytest.mark.parametrize("how", ["closed", "reset", "half an answer", "not HTTP"])
async def test_a_connection_lost_after_the_request_left_may_have_been_applied(how: str) -> None:
    """The server read the whole request (it may have made the ticket), then the connection went:
    the create is lost, not 'not reached', so the driver looks for it before sending again."""
    got: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append((await read_request(reader))[1])
        if how == "reset":
            reset(writer)
            return
        if how == "half an answer":
            writer.write(answer(201, b'{"key": "OPS-1"}')[:-6])
        elif how == "not HTTP":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(handler) as url:
        client = JiraClient(url, credentials=Credentials("basic", "u", "p"))
        with pytest.raises(JiraConnectionLost) as caught:
            await client.create_issue({"fields": {"summary": "x"}})
        await client.aclose()
    assert got == [b'{"fields":{"summary":"x"}}']
    assert "connection to 127.0.0.1 lost" in str(caught.value)


async def test_a_hung_jira_times_out_as_a_read_not_as_never_sent() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.close()

    transport = DirectTransport()
    async with serving(handler) as url:
        with pytest.raises(httpx.ReadTimeout):
            await transport.handle_async_request(request(url, read=0.3))
        release.set()
    await transport.aclose()


async def test_a_wait_for_a_pooled_connection_that_times_out_was_never_sent() -> None:
    """One connection allowed and held by a hung request: the next one's wait for it ends as a
    connect timeout (nothing of it left), the first one's as a read timeout."""
    release, arrived = asyncio.Event(), asyncio.Event()
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await read_request(reader))[1])
        arrived.set()
        await release.wait()
        writer.close()

    transport = DirectTransport(max_connections=1)
    async with serving(handler) as url:
        first = asyncio.ensure_future(transport.handle_async_request(request(url, body=b"first", read=1.5)))
        await arrived.wait()
        with pytest.raises(httpx.ConnectTimeout):
            await transport.handle_async_request(request(url, body=b"second", connect=0.2, pool=0.1))
        with pytest.raises(httpx.ReadTimeout):
            await first
        release.set()
    await transport.aclose()
    assert seen == [b"first"]


async def test_a_post_on_a_connection_the_server_dropped_is_not_resent() -> None:
    """Jira closes an idle kept-alive connection: a POST written to it is reported lost, not sent
    again on a new connection behind the driver's back (that is the driver's decision)."""
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append((await read_request(reader))[1])
        writer.write(answer(201, b'{"key": "OPS-1"}'))
        await writer.drain()
        # keeps the connection open as kept alive, then drops it once the next request arrives
        await reader.read(1)
        reset(writer)

    transport = DirectTransport()
    async with serving(handler) as url:
        first = await transport.handle_async_request(request(url, body=b"one"))
        assert first.status_code == 201
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            await transport.handle_async_request(request(url, body=b"two"))
    await transport.aclose()
    assert requests == [b"one"]


def test_a_transport_serves_requests_from_one_event_loop_after_another() -> None:
    """A client closed at the end of one event loop serves again in the next (a pool of its own)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(200, b"{}"))
        await writer.drain()
        writer.close()

    transport = DirectTransport()

    async def once() -> int:
        async with serving(handler) as url:
            status = (await transport.handle_async_request(request(url, "GET"))).status_code
            await transport.aclose()
            return status

    assert asyncio.run(once()) == 200
    assert asyncio.run(once()) == 200


async def test_a_closed_client_closes_the_direct_pool() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(200, b'{"accountId": "a"}'))
        await writer.drain()

    async with serving(handler) as url:
        client = JiraClient(url, credentials=Credentials("basic", "u", "p"))
        direct = client._exchange._direct
        assert isinstance(direct, DirectTransport)
        await client._exchange.request("GET", "rest/api/2/myself")
        await client.aclose()
    assert direct._session is None


async def test_a_timeout_of_the_client_is_a_jira_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with serving(handler) as url:
        client = JiraClient(url, credentials=Credentials("basic", "u", "p"), timeout_seconds=0.3)
        with pytest.raises(JiraTimeout, match="no answer within 0.3 s"):
            await client.create_issue({"fields": {}})
        await client.aclose()
