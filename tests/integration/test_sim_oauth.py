"""The simulator's OAuth 2.0 as Atlassian serves it (docs/wire-facts.md §9, §13, §14), over real HTTP
against real simulator processes: client credentials on both flavours, the Cloud gateway's
/ex/jira/{cloudId} prefix, expiry (on the manual clock, no sleeps), the authorization code with
PKCE, rotating refresh tokens with the reuse leeway, Data Center's refresh repeating redirect_uri,
tenant_info, accessible-resources and a service account's scoped API tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fixtures.sim import SimProcess, running_sim

CLOUD_ID = "5f1b2c3d-0000-4000-8000-00000000c10d"
SERVICE = {"client_id": "sim-service", "client_secret": "sim-service-secret"}
APP = {"client_id": "sim-app", "client_secret": "sim-app-secret"}
CALLBACK = "http://127.0.0.1:9/callback"
CLOUD_SCOPE = "read:jira-work write:jira-work read:jira-user offline_access"
MYSELF = "/rest/api/2/myself"


@pytest.fixture(scope="module")
def _cloud_pool() -> Iterator[SimProcess]:
    with running_sim("--flavor", "cloud", "--manual-clock") as sim:
        yield sim


@pytest.fixture
def cloud(_cloud_pool: SimProcess) -> SimProcess:
    """A Cloud simulator on a manual clock, reset before the test."""
    _cloud_pool.reset()
    return _cloud_pool


def token_url(sim: SimProcess) -> str:
    """Cloud's auth.atlassian.com token endpoint, or Data Center's own."""
    return sim.url + ("/oauth/token" if sim.flavor == "cloud" else "/rest/oauth2/latest/token")


def gateway(sim: SimProcess, cloud_id: str = CLOUD_ID) -> str:
    return f"{sim.url}/ex/jira/{cloud_id}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(name: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()}


def service_token(sim: SimProcess, **extra: str) -> str:
    answer = httpx.post(token_url(sim), data={"grant_type": "client_credentials", **SERVICE, **extra})
    assert answer.status_code == 200, answer.text
    access: str = answer.json()["access_token"]
    return access


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge (RFC 7636 §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def consent(sim: SimProcess, scope: str, **extra: str) -> dict[str, list[str]]:
    """Follow /authorize's 302 by hand: the query the redirect_uri receives."""
    path = "/authorize" if sim.flavor == "cloud" else "/rest/oauth2/latest/authorize"
    params = {
        "client_id": APP["client_id"],
        "scope": scope,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "prompt": "consent",
        **extra,
    }
    if sim.flavor == "cloud":
        params["audience"] = "api.atlassian.com"
    answer = httpx.get(sim.url + path, params=params, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return parse_qs(location.query)


def code_grant(sim: SimProcess, scope: str) -> dict[str, Any]:
    """A consent with PKCE, exchanged for tokens."""
    verifier, challenge = pkce()
    code = consent(sim, scope, code_challenge=challenge, code_challenge_method="S256", state="s")["code"][0]
    form = {"grant_type": "authorization_code", **APP, "code": code, "redirect_uri": CALLBACK}
    answer = httpx.post(token_url(sim), data=form | {"code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def refresh(sim: SimProcess, refresh_token: str, **extra: str) -> httpx.Response:
    body = {"grant_type": "refresh_token", **APP, "refresh_token": refresh_token, **extra}
    return httpx.post(token_url(sim), json=body)


def test_client_credentials_on_cloud_take_no_scope_and_work_only_through_the_gateway(
    cloud: SimProcess,
) -> None:
    scoped = httpx.post(
        token_url(cloud), data={"grant_type": "client_credentials", **SERVICE, "scope": "read:jira-work"}
    )
    assert scoped.status_code == 400
    assert scoped.json()["error"] == "invalid_scope"
    answer = httpx.post(token_url(cloud), data={"grant_type": "client_credentials", **SERVICE})
    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert "refresh_token" not in tokens
    # a JSON body and the client's id and secret in HTTP Basic (RFC 6749 §2.3.1) are taken too
    as_json = httpx.post(token_url(cloud), json={"grant_type": "client_credentials", **SERVICE})
    assert as_json.status_code == 200
    as_basic = httpx.post(
        token_url(cloud),
        data={"grant_type": "client_credentials"},
        headers=basic(SERVICE["client_id"], SERVICE["client_secret"]),
    )
    assert as_basic.status_code == 200
    access = tokens["access_token"]

    through = httpx.get(gateway(cloud) + MYSELF, headers=bearer(access))
    assert through.status_code == 200
    assert httpx.get(cloud.url + MYSELF, headers=bearer(access)).status_code == 401
    wrong = httpx.get(gateway(cloud, "0000-wrong") + MYSELF, headers=bearer(access))
    assert wrong.status_code == 404
    assert wrong.json()["message"] == "Not Found"
    # Basic keeps working at the site and through the gateway
    assert httpx.get(cloud.url + MYSELF, headers=basic("admin@example.com", "admin")).status_code == 200
    assert httpx.get(gateway(cloud) + MYSELF, headers=basic("admin", "admin")).status_code == 200

    entries = [(e["path"], e["status"], e["user"], e["gateway"], e["auth"]) for e in cloud.journal()]
    assert entries == [
        (MYSELF, 200, "admin", True, "Bearer"),
        (MYSELF, 401, None, False, "Bearer"),
        (MYSELF, 200, "admin", False, "Basic"),
        (MYSELF, 200, "admin", True, "Basic"),
    ]
    counts = cloud.admin("oauth")
    assert counts["token_requests"] == 4
    assert counts["by_grant"] == {"client_credentials": 4}


def test_token_endpoint_refusals(cloud: SimProcess) -> None:
    url = token_url(cloud)
    wrong = httpx.post(url, data={"grant_type": "client_credentials", **SERVICE, "client_secret": "x"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.json()["error_description"]
    unsupported = httpx.post(url, data={"grant_type": "password", **SERVICE})
    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_grant_type")
    missing = httpx.post(url, data={"grant_type": "client_credentials", "client_id": "sim-service"})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    no_code = httpx.post(url, data={"grant_type": "authorization_code", **APP, "redirect_uri": CALLBACK})
    assert (no_code.status_code, no_code.json()["error"]) == (400, "invalid_request")
    # an app has no client credentials grant, a service account no consent
    app = httpx.post(url, data={"grant_type": "client_credentials", **APP})
    assert app.status_code == 400
    counts = cloud.admin("oauth")
    assert counts["token_requests"] == 5
    assert counts["by_grant"] == {"client_credentials": 3, "authorization_code": 1}


def test_client_credentials_on_data_center_need_read_or_write(sim: SimProcess) -> None:
    url = token_url(sim)
    for scope in (None, "ADMIN", "read:jira-work"):
        form = {"grant_type": "client_credentials", **SERVICE} | ({"scope": scope} if scope else {})
        refused = httpx.post(url, data=form)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope"), scope
    answer = httpx.post(url, data={"grant_type": "client_credentials", **SERVICE, "scope": "READ WRITE"})
    assert answer.status_code == 200
    assert answer.json()["scope"] == "READ WRITE"
    assert "refresh_token" not in answer.json()
    access = answer.json()["access_token"]
    assert httpx.get(sim.url + MYSELF, headers=bearer(access)).json()["name"] == "admin"
    # Data Center has no gateway
    assert httpx.get(gateway(sim) + MYSELF, headers=bearer(access)).status_code == 404
    assert sim.admin("oauth/expire", {}) == {"expired": 1}
    assert httpx.get(sim.url + MYSELF, headers=bearer(access)).status_code == 401
    # the token endpoint is under /rest/ on Data Center, so it is journaled too
    (entry_ok, entry_expired) = [e for e in sim.journal() if e["path"] == MYSELF]
    assert (entry_ok["user"], entry_ok["gateway"]) == ("admin", False)
    assert entry_expired["status"] == 401


def test_an_expired_token_gets_the_gateways_configured_status(cloud: SimProcess) -> None:
    refused = httpx.post(f"{cloud.url}/_sim/config", json={"gateway_expired_status": 500})
    assert refused.status_code == 400
    cloud.config(gateway_expired_status=403, token_ttl=60)
    answer = httpx.post(token_url(cloud), data={"grant_type": "client_credentials", **SERVICE})
    assert answer.json()["expires_in"] == 60
    access = answer.json()["access_token"]
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(access)).status_code == 200
    cloud.advance(61)  # past token_ttl on the simulator's clock
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(access)).status_code == 403
    cloud.config(gateway_expired_status=404)
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(access)).status_code == 404
    # a new token (the renewal) works; /_sim/oauth/expire ends it mid-stream
    renewed = service_token(cloud)
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(renewed)).status_code == 200
    assert cloud.admin("oauth/expire", {}) == {"expired": 2}
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(renewed)).status_code == 404
    cloud.reset()
    assert cloud.config()["gateway_expired_status"] == 401
    assert cloud.config()["token_ttl"] == 3600.0


