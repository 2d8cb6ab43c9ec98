"""The Exchange on real sockets (helper-17's review of driver.jira.exchange): a request cancelled
mid-body gives its connection back, waiters beyond the pool are served once others are cancelled,
and a failure's message names where the request went, a proxy's password hidden."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from driver.config import Config
from driver.errors import JiraError
from driver.jira.auth import Credentials
from driver.jira.client import JiraClient
from tests.fixtures.proxy import free_port

PASSWORD = "Pr0xyS3cret"


class SlowBody:
    """An HTTP/1.1 server on loopback: each answer's headers at once, its body after `delay` s."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.connections = 0
        self.mid_body = asyncio.Event()
        """Set once an answer's headers are out and its body is not."""
        self.two_connections = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections >= 2:
            self.two_connections.set()
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
                )
                await writer.drain()
                self.mid_body.set()
                await asyncio.sleep(self.delay)
                writer.write(b"{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def slow() -> AsyncIterator[tuple[SlowBody, str]]:
    body = SlowBody(0.5)
    server = await asyncio.start_server(body.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield body, f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def client_for(url: str, **kw: object) -> JiraClient:
    return JiraClient(url, credentials=Credentials("basic", "u", "jirapass"), **kw)  # type: ignore[arg-type]


async def test_a_request_cancelled_mid_body_gives_its_connection_back(slow: tuple[SlowBody, str]) -> None:
    body, url = slow
    client = client_for(url, proxy="bypass", max_connections=1, timeout_seconds=5.0)
    task = asyncio.create_task(client._exchange.request("GET", "rest/api/2/myself"))
    await asyncio.wait_for(body.mid_body.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    body.delay = 0
    # a pool of one: the next request would wait for ever on a connection never given back
    answer = await asyncio.wait_for(client._exchange.request("GET", "rest/api/2/myself"), 3)
    assert answer.status_code == 200
    await client.aclose()


async def test_waiters_beyond_the_pool_are_served_when_others_are_cancelled(
    slow: tuple[SlowBody, str],
) -> None:
    body, url = slow
    body.delay = 0.3
    client = client_for(url, proxy="bypass", max_connections=2, timeout_seconds=5.0)
    tasks = [asyncio.create_task(client._exchange.request("GET", f"rest/x/{n}")) for n in range(20)]
    await asyncio.wait_for(body.two_connections.wait(), 5)
    for task in tasks[::2]:
        task.cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    answered = [d for d in done if isinstance(d, httpx.Response)]
    assert all(isinstance(d, asyncio.CancelledError) for d in done[::2])
    assert len(answered) == 10
    assert all(a.status_code == 200 for a in answered)
    await client.aclose()


async def test_a_proxy_password_stays_out_of_the_message_and_the_responses(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    proxy = f"http://proxyuser:{PASSWORD}@127.0.0.1:{free_port()}"
    client = client_for("http://jira.test", proxy=proxy)
    with pytest.raises(JiraError) as caught:
        await client.myself()
    heard = client.responses.take()
    await client.aclose()
    assert "proxy http://[credentials]@127.0.0.1:" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert heard
    assert all(PASSWORD not in (h.error or "") for h in heard)


async def test_an_environment_proxys_password_stays_out_of_the_message_and_is_a_secret(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    no_proxy_env.setenv("HTTP_PROXY", f"http://proxyuser:{PASSWORD}@127.0.0.1:{free_port()}")
    client = client_for("http://jira.test")
    with pytest.raises(JiraError) as caught:
        await client.myself()
    await client.aclose()
    assert "[credentials]@" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    # the log's masking covers it too (driver.service.logging_setup masks Config.secrets())
    assert PASSWORD in Config().secrets()


async def test_after_the_gateway_move_a_failure_names_where_the_request_went(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY names the site, the gateway is behind the environment's proxy (down)."""
    no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    no_proxy_env.setenv("NO_PROXY", "site.test")
    client = client_for("http://site.test")
    client._client.base_url = httpx.URL("http://gateway.test/ex/jira/1/")  # as Access.settle does
    with pytest.raises(JiraError) as caught:
        await client.myself()
    await client.aclose()
    message = str(caught.value)
    assert "proxy http://127.0.0.1:" in message
    assert "site.test" not in message
