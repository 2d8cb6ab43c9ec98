"""JQL search: DC's /search (startAt/total), Cloud's /search/jql (page tokens) and approximate-count.

Cloud's eventual consistency: an issue is invisible to search until `search_lag` seconds of the state's
clock have passed since it was created, unless its id is in `reconcileIssues` (docs/wire-facts.md §5).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim import lifecycle
from jira_sim.data import Issue
from jira_sim.errors import JiraError
from jira_sim.issues import Api
from jira_sim.jql import JqlError, compile_query
from jira_sim.routes.common import REST, api_of, int_param, json_response, not_found, read_body, user_of
from jira_sim.search import functions_for, sort_default
from jira_sim.state import SimState, State

SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

router = APIRouter(prefix=REST)


def _search(
    request: Request, state: SimState, jql: str, reconcile: set[str] | None = None
) -> tuple[list[Issue], bool]:
    """(matching issues in the query's order, whether the query is bounded); JiraError 400 for bad JQL."""
    try:
        compiled = compile_query(jql, state.jql, functions_for(user_of(request), state.clock))
    except JqlError as error:
        raise JiraError(400, [error.message]) from None
    clock = state.clock.monotonic()
    found = [
        issue
        for issue in state.store.by_id.values()
        if (issue.searchable_at <= clock or (reconcile is not None and issue.id in reconcile))
        and compiled.matches(issue)
    ]
    if compiled.order_by:
        compiled.sort(found)
    else:
        sort_default(found)
    return found, compiled.bounded


async def _search_params(request: Request) -> dict[str, Any]:
    if request.method == "POST":
        return await read_body(request, required=False)
    params: dict[str, Any] = {k: request.query_params.get(k) for k in request.query_params}
    for key in ("fields", "properties", "expand", "reconcileIssues"):
        values = request.query_params.getlist(key)
        if values:
            params[key] = [v for item in values for v in item.split(",") if v]
    return params


def _as_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise JiraError(400, [f"The value of '{name}' must be a list of strings."])


def _jql(params: dict[str, Any]) -> str:
    jql = params.get("jql") or ""
    if not isinstance(jql, str):
        raise JiraError(400, ["The value of 'jql' must be a string."])
    return jql


CHANGELOG_IN_SEARCH = 40
"""Histories Cloud's enhanced search (`/search/jql`) puts in an `expand=changelog`: the newest 40,
with `total` saying how many there are (the rest only through getChangeLogs, paged)."""


def _rendered(
    api: Api,
    state: SimState,
    issue: Issue,
    wanted: list[str],
    properties: list[str],
    expand: list[str],
    changelog_cap: int | None = None,
) -> dict[str, Any]:
    """A hit as an IssueBean; `expand=changelog` adds its change history, as getIssue does (the newest
    `changelog_cap` histories, if given)."""
    body = shapes.issue_json(api, state.catalog, issue, wanted, properties)
    if "changelog" in expand:
        body["changelog"] = lifecycle.changelog_json(api, issue, newest=changelog_cap)
    return body


def _page_token(offset: int, jql: str) -> str:
    raw = f"{offset}:{zlib.crc32(jql.encode()):08x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, jql: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, _, check = raw.partition(":")
        if check != f"{zlib.crc32(jql.encode()):08x}":
            raise ValueError
        return int(offset_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise JiraError(400, ["The provided next page token is invalid or expired."]) from None


def _page_size(state: SimState, asked: int, cap: int) -> int:
    """The issues one page holds: what was asked, within Jira's cap and the configured page max."""
    most = state.limits.search_page_max
    return min(asked, cap, most) if most > 0 else min(asked, cap)


@router.api_route("/search", methods=["GET", "POST"])
async def search(request: Request, state: State) -> Response:
    api = api_of(request, state)
    if state.cloud:
        raise JiraError(410, [SEARCH_GONE])
    catalog = state.catalog
    params = await _search_params(request)
    jql = _jql(params)
    start = int_param(params.get("startAt"), "startAt", 0)
    size = _page_size(state, int_param(params.get("maxResults"), "maxResults", 50), 1000)
    wanted = shapes.wanted_fields(catalog, _as_list(params.get("fields"), "fields"))
    properties = _as_list(params.get("properties"), "properties") or []
    expand = _as_list(params.get("expand"), "expand") or []
    found, _ = _search(request, state, jql)
    page = found[start : start + size]
    return json_response(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(found),
            "issues": [_rendered(api, state, i, wanted, properties, expand) for i in page],
        }
    )


@router.api_route("/search/jql", methods=["GET", "POST"])
async def search_jql(request: Request, state: State) -> Response:
    api = api_of(request, state)
    if not state.cloud:
        raise not_found(request)
    catalog = state.catalog
    params = await _search_params(request)
    jql = _jql(params)
    size = _page_size(state, int_param(params.get("maxResults"), "maxResults", 50), 5000)
    token = params.get("nextPageToken")
    start = _read_token(token, jql) if isinstance(token, str) and token else 0
    requested = _as_list(params.get("fields"), "fields")
    properties = _as_list(params.get("properties"), "properties") or []
    expand = _as_list(params.get("expand"), "expand") or []
    reconcile_raw = params.get("reconcileIssues") or []
    if not isinstance(reconcile_raw, list):
        raise JiraError(400, ["reconcileIssues must be a list of issue ids."])
    reconcile = {str(i) for i in reconcile_raw[:50]}
    found, bounded = _search(request, state, jql, reconcile)
    if not bounded:
        raise JiraError(400, [UNBOUNDED])
    page = found[start : start + size]
    if requested is None or requested == ["id"]:
        issues_out: list[dict[str, Any]] = [{"id": i.id} for i in page]
    else:
        wanted = shapes.wanted_fields(catalog, requested)
        issues_out = [_rendered(api, state, i, wanted, properties, expand, CHANGELOG_IN_SEARCH) for i in page]
    result: dict[str, Any] = {"issues": issues_out}
    is_last = start + size >= len(found)
    if not is_last:
        result["nextPageToken"] = _page_token(start + size, jql)
    result["isLast"] = is_last
    return json_response(result)


@router.post("/search/approximate-count")
async def approximate_count(request: Request, state: State) -> Response:
    api_of(request, state)
    if not state.cloud:
        raise not_found(request)
    params = await read_body(request)
    found, bounded = _search(request, state, _jql(params))
    if not bounded:
        raise JiraError(400, [UNBOUNDED])
    return json_response({"count": len(found)})