def test_authorization_code_with_pkce_on_cloud(cloud: SimProcess) -> None:
    verifier, challenge = pkce()
    query = consent(cloud, CLOUD_SCOPE, state="st-1", code_challenge=challenge, code_challenge_method="S256")
    assert query["state"] == ["st-1"]
    form = {"grant_type": "authorization_code", **APP, "code": query["code"][0], "redirect_uri": CALLBACK}
    wrong = httpx.post(token_url(cloud), data=form | {"code_verifier": "not-the-verifier"})
    assert (wrong.status_code, wrong.json()["error"]) == (403, "invalid_grant")
    # the code was used up by that attempt: single use
    again = httpx.post(token_url(cloud), data=form | {"code_verifier": verifier})
    assert again.status_code == 403

    query = consent(cloud, CLOUD_SCOPE, code_challenge=challenge, code_challenge_method="S256")
    assert "state" not in query  # echoed only when given
    form["code"] = query["code"][0]
    other_redirect = httpx.post(
        token_url(cloud), data=form | {"code_verifier": verifier, "redirect_uri": "http://elsewhere/"}
    )
    assert other_redirect.status_code == 403

    tokens = code_grant(cloud, CLOUD_SCOPE)
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    assert tokens["scope"] == CLOUD_SCOPE
    assert httpx.get(gateway(cloud) + "/rest/api/3/myself", headers=bearer(tokens["access_token"])).is_success
    assert httpx.get(cloud.url + MYSELF, headers=bearer(tokens["access_token"])).status_code == 401
    # no offline_access: no refresh token
    assert "refresh_token" not in code_grant(cloud, "read:jira-work write:jira-work")

    # the code expires after 10 minutes
    query = consent(cloud, CLOUD_SCOPE)
    cloud.advance(601)
    late = {"grant_type": "authorization_code", **APP, "code": query["code"][0], "redirect_uri": CALLBACK}
    assert httpx.post(token_url(cloud), data=late).status_code == 403


