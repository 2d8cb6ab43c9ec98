"""The Exchange sends what httpx.AsyncClient would send with the same settings (httpx.MockTransport):
URL, headers, body, cookies, auth (static and a flow that answers a 401 with a second request)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx
import pytest

from driver.jira.auth import BasicAuth, BearerAuth, Credentials, HeaderAuth
from driver.jira.client import JiraClient
from driver.jira.exchange import Exchange
from driver.jira.transport import DirectTransport

Handler = Callable[[httpx.Request], httpx.Response]


def settings_client(auth: httpx.Auth | None, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """A client as driver.jira.client builds it (base URL, auth, headers, timeout)."""
    return httpx.AsyncClient(
        base_url="http://jira.test/ctx/",
        auth=auth,
        timeout=httpx.Timeout(30.0, connect=10.0),
        headers={"Accept": "application/json", "User-Agent": "jira-driver"},
        transport=transport,
        trust_env=False,
    )


def exchange_for(auth: httpx.Auth | None, handler: Handler) -> tuple[Exchange, httpx.AsyncClient]:
    client = settings_client(auth, httpx.MockTransport(handler))
    return Exchange(client), client


def shape(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]], bytes, dict[str, Any]]:
    return (
        request.method,
        str(request.url),
        sorted(request.headers.multi_items()),
        request.content,
        request.extensions,
    )


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "rest/api/latest/issue", {"json": {"fields": {"summary": "Alarm é 1", "labels": ["a"]}}}),
    ("PUT", "/rest/api/latest/issue/OPS-1", {"json": {"update": {}}}),
    ("GET", "rest/api/2/search", {"params": {"jql": "labels = x AND status != Done", "maxResults": 50}}),
    ("GET", "rest/api/2/issue/OPS-1/comment?orderBy=created", {"params": {"startAt": 0}}),
    ("DELETE", "rest/api/2/issue/OPS-1", {}),
]


@pytest.mark.parametrize(
    "auth", [None, BasicAuth("admin", "s3cret"), BearerAuth("pat"), HeaderAuth("Token abc")], ids=repr
)
@pytest.mark.parametrize(("method", "path", "extra"), CASES, ids=[c[0] + " " + c[1] for c in CASES])
async def test_the_same_request_as_the_client(
    auth: httpx.Auth | None, method: str, path: str, extra: dict[str, Any]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    exchange, _ = exchange_for(auth, handler)
    via_exchange = await exchange.request(method, path, **extra)
    reference = settings_client(auth, httpx.MockTransport(handler))
    via_client = await reference.request(method, path, **extra)
    await reference.aclose()
    assert shape(seen[0]) == shape(seen[1])
    assert via_exchange.status_code == via_client.status_code == 200
    assert via_exchange.json() == via_client.json() == {"ok": True}
    assert via_exchange.request is seen[0]


async def test_cookies_jira_sets_go_back_with_the_next_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={"Set-Cookie": "JSESSIONID=abc; Path=/ctx"})

    exchange, client = exchange_for(None, handler)
    await exchange.request("GET", "rest/api/2/myself")
    await exchange.request("GET", "rest/api/2/myself")
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "JSESSIONID=abc"
    assert client.cookies["JSESSIONID"] == "abc"


async def test_a_new_base_url_is_followed() -> None:
    """Access.settle points the client at the gateway after the first request: the next follows."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    exchange, client = exchange_for(None, handler)
    await exchange.request("GET", "rest/api/2/myself")
    client.base_url = httpx.URL("https://api.atlassian.com/ex/jira/cloud-1/")
    await exchange.request("GET", "rest/api/2/myself")
    assert seen == [
        "http://jira.test/ctx/rest/api/2/myself",
        "https://api.atlassian.com/ex/jira/cloud-1/rest/api/2/myself",
    ]


class RenewingAuth(httpx.Auth):
    """A token auth like driver.jira.auth.TokenAuth: a 401 renews the token and sends again."""

    def __init__(self) -> None:
        self.tokens = iter(["old", "new"])

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {next(self.tokens)}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {next(self.tokens)}"
            yield request


