"""OAuth 2.0 endpoints as Atlassian serves them (docs/wire-facts.md §9, §13, §14), on the simulator's
one address: Cloud's `auth.atlassian.com` (`/authorize`, `/oauth/token`) and `api.atlassian.com`
(`/oauth/token/accessible-resources`; the gateway's `/ex/jira/{cloudId}` prefix is
jira_sim.middleware.gateway), a Cloud site's `/_edge/tenant_info`, and Data Center's
`/rest/oauth2/latest/{authorize,token}`. The admin side: GET /_sim/oauth (token requests by grant),
POST /_sim/oauth/expire, POST /_sim/permissions and /_sim/screens.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jira_sim import issues as shapes
from jira_sim.data import now
from jira_sim.errors import JiraError
from jira_sim.oauth import OAuthRefusal
from jira_sim.permissions import PERMISSION_NAMES, Screen
from jira_sim.routes.common import base_url, json_response
from jira_sim.state import SimState, State

router = APIRouter()
sim = APIRouter(prefix="/_sim")


def _seconds(state: SimState) -> float:
    return now(state.clock).timestamp()


async def _form(request: Request) -> dict[str, str]:
    """The token request's parameters: form-encoded (RFC 6749) or JSON (Atlassian's refresh
    examples), with a client's id and secret from HTTP Basic when it sends them so (RFC 6749 §2.3.1)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {}
        form = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    else:
        form = dict(parse_qsl(raw.decode("utf-8", "replace")))
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        form.setdefault("client_id", client_id)
        form.setdefault("client_secret", secret)
    return form


async def _token(request: Request, state: SimState) -> Response:
    """200 `{"access_token", "token_type": "Bearer", "expires_in": int, "scope"[, "refresh_token"]}`,
    or a refusal `{"error"[, "error_description"]}` with its status (jira_sim.oauth; §9, §13, §14)."""
    form = await _form(request)
    limits = state.limits
    try:
        answer = state.oauth.token(form, limits.token_ttl, limits.refresh_leeway, _seconds(state))
    except OAuthRefusal as refusal:
        body = {"error": refusal.error} | (
            {"error_description": refusal.description} if refusal.description else {}
        )
        return json_response(body, refusal.status)
    return json_response(answer)


def _error_page(message: str) -> Response:
    """A 400 page for the person at the browser: with no client or redirect to trust, the
    authorization server shows the error instead of redirecting (RFC 6749 §4.1.2.1)."""
    text = html.escape(message)
    page = f"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>{text}</h1></body></html>"
    return HTMLResponse(page, status_code=400)


def _authorize(request: Request, state: SimState) -> Response:
    """Consent given at once as the client's user (or `sim_user`): 302 to
    `redirect_uri?code=CODE[&state=STATE]` (state echoed only when sent); docs/wire-facts.md §14."""
    query = request.query_params
    redirect_uri = query.get("redirect_uri", "")
    if not any(c.client_id == query.get("client_id") for c in state.oauth.clients):
        return _error_page("Unknown client: the app's client_id is not registered.")
    if query.get("response_type") != "code" or not redirect_uri:
        return _error_page("Invalid request: response_type=code and redirect_uri are required.")
    person = query.get("sim_user", "")
    if person and person.lower() not in state.catalog.user_by_name:
        # a consent by nobody would give tokens that every request refuses: say so here
        return _error_page(f"Unknown user {person!r}: no such account to consent as.")
    try:
        code = state.oauth.authorize(
            query.get("client_id", ""),
            redirect_uri,
            query.get("scope", ""),
            query.get("code_challenge", ""),
            query.get("code_challenge_method", ""),
            query.get("sim_user", ""),
            _seconds(state),
        )
    except OAuthRefusal as refusal:
        return _error_page(f"{refusal.error}: {refusal.description}")
    back = {"code": code} | ({"state": query["state"]} if "state" in query else {})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(back), status_code=302)


@router.post("/oauth/token")
async def cloud_token(request: Request, state: State) -> Response:
    if not state.cloud:
        return json_response({"errorMessages": ["null for uri"]}, 404)
    return await _token(request, state)


