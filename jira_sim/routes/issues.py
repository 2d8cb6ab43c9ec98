"""Issues: create (POST /issue), read (GET /issue/{key}), edit (PUT /issue/{key}), delete (DELETE)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim import lifecycle
from jira_sim.data import DEFAULT_PRIORITY, Issue, now
from jira_sim.errors import JiraError
from jira_sim.issues import FieldProblem
from jira_sim.routes.changes import read_properties, transition_id
from jira_sim.routes.common import (
    REST,
    api_of,
    csv_params,
    int_param,
    issue_of,
    json_response,
    list_param,
    read_body,
    require,
    user_of,
)
from jira_sim.state import State

router = APIRouter(prefix=REST)


@router.post("/issue")
async def create_issue(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    user = user_of(request)
    body = await read_body(request)
    fields_in = body.get("fields")
    if not isinstance(fields_in, dict):
        fields_in = {}
    update_in = body.get("update") if isinstance(body.get("update"), dict) else {}
    assert isinstance(update_in, dict)
    present = {**{k: True for k in update_in}, **fields_in}
    errors = shapes.required_errors(state.settings.flavor, present)
    project_obj = None
    if "project" not in errors:
        try:
            project_obj = shapes.read_project(catalog, fields_in.get("project"))
        except FieldProblem as problem:
            errors["project"] = str(problem)
    if project_obj is not None and not state.rules.has(
        user.name, project_obj.key, "CREATE_ISSUES", user.no_create
    ):
        raise JiraError(403, ["You do not have permission to create issues in this project."])
    changes = shapes.read_changes(api, catalog, body, creating=True)
    for fid, message in changes.errors.items():
        errors.setdefault(fid, message)
    if project_obj is not None and "issuetype" in changes.sets:
        screen = state.rules.screen(project_obj.key, changes.sets["issuetype"].name)
        for fid in sorted(screen.hidden & set(present)):
            errors.setdefault(fid, shapes.NOT_SETTABLE.format(fid))
        for fid in sorted(screen.required - set(present)):
            fdef = catalog.field_by_id.get(fid)
            errors.setdefault(fid, f"{fdef.name if fdef is not None else fid} is required.")
    properties = read_properties(body.get("properties"), errors)
    to = transition_id(body.get("transition")) if body.get("transition") is not None else None
    workflow = (
        catalog.workflow(project_obj, changes.sets["issuetype"])
        if project_obj is not None and "issuetype" in changes.sets
        else None
    )
    initial = None if workflow is None or to is None else workflow.transition(to)
    if to is not None and workflow is not None and initial is None:
        errors.setdefault("transition", f"Transition id '{to}' is not valid for this issue.")
    if errors:
        raise JiraError(400, [], errors)
    assert project_obj is not None
    assert workflow is not None
    issue_id, key, number = state.store.next_key(project_obj)
    stamp = now(state.clock)
    issue = Issue(
        id=issue_id,
        key=key,
        number=number,
        project=project_obj,
        issuetype=changes.sets["issuetype"],
        summary=changes.sets["summary"],
        priority=changes.sets.get("priority") or DEFAULT_PRIORITY,
        reporter=changes.sets.get("reporter") or user,
        creator=user,
        created=stamp,
        updated=stamp,
        properties=properties,
        status=workflow.initial,
    )
    shapes.apply_changes(issue, changes)
    if initial is not None:
        lifecycle.enter_status(state, issue, initial, None)
    state.store.add(issue, state.limits.search_lag)
    state.journal.counters.created += 1
    lifecycle.created(state, api, issue, user)
    request.state.sim_issue_key = key
    return json_response({"id": issue_id, "key": key, "self": f"{api.rest}/issue/{issue_id}"}, 201)


@router.get("/issue/{key}")
async def get_issue(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    wanted = shapes.wanted_fields(state.catalog, list_param(request, "fields"))
    properties = csv_params(request, "properties")
    body = shapes.issue_json(api, state.catalog, issue, wanted, properties)
    if "changelog" in csv_params(request, "expand"):
        body["changelog"] = lifecycle.changelog_json(api, issue)
    return json_response(body)


@router.get("/issue/{key}/changelog")
async def get_changelogs(request: Request, state: State) -> Response:
    """getChangeLogs (Cloud): the issue's histories oldest first, paged (`startAt`, `maxResults` up
    to 100): PageBeanChangelog {self, maxResults, startAt, total, isLast, values}. Data Center has no
    such resource (404), as DC 10.3's spec."""
    if not state.cloud:
        raise JiraError(404, ["null for uri: " + str(request.url)])
    api = api_of(request, state)
    issue = issue_of(request, state)
    start = max(0, int_param(request.query_params.get("startAt"), "startAt", 0))
    size = min(100, max(1, int_param(request.query_params.get("maxResults"), "maxResults", 100)))
    groups = issue.changelog[start : start + size]
    total = len(issue.changelog)
    return json_response(
        {
            "self": str(request.url),
            "maxResults": size,
            "startAt": start,
            "total": total,
            "isLast": start + size >= total,
            "values": [_spec_history(lifecycle.history_json(api, g)) for g in groups],
        }
    )


def _spec_history(history: dict[str, Any]) -> dict[str, Any]:
    """A history as getChangeLogs' schema has it: ChangeDetails' `from`/`to` are strings, left out
    when there is none (a text field's change)."""
    items = [
        {k: v for k, v in item.items() if v is not None or k not in ("from", "to")}
        for item in history.get("items", [])
    ]
    return {**history, "items": items}


@router.put("/issue/{key}")
async def edit_issue(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    issue = issue_of(request, state)
    require(
        state, request, issue, "EDIT_ISSUES", "You do not have permission to edit issues in this project."
    )
    body = await read_body(request, required=False)
    changes = shapes.read_changes(api, catalog, body, creating=False)
    if changes.errors:
        raise JiraError(400, [], changes.errors)
    if "properties" in body:
        errors: dict[str, str] = {}
        new_properties = read_properties(body["properties"], errors)
        if errors:
            raise JiraError(400, [], errors)
        issue.properties.update(new_properties)
    lifecycle.edit(state, api, issue, changes, user_of(request))
    if request.query_params.get("returnIssue") == "true":
        return json_response(shapes.issue_json(api, catalog, issue, shapes.wanted_fields(catalog, None)))
    return Response(status_code=204)


@router.delete("/issue/{key}")
async def delete_issue(request: Request, state: State) -> Response:
    """deleteIssue: 204, and the key answers 404 from then on (subtasks do not exist here)."""
    api = api_of(request, state)
    issue = issue_of(request, state)
    lifecycle.delete(state, api, issue, user_of(request))
    state.journal.counters.deleted += 1
    return Response(status_code=204)