async def test_an_auth_flow_sends_again_after_a_401_and_the_second_answer_counts() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer old":
            return httpx.Response(401, json={"errorMessages": ["expired"]})
        return httpx.Response(201, json={"key": "OPS-1"})

    exchange, _ = exchange_for(RenewingAuth(), handler)
    answer = await exchange.request("POST", "rest/api/2/issue", json={"fields": {}})
    assert seen == ["Bearer old", "Bearer new"]
    assert (answer.status_code, answer.json()) == (201, {"key": "OPS-1"})


async def test_a_transport_failure_reaches_the_caller_as_httpx_raised_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    exchange, _ = exchange_for(BasicAuth("admin", "s3cret"), handler)
    with pytest.raises(httpx.ConnectError, match="refused"):
        await exchange.request("GET", "rest/api/2/myself")


async def test_nothing_leaves_a_closed_client() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    exchange, client = exchange_for(None, handler)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await exchange.request("POST", "rest/api/2/issue", json={})
    assert seen == []


def pool_kind(transport: httpx.AsyncBaseTransport) -> str:
    if isinstance(transport, DirectTransport):
        return "AsyncConnectionPool"  # the driver's own, where httpx's direct pool would be
    # httpx keeps the pool it made private; its kind is what says whether a proxy is in between
    return type(transport._pool).__name__  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "no_proxy", "way"),
    [
        ("https://jira.example.com", "", "AsyncHTTPProxy"),
        ("https://jira.example.com", "jira.example.com", "AsyncConnectionPool"),
        ("https://jira.example.com", "localhost,*", "AsyncConnectionPool"),
        ("https://jira.example.com", "https://jira.example.com", "AsyncConnectionPool"),
        ("https://example.com", ".example.com", "AsyncHTTPProxy"),
        ("http://jira.localhost", "localhost", "AsyncHTTPProxy"),
    ],
)
async def test_rest_calls_go_the_way_the_setup_requests_go(
    monkeypatch: pytest.MonkeyPatch, url: str, no_proxy: str, way: str
) -> None:
    """The Exchange's transport for the Jira URL is the one httpx picks for the requests sent
    without it (serverInfo, tenant_info, the OAuth token endpoint): one reading of NO_PROXY (the
    forms httpx and urllib read differently among them; helper-17)."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    client = JiraClient(url, credentials=Credentials("basic", "u", "p"))
    _, rest = client._exchange._route()
    plain = client.plain_http()
    setup = plain._transport_for_url(httpx.URL(url + "/rest/api/2/serverInfo"))
    assert pool_kind(rest) == pool_kind(setup) == way
    await plain.aclose()
    await client.aclose()


@pytest.mark.parametrize(
    ("no_proxy", "named"),
    [
        ("", "http://[credentials]@127.0.0.1:8"),
        # urllib reads '*' only as the whole value: it would name the proxy httpx does not use
        ("localhost,*", ""),
        # an entry with a scheme: httpx bypasses that origin alone
        ("http://127.0.0.1:1", ""),
        ("http://127.0.0.1:2", "http://[credentials]@127.0.0.1:8"),
    ],
)
async def test_the_proxy_named_is_the_one_httpx_uses(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, named: str
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://user:secret@127.0.0.1:8")
    monkeypatch.setenv("http_proxy", "http://user:secret@127.0.0.1:8")
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
        monkeypatch.setenv("no_proxy", no_proxy)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:1/") as client:
        assert Exchange(client).proxy("") == named  # that it has credentials, never what they are


async def test_a_configured_proxy_is_named_and_a_transport_of_its_own_falls_back() -> None:
    async with httpx.AsyncClient(base_url="http://jira.test/", proxy="http://proxy.test:3128") as client:
        assert Exchange(client).proxy("http://proxy.test:3128") == "http://proxy.test:3128"
    exchange, client = exchange_for(None, lambda request: httpx.Response(200))
    async with client:
        # a transport httpx did not build says nothing of a proxy: the setting's words
        assert exchange.proxy("http://proxy.test:3128") == "http://proxy.test:3128"
        assert exchange.proxy("bypass") == ""
