"""Comments of an issue: list (GET) and add (POST /issue/{key}/comment)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim import lifecycle
from jira_sim.routes.common import (
    REST,
    api_of,
    int_param,
    issue_of,
    json_response,
    read_body,
    require,
    user_of,
)
from jira_sim.state import State

router = APIRouter(prefix=REST)


@router.get("/issue/{key}/comment")
async def list_comments(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    start = int_param(request.query_params.get("startAt"), "startAt", 0)
    size = int_param(request.query_params.get("maxResults"), "maxResults", 5000)
    page = shapes.comments_page(api, issue, start, size)
    page["maxResults"] = size
    return json_response(page)


@router.post("/issue/{key}/comment")
async def create_comment(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    require(state, request, issue, "ADD_COMMENTS", "You do not have the permission to comment on this issue.")
    body = await read_body(request)
    text = shapes.read_comment_body(api, body.get("body"))
    comment = lifecycle.comment(state, api, issue, user_of(request), text)
    return json_response(shapes.comment_json(api, issue, comment), 201)
