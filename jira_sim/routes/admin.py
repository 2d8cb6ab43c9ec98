"""The /_sim/ control endpoints for tests: health, journal, counters, reset, faults, limits, clock, issues.

No authentication and not journaled (the middleware layers handle /rest/ only).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim.clock import ManualClock
from jira_sim.data import Issue, jira_time, now
from jira_sim.errors import JiraError
from jira_sim.issues import Api
from jira_sim.routes.common import base_url, int_param, json_response
from jira_sim.settings import fault_from_json
from jira_sim.state import SimState, State

router = APIRouter(prefix="/_sim")


@router.get("/health")
async def health(state: State) -> Response:
    return json_response({"ok": True, "flavor": state.settings.flavor})


@router.get("/journal")
async def journal(request: Request, state: State) -> Response:
    since = int_param(request.query_params.get("since"), "since", 0)
    limit = int_param(request.query_params.get("limit"), "limit", 0)
    return json_response(state.journal.since(since, limit or None))


@router.get("/counters")
async def counters(state: State) -> Response:
    body = state.journal.counters.to_json()
    body["issues"] = len(state.store.by_id)
    return json_response(body)


@router.post("/reset")
async def reset(state: State) -> Response:
    state.reset()
    return json_response({"ok": True})


@router.get("/faults")
async def get_faults(state: State) -> Response:
    return _faults(state)


@router.post("/faults")
async def set_faults(request: Request, state: State) -> Response:
    body = await _admin_body(request)
    try:
        rules_in = body.get("rules", [])
        if "kind" in body:
            rules_in = [
                *rules_in,
                {k: v for k, v in body.items() if k not in {"rules", "clear", "latency_ms"}},
            ]
        rules = [fault_from_json(r) for r in rules_in]
    except (ValueError, TypeError, AttributeError) as exc:
        return json_response({"error": str(exc)}, 400)
    if body.get("clear"):
        state.faults.clear()
    state.faults.add(rules)
    if "latency_ms" in body:
        state.faults.latency_ms = float(body["latency_ms"])
    return _faults(state)


@router.delete("/faults")
async def clear_faults(state: State) -> Response:
    state.faults.clear()
    state.faults.latency_ms = 0.0
    return _faults(state)


def _faults(state: SimState) -> Response:
    return json_response(
        {"latency_ms": state.faults.latency_ms, "rules": [r.to_json() for r in state.faults.rules]}
    )


@router.get("/config")
async def get_config(state: State) -> Response:
    return _config(state)


@router.post("/config")
async def set_config(request: Request, state: State) -> Response:
    body = await _admin_body(request)
    known = set(asdict(state.limits))
    unknown = set(body) - known
    if unknown:
        return json_response({"error": f"unknown settings: {', '.join(sorted(unknown))}"}, 400)
    try:
        limits = replace(state.limits, **{k: type(getattr(state.limits, k))(v) for k, v in body.items()})
    except (TypeError, ValueError) as exc:
        return json_response({"error": str(exc)}, 400)
    if limits.gateway_expired_status not in (401, 403, 404):
        # what Atlassian's gateway is seen to answer an expired token (docs/wire-facts.md §14)
        return json_response({"error": "gateway_expired_status must be 401, 403 or 404"}, 400)
    state.limits = limits
    state.rate.configure(limits)
    state.faults.latency_ms = limits.latency_ms
    return _config(state)


def _config(state: SimState) -> Response:
    return json_response(asdict(state.limits) | {"flavor": state.settings.flavor})


@router.get("/clock")
async def get_clock(state: State) -> Response:
    return _clock(state)


@router.post("/clock")
async def set_clock(request: Request, state: State) -> Response:
    """`{"advance": SECONDS}` moves a manual clock (`--manual-clock`) forward; 409 on the real clock."""
    clock = state.clock
    if not isinstance(clock, ManualClock):
        return json_response({"error": "the clock is real; start the simulator with --manual-clock"}, 409)
    body = await _admin_body(request)
    unknown = set(body) - {"advance"}
    seconds = body.get("advance")
    if unknown or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return json_response({"error": 'expected {"advance": SECONDS}'}, 400)
    try:
        clock.advance(float(seconds))
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)
    state.webhooks.clock_moved()
    return _clock(state)


def _clock(state: SimState) -> Response:
    return json_response(
        {
            "manual": isinstance(state.clock, ManualClock),
            "now": jira_time(now(state.clock)),
            "monotonic": state.clock.monotonic(),
        }
    )


@router.post("/projects/{key}/archive")
async def archive_project(request: Request, state: State) -> Response:
    """Archive a project, as a Jira admin would: Cloud then answers 404 for its issues, Data Center
    403 to any change of them; GET project says `archived: true`. DELETE unarchives."""
    return _archived(request, state, True)


@router.delete("/projects/{key}/archive")
async def unarchive_project(request: Request, state: State) -> Response:
    return _archived(request, state, False)


def _archived(request: Request, state: SimState, archived: bool) -> Response:
    project = state.catalog.project(request.path_params["key"])
    if project is None:
        return json_response({"error": "no such project"}, 404)
    (state.archived.add if archived else state.archived.discard)(project.key)
    return json_response({"key": project.key, "archived": archived})


@router.get("/issues")
async def all_issues(request: Request, state: State) -> Response:
    api = Api(state.settings.flavor, request.query_params.get("api", "2"), base_url(request))
    wanted = shapes.wanted_fields(state.catalog, None)
    return json_response([_admin_issue(state, api, i, wanted) for i in state.store.by_id.values()])


@router.get("/issues/{key}")
async def one_issue(request: Request, state: State) -> Response:
    issue = state.store.get(request.path_params["key"])
    if issue is None:
        return json_response({"error": "no such issue"}, 404)
    api = Api(state.settings.flavor, request.query_params.get("api", "2"), base_url(request))
    return json_response(_admin_issue(state, api, issue, shapes.wanted_fields(state.catalog, None)))


def _admin_issue(state: SimState, api: Api, issue: Issue, wanted: list[str]) -> dict[str, Any]:
    body = shapes.issue_json(api, state.catalog, issue, wanted)
    body["properties"] = dict(issue.properties)
    body["watchers"] = [user.name for user in issue.watchers]
    return body


async def _admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise JiraError(400, ["expected a JSON object"])
    return data