def test_authorize_refuses_an_unknown_client_with_a_page(cloud: SimProcess) -> None:
    params = {"client_id": "nobody", "redirect_uri": CALLBACK, "response_type": "code", "scope": "x"}
    answer = httpx.get(cloud.url + "/authorize", params=params, follow_redirects=False)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    service = httpx.get(
        cloud.url + "/authorize", params=params | {"client_id": "sim-service"}, follow_redirects=False
    )
    assert service.status_code == 400
    nobody = httpx.get(
        cloud.url + "/authorize",
        params=params | {"client_id": "sim-app", "sim_user": "nobody"},
        follow_redirects=False,
    )
    assert nobody.status_code == 400


def test_refresh_rotates_and_a_reuse_outside_the_leeway_revokes_the_grant(cloud: SimProcess) -> None:
    first = code_grant(cloud, CLOUD_SCOPE)
    rotated = refresh(cloud, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 3600
    assert cloud.admin("oauth")["last_refresh_tokens"] == [second["refresh_token"]]

    # the disabled token reused within the leeway (600 s): a new pair again
    cloud.advance(300)
    reused = refresh(cloud, first["refresh_token"])
    assert reused.status_code == 200
    third = reused.json()
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(third["access_token"])).status_code == 200

    # outside it (601 s after its disabling): the whole grant dies
    cloud.advance(301)
    late = refresh(cloud, first["refresh_token"])
    assert late.status_code == 403
    assert late.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    for token in (second["refresh_token"], third["refresh_token"]):
        assert refresh(cloud, token).status_code == 403
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(third["access_token"])).status_code == 401
    counts = cloud.admin("oauth")
    assert counts["revoked_grants"] == 1
    assert counts["last_refresh_tokens"] == []
    assert counts["by_grant"] == {"authorization_code": 1, "refresh_token": 5}
    unknown = refresh(cloud, "sim-rt-never-given")
    assert unknown.json()["error_description"] == "Unknown or invalid refresh token."


