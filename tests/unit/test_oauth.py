"""OAuth 2.0 pieces without a server: the token endpoint's answers mapped to the driver's errors,
renewal ahead of expiry and once on a refusal, one renewal at a time, the consent's callback, the
kept grant, and expiry warnings. End to end against the simulator: tests/integration/test_oauth.py.
"""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver.config_jira import JiraSection
from driver.errors import JiraAuthError, JiraNotReached, JiraUnavailable, SetupRefused
from driver.jira.auth import TokenAuth
from driver.jira.consent import ConsentRefused, code_from, login_request
from driver.jira.oauth import AccessToken, ClientCredentials, Consent, TokenEndpoint
from driver.model.consent import Grant
from driver.model.expiry import expiry_warning
from driver.store.oauth_grant import GrantFile, grant_path

TOKEN_URL = "https://auth.test/oauth/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def endpoint(handler: Any) -> TokenEndpoint:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TokenEndpoint(http, TOKEN_URL, "client-1", "s3cret-value")


def minting(seen: list[dict[str, str]], lifetime: int = 3600) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        seen.append(form)
        return httpx.Response(200, json={"access_token": f"tok-{len(seen)}", "expires_in": lifetime})

    return handler


async def test_client_credentials_mint_once_and_again_before_expiry() -> None:
    seen: list[dict[str, str]] = []
    clock = Clock()
    source = ClientCredentials(endpoint(minting(seen)), "", clock)
    first = await source.token()
    assert (await source.token()).value == first.value == "tok-1"
    assert seen == [
        {"grant_type": "client_credentials", "client_id": "client-1", "client_secret": "s3cret-value"}
    ]
    clock.now += 3600 - 59  # inside the last minute: renewed before use
    assert (await source.token()).value == "tok-2"


async def test_concurrent_requests_renew_once() -> None:
    seen: list[dict[str, str]] = []
    source = ClientCredentials(endpoint(minting(seen)), "WRITE", Clock())
    tokens = await asyncio.gather(*(source.token() for _ in range(10)))
    assert {t.value for t in tokens} == {"tok-1"}
    assert len(seen) == 1
    assert seen[0]["scope"] == "WRITE"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "invalid_client", "error_description": "Unauthorized"}, SetupRefused),
        (400, {"error": "invalid_scope"}, SetupRefused),
        (503, {}, JiraUnavailable),
        (429, {}, JiraUnavailable),
        (200, {"no": "token"}, JiraUnavailable),
    ],
)
async def test_token_endpoint_answers_map_to_the_driver_errors(
    status: int, body: dict[str, str], error: type[Exception]
) -> None:
    source = ClientCredentials(endpoint(lambda r: httpx.Response(status, json=body)), "", Clock())
    with pytest.raises(error) as raised:
        await source.token()
    assert "s3cret-value" not in str(raised.value)


@pytest.mark.parametrize(
    ("scope", "status", "code", "advice"),
    [
        ("", 401, "invalid_client", "check [jira] client_id and client_secret"),
        ("WRITE", 401, "", "check [jira] client_id and client_secret"),
        ("", 400, "unauthorized_client", "check [jira] client_id and client_secret"),
        ("", 400, "invalid_scope", "add the Jira API scopes to the app"),
        ("READ", 400, "invalid_scope", "set [jira] oauth_scope to a scope the app has"),
        ("", 400, "invalid_grant", "that the app may use client credentials"),
    ],
)
async def test_a_refusal_says_what_to_change_by_its_error_code(
    scope: str, status: int, code: str, advice: str
) -> None:
    body = {"error": code} if code else {}
    source = ClientCredentials(endpoint(lambda r: httpx.Response(status, json=body)), scope, Clock())
    with pytest.raises(SetupRefused) as raised:
        await source.token()
    assert advice in str(raised.value), str(raised.value)
    assert raised.value.kind == "auth"
    if code != "invalid_scope":
        assert "oauth_scope" not in str(raised.value)  # the scope is not what to change


async def test_an_unreachable_token_endpoint_is_an_outage_not_a_refusal() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(JiraNotReached, match="token endpoint"):
        await ClientCredentials(endpoint(refuse), "", Clock()).token()


