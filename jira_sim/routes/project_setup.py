"""How a project is set up, as a client asks before writing: the user's permissions in it
(getMyPermissions) and its workflows' statuses per issue type (getAllStatuses)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim.errors import JiraError
from jira_sim.permissions import PERMISSION_NAMES
from jira_sim.routes.common import REST, api_of, csv_params, json_response, user_of
from jira_sim.state import State

router = APIRouter(prefix=REST)


@router.get("/mypermissions")
async def my_permissions(request: Request, state: State) -> Response:
    """`{"permissions": {KEY: {"id", "key", "name", "type": "PROJECT", "description",
    "havePermission"}}}` for the asked keys (every known key when none is asked, DC only: Cloud
    answers 400 without `permissions`, docs/wire-facts.md §14); an unknown key 400."""
    api_of(request, state)
    user = user_of(request)
    asked = [k.upper() for k in csv_params(request, "permissions")]
    if not asked and state.cloud:
        # Cloud needs the list (docs/wire-facts.md §14)
        raise JiraError(400, ["The 'permissions' query parameter is required."])
    unknown = [k for k in asked if k not in PERMISSION_NAMES]
    if unknown:
        raise JiraError(400, [f"Unrecognized permission key: {', '.join(unknown)}"])
    project = request.query_params.get("projectKey", "")
    if project and state.catalog.project(project) is None:
        raise JiraError(404, [f"No project could be found with key '{project}'."])
    answer: dict[str, Any] = {}
    for key in asked or list(PERMISSION_NAMES):
        permission_id, name = PERMISSION_NAMES[key]
        # without projectKey: held unless taken away in every project (Jira: "in any project")
        held = state.rules.has(user.name, project, key, user.no_create)
        answer[key] = {
            "id": permission_id,
            "key": key,
            "name": name,
            "type": "PROJECT",
            "description": f"Ability to {name.lower()}.",
            "havePermission": held,
        }
    return json_response({"permissions": answer})


@router.get("/project/{key}/statuses")
async def project_statuses(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    project = catalog.project(request.path_params["key"])
    if project is None:
        raise JiraError(404, [f"No project could be found with key '{request.path_params['key']}'."])
    body = []
    for issuetype in catalog.issue_types:
        workflow = catalog.workflow(project, issuetype)
        body.append(
            {
                "self": f"{api.rest}/issuetype/{issuetype.id}",
                "id": issuetype.id,
                "name": issuetype.name,
                "subtask": False,
                "statuses": [shapes.status_json(api, s) for s in workflow.statuses],
            }
        )
    return json_response(body)
