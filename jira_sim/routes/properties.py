"""Entity properties of an issue: list, read, write (`/issue/{key}/properties[/{prop}]`,
docs/wire-facts.md §10)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim.errors import JiraError
from jira_sim.routes.changes import PROPERTY_VALUE_MAX
from jira_sim.routes.common import REST, api_of, issue_of, json_response
from jira_sim.state import State

router = APIRouter(prefix=REST)


@router.get("/issue/{key}/properties")
async def list_properties(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    keys = [{"self": f"{api.rest}/issue/{issue.id}/properties/{k}", "key": k} for k in issue.properties]
    return json_response({"keys": keys})


@router.get("/issue/{key}/properties/{prop}")
async def get_property(request: Request, state: State) -> Response:
    api_of(request, state)
    issue = issue_of(request, state)
    prop = request.path_params["prop"]
    if prop not in issue.properties:
        raise JiraError(404, [f"The property with key '{prop}' does not exist."])
    return json_response({"key": prop, "value": issue.properties[prop]})


@router.put("/issue/{key}/properties/{prop}")
async def put_property(request: Request, state: State) -> Response:
    api_of(request, state)
    issue = issue_of(request, state)
    prop = request.path_params["prop"]
    raw = await request.body()
    try:
        value = json.loads(raw)
    except ValueError:
        raise JiraError(400, ["The property value must be valid, non-empty JSON."]) from None
    if len(raw) > PROPERTY_VALUE_MAX:
        raise JiraError(400, ["The property value is too long: at most 32768 bytes."])
    existed = prop in issue.properties
    issue.properties[prop] = value
    return Response(status_code=200 if existed else 201)