class FixedSource:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.renewals = 0
        self.current = AccessToken("old", clock(), 3600)

    async def token(self) -> AccessToken:
        return self.current

    async def renew(self, stale: AccessToken | None) -> AccessToken:
        self.renewals += 1
        self.current = AccessToken(f"new-{self.renewals}", self.clock(), 3600)
        return self.current


@pytest.mark.parametrize(
    ("status", "via_gateway", "age", "renews"),
    [
        (401, False, 0, True),
        (403, True, 120, True),
        (404, True, 120, True),
        (403, True, 5, False),  # a young token's 403 is an answer (a permission)
        (403, False, 120, False),  # at the site a 403 is never an expiry
    ],
)
async def test_a_refusal_that_may_be_an_expiry_renews_once(
    status: int, via_gateway: bool, age: float, renews: bool
) -> None:
    clock = Clock()
    source = FixedSource(clock)
    clock.now += age
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(status if request.headers["Authorization"] == "Bearer old" else 200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        response = await http.post(
            "https://jira.test/x", json={"a": 1}, auth=TokenAuth(source, via_gateway, clock)
        )
    if renews:
        assert sent == ["Bearer old", "Bearer new-1"]
        assert response.status_code == 200
    else:
        assert sent == ["Bearer old"]
        assert response.status_code == status
    assert source.renewals == (1 if renews else 0)


async def test_a_second_refusal_is_the_answer() -> None:
    clock = Clock()
    source = FixedSource(clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(401))) as http:
        response = await http.get("https://jira.test/x", auth=TokenAuth(source, False, clock))
    assert response.status_code == 401
    assert source.renewals == 1


def grant(refresh: str = "rt-1") -> Grant:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Grant("https://site.test", refresh, "at-1", "read:jira-work offline_access", "Jane", now, now)


async def test_a_consent_writes_the_new_pair_before_the_token_is_used(tmp_path: Path) -> None:
    keeper = GrantFile(tmp_path / "d.db")
    keeper.write(grant())
    order: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        assert form["grant_type"] == "refresh_token"
        assert form["refresh_token"] == "rt-1"
        assert form["redirect_uri"] == "http://127.0.0.1:1/cb"  # Data Center repeats it
        order.append("answered")
        return httpx.Response(200, json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600})

    source = Consent(
        endpoint(handler),
        keeper,
        "http://127.0.0.1:1/cb",
        Clock(),
        after_answer=lambda: order.append("before write"),
    )
    token = await source.token()
    assert token.value == "at-2"
    assert order == ["answered", "before write"]
    kept = keeper.read()
    assert kept is not None
    assert kept.refresh_token == "rt-2"
    assert kept.user == "Jane"