@router.post("/rest/oauth2/latest/token")
async def dc_token(request: Request, state: State) -> Response:
    if state.cloud:
        return json_response({"errorMessages": ["null for uri"]}, 404)
    return await _token(request, state)


@router.get("/authorize")
async def cloud_authorize(request: Request, state: State) -> Response:
    if not state.cloud:
        return json_response({"errorMessages": ["null for uri"]}, 404)
    return _authorize(request, state)


@router.get("/rest/oauth2/latest/authorize")
async def dc_authorize(request: Request, state: State) -> Response:
    if state.cloud:
        return json_response({"errorMessages": ["null for uri"]}, 404)
    return _authorize(request, state)


@router.get("/_edge/tenant_info")
async def tenant_info(request: Request, state: State) -> Response:
    if not state.cloud:
        return json_response({"errorMessages": ["null for uri"]}, 404)
    return json_response({"cloudId": state.settings.cloud_id})


@router.get("/oauth/token/accessible-resources")
async def accessible_resources(request: Request, state: State) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    grant = state.oauth.access.get(token.strip()) if scheme.lower() == "bearer" else None
    if not state.cloud or grant is None or grant.expires_at <= _seconds(state):
        return json_response({"code": 401, "message": "Unauthorized"}, 401)
    return json_response(
        [
            {
                "id": state.settings.cloud_id,
                "url": base_url(request),
                "name": "jira-sim",
                "scopes": grant.scope.split(),
                "avatarUrl": "",
            }
        ]
    )


@sim.get("/oauth")
async def oauth_counts(state: State) -> Response:
    """`{"token_requests", "by_grant", "revoked_grants", "access_tokens", "last_refresh_tokens"}`
    (OAuthState.counts)."""
    return json_response(state.oauth.counts())


@sim.post("/oauth/expire")
async def oauth_expire(state: State) -> Response:
    """`{}` -> `{"expired": n}`: every access token given so far is expired from now on."""
    return json_response({"expired": state.oauth.expire_all(_seconds(state))})


async def _admin_json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise JiraError(400, ["expected a JSON object"]) from None
    if not isinstance(data, dict):
        raise JiraError(400, ["expected a JSON object"])
    return data


@sim.post("/permissions")
async def set_permissions(request: Request, state: State) -> Response:
    """{"user", "project" (optional), "denied": [KEY, ...]} replaces that user's denied list."""
    data = await _admin_json(request)
    denied = frozenset(str(k).upper() for k in data.get("denied", []))
    unknown = denied - set(PERMISSION_NAMES)
    if unknown or not isinstance(data.get("user"), str):
        raise JiraError(400, [f"expected a user and known permission keys (unknown: {sorted(unknown)})"])
    key = (str(data["user"]).lower(), str(data.get("project", "")).upper())
    state.rules.denied[key] = denied
    return json_response({"user": key[0], "project": key[1], "denied": sorted(denied)})


@sim.post("/screens")
async def set_screen(request: Request, state: State) -> Response:
    """{"project", "issuetype" (optional), "hidden": [field id], "required": [field id]}."""
    data = await _admin_json(request)
    if not isinstance(data.get("project"), str):
        raise JiraError(400, ["expected a project"])
    screen = Screen(
        frozenset(map(str, data.get("hidden", []))), frozenset(map(str, data.get("required", [])))
    )
    # Jira cannot require a field that does not exist: a test asking for one would get a create the
    # simulator refuses for a field its createmeta never lists, which no real site does
    known = {f.id for f in shapes.create_fields(state.catalog)}
    unknown = sorted((screen.hidden | screen.required) - known)
    if unknown:
        raise JiraError(
            400, [f"unknown field ids {unknown}: the simulator's settable fields are {sorted(known)}"]
        )
    state.rules.screens[(str(data["project"]).upper(), str(data.get("issuetype", "")).casefold())] = screen
    return json_response(
        {"project": data["project"], "hidden": sorted(screen.hidden), "required": sorted(screen.required)}
    )
