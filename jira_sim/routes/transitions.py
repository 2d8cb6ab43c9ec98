"""Workflow moves: the transitions an issue offers (GET) and doing one (POST /issue/{key}/transitions).

The workflow is the one of the issue's project and type (`Catalog.workflow`); docs/wire-facts.md §4,
getTransitions / doTransition.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim import lifecycle
from jira_sim.errors import JiraError
from jira_sim.routes.changes import not_valid, read_properties, read_screen, screen_fields_json, transition_id
from jira_sim.routes.common import REST, api_of, issue_of, json_response, read_body, require, user_of
from jira_sim.state import State

router = APIRouter(prefix=REST)


@router.get("/issue/{key}/transitions")
async def list_transitions(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    only = request.query_params.get("transitionId")
    with_fields = "transitions.fields" in request.query_params.get("expand", "")
    workflow = state.catalog.workflow(issue.project, issue.issuetype)
    items = []
    allowed = state.rules.has(user_of(request).name, issue.project.key, "TRANSITION_ISSUES")
    for transition in workflow.available(issue.status) if allowed else []:
        if only and transition.id != only:
            continue
        item: dict[str, Any] = {
            "id": transition.id,
            "name": transition.name,
            "to": shapes.status_json(api, transition.to),
        }
        if state.cloud:
            item.update(
                {
                    "hasScreen": transition.has_screen,
                    "isGlobal": transition.is_global,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "looped": False,
                }
            )
        else:
            item["opsbarSequence"] = int(transition.id)
        if with_fields:
            item["fields"] = screen_fields_json(api, state.catalog, transition)
        items.append(item)
    return json_response({"expand": "transitions", "transitions": items})


@router.post("/issue/{key}/transitions")
async def do_transition(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    require(
        state, request, issue, "TRANSITION_ISSUES", "You do not have permission to transition this issue."
    )
    body = await read_body(request)
    chosen = transition_id(body.get("transition"))
    transition = state.catalog.workflow(issue.project, issue.issuetype).transition(chosen)
    if transition is None or not transition.available_from(issue.status):
        raise not_valid(chosen)
    resolution, comments = read_screen(api, state.catalog, transition, body)
    errors: dict[str, str] = {}
    properties = read_properties(body.get("properties"), errors)
    if errors:
        raise JiraError(400, [], errors)
    # The body's properties (IssueUpdateDetails.properties, spec doTransition) are set with the
    # transition or not at all: a client reads them back to learn whether its transition happened.
    issue.properties.update(properties)
    lifecycle.transition(state, api, issue, transition, resolution, comments, user_of(request))
    return Response(status_code=204)
