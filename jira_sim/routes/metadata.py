"""What clients read before writing: serverInfo, myself, fields, projects, workflow names, createmeta."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim.data import jira_time, now
from jira_sim.errors import JiraError
from jira_sim.routes.common import REST, api_of, csv_params, int_param, json_response, not_found, user_of
from jira_sim.state import SimState, State

DC_VERSION = (10, 3, 24)
CLOUD_VERSION = (1001, 0, 0)

router = APIRouter(prefix=REST)


@router.get("/serverInfo")
async def server_info(request: Request, state: State) -> Response:
    api = api_of(request, state)
    cloud = state.cloud
    version = CLOUD_VERSION if cloud else DC_VERSION
    body: dict[str, Any] = {
        "baseUrl": api.base,
        "version": "1001.0.0-SNAPSHOT" if cloud else ".".join(map(str, DC_VERSION)),
        "versionNumbers": list(version),
        "deploymentType": "Cloud" if cloud else "Server",
        "buildNumber": 100289 if cloud else 10030024,
        "buildDate": "2025-11-20T00:00:00.000+0000",
        "serverTime": jira_time(now(state.clock)),
        "scmInfo": "0000000000000000000000000000000000000000",
        "serverTitle": "Jira Simulator",
    }
    if cloud:
        body["displayUrl"] = api.base
    return json_response(body)


@router.get("/myself")
async def myself(request: Request, state: State) -> Response:
    return json_response(shapes.myself_json(api_of(request, state), user_of(request)))


@router.get("/field")
async def fields(request: Request, state: State) -> Response:
    api_of(request, state)
    return json_response(shapes.field_list_json(state.catalog))


@router.get("/project")
async def projects(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    return json_response([shapes.project_json(api, p, catalog, full=False) for p in catalog.projects])


@router.get("/project/{key}")
async def project(request: Request, state: State) -> Response:
    api = api_of(request, state)
    found = state.catalog.project(request.path_params["key"])
    if found is None:
        raise JiraError(404, [f"No project could be found with key '{request.path_params['key']}'."])
    return json_response(shapes.project_json(api, found, state.catalog, archived=found.key in state.archived))


@router.get("/priority")
async def priorities(request: Request, state: State) -> Response:
    api = api_of(request, state)
    return json_response([shapes.priority_json(api, p) for p in state.catalog.priorities])


@router.get("/issuetype")
async def issue_types(request: Request, state: State) -> Response:
    api = api_of(request, state)
    return json_response([shapes.issuetype_json(api, t) for t in state.catalog.issue_types])


@router.get("/status")
async def statuses(request: Request, state: State) -> Response:
    api = api_of(request, state)
    return json_response([shapes.status_json(api, s) for s in state.catalog.statuses])


@router.get("/resolution")
async def resolutions(request: Request, state: State) -> Response:
    api = api_of(request, state)
    return json_response([shapes.resolution_json(api, r) for r in state.catalog.resolutions])


# Registered before the issue routes: /issue/createmeta is not the issue with key "createmeta".
@router.get("/issue/createmeta")
async def createmeta_global(request: Request, state: State) -> Response:
    api = api_of(request, state)
    if not state.cloud:
        raise not_found(request)
    catalog = state.catalog
    keys = {k.upper() for k in csv_params(request, "projectKeys")}
    ids = set(csv_params(request, "projectIds"))
    names = set(csv_params(request, "issuetypeNames"))
    type_ids = set(csv_params(request, "issuetypeIds"))
    with_fields = "projects.issuetypes.fields" in request.query_params.get("expand", "")
    chosen_projects = [p for p in catalog.projects if (not keys and not ids) or p.key in keys or p.id in ids]
    body_projects = []
    for p in chosen_projects:
        types = []
        for t in catalog.issue_types:
            if (names and t.name not in names) or (type_ids and t.id not in type_ids):
                continue
            entry = shapes.issuetype_json(api, t)
            entry.pop("hierarchyLevel", None)
            if with_fields:
                screen = state.rules.screen(p.key, t.name)
                entry["fields"] = {
                    f.id: shapes.field_meta_json(api, catalog, f, with_field_id=False)
                    | ({"required": True} if f.id in screen.required else {})
                    for f in shapes.create_fields(catalog)
                    if f.id not in screen.hidden
                }
            types.append(entry)
        body_projects.append(
            {
                "self": f"{api.rest}/project/{p.id}",
                "id": p.id,
                "key": p.key,
                "name": p.name,
                "avatarUrls": shapes.avatar_urls(api, "project", p.id),
                "issuetypes": types,
            }
        )
    return json_response({"expand": "projects", "projects": body_projects})


@router.get("/issue/createmeta/{key}/issuetypes")
async def createmeta_types(request: Request, state: State) -> Response:
    api = api_of(request, state)
    found = state.catalog.project(request.path_params["key"])
    if found is None:
        raise JiraError(400, [f"No project could be found with key '{request.path_params['key']}'."])
    types = [shapes.issuetype_json(api, t) for t in state.catalog.issue_types]
    return _createmeta_page(request, state, types, "issueTypes")


@router.get("/issue/createmeta/{key}/issuetypes/{type_id}")
async def createmeta_fields(request: Request, state: State) -> Response:
    api = api_of(request, state)
    catalog = state.catalog
    found = catalog.project(request.path_params["key"])
    issuetype = catalog.issue_type_by_id.get(request.path_params["type_id"])
    if found is None or issuetype is None:
        raise JiraError(400, ["Issue Does Not Exist"])
    screen = state.rules.screen(found.key, issuetype.name)
    metas = []
    for f in shapes.create_fields(catalog):
        if f.id in screen.hidden:
            continue  # not on this project's create screen (/_sim/screens)
        meta = shapes.field_meta_json(api, catalog, f, with_field_id=True)
        if f.id in screen.required:
            meta["required"] = True
        metas.append(meta)
    return _createmeta_page(request, state, metas, "fields")


def _createmeta_page(request: Request, state: SimState, items: list[Any], cloud_key: str) -> Response:
    """One page of a createmeta listing: Cloud names the list after its items, DC calls it values."""
    start = int_param(request.query_params.get("startAt"), "startAt", 0)
    size = int_param(request.query_params.get("maxResults"), "maxResults", 50)
    chosen, total = items[start : start + size], len(items)
    if state.cloud:
        return json_response({cloud_key: chosen, "maxResults": size, "startAt": start, "total": total})
    return json_response(
        {
            "maxResults": size,
            "startAt": start,
            "total": total,
            "isLast": start + size >= total,
            "values": chosen,
        }
    )
