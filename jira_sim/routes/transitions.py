"""Workflow moves: the transitions an issue offers (GET) and doing one (POST /issue/{key}/transitions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim.data import now
from jira_sim.errors import JiraError
from jira_sim.issues import FieldProblem
from jira_sim.routes.changes import add_comment, move, transition_id
from jira_sim.routes.common import REST, api_of, issue_of, json_response, read_body, user_of
from jira_sim.state import State

router = APIRouter(prefix=REST)

_CLOUD_TRANSITION_FLAGS = {
    "hasScreen": False,
    "isGlobal": True,
    "isInitial": False,
    "isAvailable": True,
    "isConditional": False,
    "looped": False,
}


@router.get("/issue/{key}/transitions")
async def list_transitions(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    only = request.query_params.get("transitionId")
    with_fields = "transitions.fields" in request.query_params.get("expand", "")
    items = []
    for transition in state.catalog.transitions:
        if transition.to == issue.status or (only and transition.id != only):
            continue
        item: dict[str, Any] = {
            "id": transition.id,
            "name": transition.name,
            "to": shapes.status_json(api, transition.to),
        }
        if state.cloud:
            item.update(_CLOUD_TRANSITION_FLAGS)
        else:
            item["opsbarSequence"] = int(transition.id)
        if with_fields:
            item["fields"] = {}
        items.append(item)
    return json_response({"expand": "transitions", "transitions": items})


@router.post("/issue/{key}/transitions")
async def do_transition(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    issue = issue_of(request, state)
    body = await read_body(request)
    chosen = transition_id(body.get("transition"))
    transition = catalog.transition_by_id.get(chosen)
    if transition is None or transition.to == issue.status:
        raise JiraError(400, [f"Transition id '{chosen}' is not valid for this issue."])
    fields_in = body.get("fields") or {}
    if not isinstance(fields_in, dict):
        raise JiraError(400, ["Can not deserialize instance of java.util.HashMap out of START_ARRAY token"])
    resolution = None
    errors: dict[str, str] = {}
    for fid, value in fields_in.items():
        if fid != "resolution" or transition.to.category.key != "done":
            errors[fid] = shapes.NOT_SETTABLE.format(fid)
            continue
        try:
            name, ident = shapes._by_name_or_id(value, "resolution")
        except FieldProblem as problem:
            errors[fid] = str(problem)
            continue
        resolution = (
            catalog.resolution_by_name.get(name.lower())
            if name
            else catalog.resolution_by_id.get(ident or "")
        )
        if resolution is None:
            errors[fid] = f"Resolution '{name or ident}' is not valid"
    comments: list[Any] = []
    update = body.get("update") or {}
    if isinstance(update, dict) and update:
        changes = shapes.Changes({}, {}, {}, [], {})
        for fid, operations in update.items():
            if fid == "comment":
                shapes._read_comment_updates(api, operations, changes)
            else:
                errors[fid] = shapes.NOT_SETTABLE.format(fid)
        errors.update(changes.errors)
        comments = changes.comments
    if errors:
        raise JiraError(400, [], errors)
    move(state, issue, chosen, resolution)
    stamp = now(state.clock)
    for text in comments:
        add_comment(state, issue, user_of(request), text, stamp)
    issue.updated = stamp
    state.journal.counters.transitions += 1
    return Response(status_code=204)