async def test_a_refused_refresh_says_to_log_in_again(tmp_path: Path) -> None:
    keeper = GrantFile(tmp_path / "d.db")
    keeper.write(grant())
    refused = endpoint(
        lambda r: httpx.Response(
            403, json={"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
        )
    )
    with pytest.raises(JiraAuthError, match="auth login"):
        await Consent(refused, keeper).token()
    kept = keeper.read()
    assert kept is not None
    assert kept.refresh_token == "rt-1"


async def test_no_consent_stored_says_to_log_in(tmp_path: Path) -> None:
    with pytest.raises(JiraAuthError, match="auth login"):
        await Consent(endpoint(lambda r: httpx.Response(500)), GrantFile(tmp_path / "d.db")).token()


def test_the_grant_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    keeper = GrantFile(tmp_path / "d.db")
    keeper.write(grant())
    path = grant_path(tmp_path / "d.db")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    assert keeper.read() == grant()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "rt-1" not in repr(grant())
    assert "at-1" not in repr(grant())

    def crash() -> None:
        raise RuntimeError("killed")

    dying = GrantFile(tmp_path / "d.db", written=crash)
    with pytest.raises(RuntimeError):
        dying.write(grant("rt-2"))
    assert keeper.read() == grant()  # the old pair, whole
    path.write_text("{not json")
    with pytest.raises(ValueError, match="does not hold an OAuth consent"):
        keeper.read()


def test_a_callback_with_another_state_is_refused() -> None:
    jira = JiraSection(auth="oauth_3lo", client_id="app", redirect_uri="http://127.0.0.1:8751/callback")
    request = login_request(jira, cloud=True)
    url = httpx.URL(request.url)
    assert url.params["audience"] == "api.atlassian.com"
    assert url.params["code_challenge_method"] == "S256"
    assert "offline_access" in url.params["scope"]
    assert request.verifier not in request.url
    assert code_from(f"http://127.0.0.1:8751/callback?code=c-1&state={request.state}", request) == "c-1"
    assert code_from(f"code=c-2&state={request.state}", request) == "c-2"
    with pytest.raises(ConsentRefused, match="state"):
        code_from("http://127.0.0.1:8751/callback?code=c-1&state=forged", request)
    with pytest.raises(ConsentRefused, match="state"):
        code_from("code=c-1", request)
    with pytest.raises(ConsentRefused, match="refused"):
        code_from(f"?error=access_denied&state={request.state}", request)
    # a URL of somewhere else (another host, port or path) is named as such, even with this state
    for foreign in (
        f"https://evil.example.com/callback?code=c-1&state={request.state}",
        f"http://127.0.0.1:9999/callback?code=c-1&state={request.state}",
        f"http://127.0.0.1:8751/other?code=c-1&state={request.state}",
    ):
        with pytest.raises(ConsentRefused, match="not a URL of the callback"):
            code_from(foreign, request)
    with pytest.raises(ConsentRefused, match="not a URL of the callback"):
        code_from("garbage", request)


def test_the_data_center_consent_url_is_on_the_jira_url() -> None:
    jira = JiraSection(url="https://jira.example.com/jira", auth="oauth_3lo", client_id="app")
    url = httpx.URL(login_request(jira, cloud=False).url)
    assert str(url).startswith("https://jira.example.com/jira/rest/oauth2/latest/authorize?")
    assert url.params["scope"] == "WRITE"
    assert "audience" not in url.params


def test_expiry_is_told_fourteen_days_ahead() -> None:
    today = date(2026, 12, 5)
    assert expiry_warning(today + timedelta(days=15), None, today) == ""
    assert "in 14 days" in expiry_warning(today + timedelta(days=14), None, today)
    assert "expired" in expiry_warning(today - timedelta(days=1), None, today)
    assert "auth login" in expiry_warning(None, today - timedelta(days=1), today)
    assert "today" in expiry_warning(None, today, today)


def test_a_pasted_client_secret_is_trimmed_with_a_warning() -> None:
    jira = JiraSection(client_secret=" abc\n")
    assert jira.client_secret_trimmed() == ("abc", jira.client_secret_trimmed()[1])
    assert "trimmed" in jira.client_secret_trimmed()[1]
    assert "abc" not in jira.client_secret_trimmed()[1]
    assert JiraSection(client_secret="abc").client_secret_trimmed() == ("abc", "")


async def test_a_401_after_a_long_run_of_answers_says_the_token_has_probably_expired() -> None:
    from driver.errors import JiraAuthError as Refused
    from driver.jira.auth import Credentials
    from driver.jira.client import LONG_RUN, JiraClient

    answers = [200] * LONG_RUN + [401]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0), json={"name": "admin"})

    client = JiraClient(
        "http://jira.test",
        credentials=Credentials("basic", "u", "token-1"),
        api_type="datacenter",
        transport=httpx.MockTransport(handler),
    )
    for _ in range(LONG_RUN):
        await client.myself()
    with pytest.raises(Refused, match="probably expired") as refused:
        await client.myself()
    await client.aclose()
    assert f"after {LONG_RUN} answers" in str(refused.value)
    assert "token-1" not in str(refused.value)


async def test_a_401_at_once_is_a_plain_refusal() -> None:
    from driver.errors import JiraAuthError as Refused
    from driver.jira.auth import Credentials
    from driver.jira.client import JiraClient

    client = JiraClient(
        "http://jira.test",
        credentials=Credentials("basic", "u", "token-1"),
        api_type="datacenter",
        transport=httpx.MockTransport(lambda r: httpx.Response(401)),
    )
    with pytest.raises(Refused) as refused:
        await client.myself()
    await client.aclose()
    assert "expired" not in str(refused.value)