def test_data_center_3lo_and_its_refresh_repeating_redirect_uri(manual_sim: SimProcess) -> None:
    sim = manual_sim
    tokens = code_grant(sim, "WRITE")
    assert tokens["refresh_token"]  # always on Data Center, no offline_access needed
    assert httpx.get(sim.url + MYSELF, headers=bearer(tokens["access_token"])).json()["name"] == "admin"
    bare = refresh(sim, tokens["refresh_token"])
    assert (bare.status_code, bare.json()) == (400, {"error": "invalid_grant"})
    rotated = refresh(sim, tokens["refresh_token"], redirect_uri=CALLBACK)
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    unknown = refresh(sim, "sim-rt-never-given", redirect_uri=CALLBACK)
    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_grant"})
    sim.config(refresh_leeway=0)
    sim.advance(1)
    reused = refresh(sim, tokens["refresh_token"], redirect_uri=CALLBACK)
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})
    assert sim.admin("oauth")["revoked_grants"] == 1
    # a person other than the client's own consents (sim_user); plain PKCE
    query = consent(sim, "READ", sim_user="jsmith", code_challenge="plain-verifier-1234567890")
    form = {
        "grant_type": "authorization_code",
        **APP,
        "code": query["code"][0],
        "redirect_uri": CALLBACK,
        "code_verifier": "plain-verifier-1234567890",
    }
    access = httpx.post(token_url(sim), data=form).json()["access_token"]
    assert httpx.get(sim.url + MYSELF, headers=bearer(access)).json()["name"] == "jsmith"
    assert sim.journal()[-1]["user"] == "jsmith"


def test_tenant_info_and_accessible_resources(cloud: SimProcess, sim: SimProcess) -> None:
    assert httpx.get(cloud.url + "/_edge/tenant_info").json() == {"cloudId": CLOUD_ID}
    assert httpx.get(sim.url + "/_edge/tenant_info").status_code == 404
    resources = cloud.url + "/oauth/token/accessible-resources"
    assert httpx.get(resources).status_code == 401
    assert httpx.get(resources, headers=bearer("sim-at-forged")).status_code == 401
    tokens = code_grant(cloud, CLOUD_SCOPE)
    answer = httpx.get(resources, headers=bearer(tokens["access_token"]))
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "id": CLOUD_ID,
            "url": cloud.url,
            "name": "jira-sim",
            "scopes": CLOUD_SCOPE.split(),
            "avatarUrl": "",
        }
    ]
    cloud.admin("oauth/expire", {})
    assert httpx.get(resources, headers=bearer(tokens["access_token"])).status_code == 401


def test_a_service_accounts_scoped_token_works_only_through_the_gateway(
    tmp_path: Path, sim_factory: Callable[..., SimProcess]
) -> None:
    users = tmp_path / "users.json"
    accounts = [
        {"name": "admin", "password": "admin", "email": "admin@example.com"},
        {"name": "svc-bot", "password": "", "scoped_tokens": ["scoped-1", "scoped-2"]},
    ]
    users.write_text(json.dumps({"users": accounts}), encoding="utf-8")
    cloud = sim_factory("--flavor", "cloud", "--users-file", str(users))
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer("scoped-2")).status_code == 200
    assert httpx.get(cloud.url + MYSELF, headers=bearer("scoped-1")).status_code == 401
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer("not-a-token")).status_code == 401
    assert [(e["user"], e["gateway"]) for e in cloud.journal()] == [
        ("svc-bot", True),
        (None, False),
        (None, True),
    ]


def test_a_reset_forgets_every_token(cloud: SimProcess) -> None:
    access = service_token(cloud)
    cloud.reset()
    assert httpx.get(gateway(cloud) + MYSELF, headers=bearer(access)).status_code == 401
    assert cloud.admin("oauth") == {
        "token_requests": 0,
        "by_grant": {},
        "revoked_grants": 0,
        "access_tokens": 0,
        "last_refresh_tokens": [],
    }
