"""The Jira client's status mapping, auth headers and secret masking (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from driver.errors import JiraAuthError, JiraRateLimited, JiraRejected, JiraRetryable, JiraUnavailable
from driver.jira.auth import BasicAuth, BearerAuth, Credentials, HeaderAuth
from driver.jira.check import check
from driver.jira.client import JiraClient

NOW = datetime(2026, 1, 1, 1, 0, 0, tzinfo=UTC)


def client_for(handler, credentials: Credentials | None = None, **kw) -> JiraClient:
    return JiraClient(
        "http://jira.test/ctx",
        credentials=credentials or Credentials("basic", "admin", "s3cret"),
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW,
        **kw,
    )


async def test_create_paths_auth_and_browse_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "10001", "key": "OPS-1", "self": "x"})

    client = client_for(handler)
    created = await client.create_issue({"fields": {"summary": "s"}})
    await client.aclose()
    assert created.key == "OPS-1"
    assert created.url == "http://jira.test/ctx/browse/OPS-1"
    assert str(seen[0].url) == "http://jira.test/ctx/rest/api/latest/issue"
    expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert seen[0].headers["Authorization"] == expected


@pytest.mark.parametrize(
    ("credentials", "header"),
    [
        (Credentials("bearer", "", "pat"), "Bearer pat"),
        (Credentials("authorization_key", "", "Basic abc=="), "Basic abc=="),
    ],
)
async def test_other_auth_forms(credentials: Credentials, header: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/serverInfo"):
            # a bearer token first asks (anonymously) whether the site is Cloud: there it goes
            # through the gateway
            assert "Authorization" not in request.headers
            return httpx.Response(200, json={"deploymentType": "Server"})
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"name": "admin"})

    client = client_for(handler, credentials)
    await client.myself()
    await client.aclose()
    assert seen == [header]


def test_secrets_are_masked() -> None:
    for auth in (BasicAuth("u", "pw-123"), BearerAuth("pat-123"), HeaderAuth("Basic key-123")):
        assert "123" not in repr(auth)
        assert "[secure]" in repr(auth)
    creds = Credentials("basic", "u", "pw-123")
    assert "pw-123" not in repr(creds)


async def test_status_mapping() -> None:
    responses = iter(
        [
            httpx.Response(401, text="Unauthorized"),
            httpx.Response(
                429,
                headers={"Retry-After": "7", "RateLimit-Reason": "jira-per-issue-on-write"},
            ),
            httpx.Response(
                429,
                headers={"X-RateLimit-Reset": "2026-01-01T01:00:30Z", "RateLimit-Reason": "jira-burst-based"},
            ),
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(
                400,
                json={"errorMessages": ["Field 'priority' is required"], "errors": {"summary": "too long"}},
            ),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(responses)

    client = client_for(handler)
    with pytest.raises(JiraAuthError):
        await client.create_issue({})
    # A 401 keeps every later request in (see test_after_a_401_nothing_leaves): as if a person
    # gave the credentials again, for the next mappings.
    client.forget_refusal()
    with pytest.raises(JiraRateLimited) as issue_limit:
        await client.create_issue({})
    assert issue_limit.value.scope == "issue"
    assert issue_limit.value.retry_after == 7
    with pytest.raises(JiraRateLimited) as burst:
        await client.create_issue({})
    assert burst.value.scope == "all"
    assert burst.value.retry_after == 30
    with pytest.raises(JiraRetryable) as unavailable:
        await client.create_issue({})
    assert unavailable.value.retry_after == 2
    with pytest.raises(JiraRejected) as rejected:
        await client.create_issue({})
    assert rejected.value.status == 400
    assert "Field 'priority' is required" in str(rejected.value)
    assert "summary: too long" in str(rejected.value)
    await client.aclose()


async def test_timeouts_and_connection_errors_are_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = client_for(handler)
    with pytest.raises(JiraRetryable) as exc:
        await client.edit_issue("OPS-1", {"fields": {}})
    assert "timeout" in exc.value.reason
    await client.aclose()


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_statuses_mean_jira_is_unavailable(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": "4"}, text="<html>down</html>")

    client = client_for(handler)
    with pytest.raises(JiraUnavailable) as exc:
        await client.create_issue({})
    await client.aclose()
    assert exc.value.reason.startswith(f"HTTP {status} ")
    assert exc.value.retry_after == 4
    # Something answered: the request may have reached Jira, which the engine tells by the cause.
    assert exc.value.__cause__ is None


@pytest.mark.parametrize("status", [500, 501, 409])
async def test_other_server_errors_are_failures_of_one_request(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status)

    client = client_for(handler)
    with pytest.raises(JiraRetryable) as exc:
        await client.create_issue({})
    await client.aclose()
    assert not isinstance(exc.value, JiraUnavailable)
    assert exc.value.reason.startswith(f"HTTP {status}")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused by jira.test"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS: cannot resolve"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS: "),
        (httpx.ConnectTimeout("connect"), "timeout: Jira at http://jira.test/ctx"),
        (httpx.ProxyError("502 Bad Gateway"), "the proxy (from the environment) refused the tunnel"),
    ],
)
async def test_failures_to_connect_mean_jira_is_unavailable(error: Exception, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    client = client_for(handler)
    with pytest.raises(JiraUnavailable) as exc:
        await client.create_issue({})
    await client.aclose()
    assert exc.value.reason.startswith(words), exc.value.reason
    # No connection was made: nothing was sent, which the engine tells by the transport cause.
    assert exc.value.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
async def test_failures_after_sending_are_failures_of_one_request(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    client = client_for(handler)
    with pytest.raises(JiraRetryable) as exc:
        await client.create_issue({})
    await client.aclose()
    assert not isinstance(exc.value, JiraUnavailable)


async def test_search_endpoint_depends_on_flavor() -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("serverInfo"):
            return httpx.Response(200, json={"deploymentType": "Cloud", "version": "1001.0.0"})
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"issues": [{"id": "1", "key": "OPS-9"}]})

    client = client_for(handler)
    found = await client.search_by_stamp('labels = "alarm-x"')
    assert client.api_type == "cloud"
    assert [f.key for f in found] == ["OPS-9"]
    assert seen[0][0] == "/ctx/rest/api/3/search/jql"
    dc = client_for(handler, api_type="datacenter")
    await dc.search_by_stamp('labels = "alarm-x"')
    assert seen[1][0] == "/ctx/rest/api/2/search"
    await client.aclose()
    await dc.aclose()


async def test_near_limit_header_is_tracked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204, headers={"X-RateLimit-NearLimit": "true"})

    client = client_for(handler)
    await client.edit_issue("OPS-1", {"fields": {"summary": "x"}})
    assert client.near_limit
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "HTTP 401"), (403, "HTTP 403"), (404, "context path")],
)
async def test_check_says_what_is_wrong(status: int, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"errorMessages": [], "errors": {}})

    client = client_for(handler)
    result, unreachable = await check(client)
    await client.aclose()
    assert not result.ok
    assert words in result.message
    assert not unreachable
    assert "s3cret" not in result.message


async def test_check_connection_refused_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = client_for(handler)
    result, unreachable = await check(client)
    await client.aclose()
    assert unreachable
    assert "refused" in result.message


async def test_check_ok() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("myself"):
            return httpx.Response(200, json={"name": "admin", "displayName": "Admin"})
        return httpx.Response(200, json={"deploymentType": "Server", "version": "10.3.0"})

    client = client_for(handler)
    result, _ = await check(client)
    await client.aclose()
    assert result.ok
    assert result.message == "Connected to Jira Data Center 10.3.0 at http://jira.test/ctx as Admin"


async def test_stamp_search_reads_every_page_with_the_asked_fields() -> None:
    bodies: list[dict[str, object]] = []

    def issue(n: int) -> dict[str, object]:
        return {"id": str(n), "key": f"OPS-{n}", "fields": {"customfield_7": f"G {n}"}}

    def dc(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        start = int(body.get("startAt", 0))
        chosen = [issue(n) for n in range(start, min(start + 100, 150))]
        return httpx.Response(200, json={"startAt": start, "total": 150, "issues": chosen})

    client = client_for(dc, api_type="datacenter")
    found = await client.search_by_stamp('cf[7] ~ "\\"G\\""', ["customfield_7"])
    await client.aclose()
    assert len(found) == 150
    assert found[149].fields == {"customfield_7": "G 149"}
    assert bodies[0]["fields"] == ["key", "customfield_7"]
    assert [b.get("startAt", 0) for b in bodies] == [0, 100]

    tokens: list[object] = []

    def cloud(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        tokens.append(body.get("nextPageToken"))
        if body.get("nextPageToken") is None:
            return httpx.Response(200, json={"issues": [issue(1)], "nextPageToken": "p2", "isLast": False})
        return httpx.Response(200, json={"issues": [issue(2)], "isLast": True})

    client = client_for(cloud, api_type="cloud")
    found = await client.search_by_stamp('cf[7] ~ "\\"G\\""', ["customfield_7"])
    await client.aclose()
    assert [f.key for f in found] == ["OPS-1", "OPS-2"]
    assert tokens == [None, "p2"]


async def test_list_comments_reads_every_page() -> None:
    starts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/ctx/rest/api/latest/issue/OPS-1/comment"
        start = int(request.url.params["startAt"])
        starts.append(start)
        # Jira may answer with fewer than asked for.
        chosen = [{"id": str(n), "body": f"c{n}"} for n in range(start, min(start + 40, 90))]
        return httpx.Response(200, json={"startAt": start, "total": 90, "comments": chosen})

    client = client_for(handler)
    comments = await client.list_comments("OPS-1")
    await client.aclose()
    assert [c.id for c in comments] == [str(n) for n in range(90)]
    assert starts == [0, 40, 80]


async def test_after_a_401_nothing_leaves_until_the_credentials_change() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") == "Basic " + base64.b64encode(b"admin:admin").decode():
            return httpx.Response(200, json={"name": "admin"})
        return httpx.Response(401, text="Unauthorized")

    client = client_for(handler)
    client.set_credentials(Credentials("basic", "admin", "wrong"))
    results = await asyncio.gather(*(client.myself() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, JiraAuthError) for r in results)
    # unproven credentials go one at a time, and the first 401 answers for all the others
    assert len(sent) == 1
    assert client.credentials_refused
    client.set_credentials(Credentials("basic", "admin", "admin"))
    assert (await client.myself())["name"] == "admin"
    assert len(sent) == 2
    await client.aclose()
