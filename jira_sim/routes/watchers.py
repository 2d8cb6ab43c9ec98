"""Watchers of an issue: list (GET), add (POST) and remove (DELETE /issue/{key}/watchers).

Wire shapes from the specs' getIssueWatchers, addWatcher and removeWatcher: the POST body is one
JSON string (the account id on Cloud, the user name on Data Center) and both changes answer 204;
an unknown user is a 400 on Data Center and a 404 on Cloud.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim.data import User
from jira_sim.errors import JiraError
from jira_sim.routes.common import REST, api_of, issue_of, json_response
from jira_sim.state import State

router = APIRouter(prefix=REST)


def _user(state: State, name: str) -> User:
    catalog = state.catalog
    user = catalog.user_by_account.get(name) if state.cloud else catalog.user_by_name.get(name.lower())
    if user is None:
        if state.cloud:
            raise JiraError(404, [f"The user with account ID '{name}' does not exist."])
        raise JiraError(400, [f'The user "{name}" does not exist.'])
    return user


@router.get("/issue/{key}/watchers")
async def list_watchers(request: Request, state: State) -> Response:
    api = api_of(request, state)
    issue = issue_of(request, state)
    return json_response(
        {
            "self": f"{api.rest}/issue/{issue.key}/watchers",
            "isWatching": False,
            "watchCount": len(issue.watchers),
            "watchers": [shapes.user_json(api, user) for user in issue.watchers],
        }
    )


@router.post("/issue/{key}/watchers")
async def add_watcher(request: Request, state: State) -> Response:
    api_of(request, state)
    issue = issue_of(request, state)
    try:
        name = json.loads(await request.body() or b"null")
    except ValueError:
        raise JiraError(400, ["Unexpected character in the request body"]) from None
    if not isinstance(name, str):
        raise JiraError(400, ["Can not deserialize instance of java.lang.String"])
    user = _user(state, name)
    if user not in issue.watchers:
        issue.watchers.append(user)
    return Response(status_code=204)


@router.delete("/issue/{key}/watchers")
async def remove_watcher(request: Request, state: State) -> Response:
    api_of(request, state)
    issue = issue_of(request, state)
    params = request.query_params
    name = params.get("accountId") if state.cloud else params.get("username")
    if not name:
        raise JiraError(400, ["Specify the user: accountId (Cloud) or username (Data Center)."])
    user = _user(state, name)
    if user in issue.watchers:
        issue.watchers.remove(user)
    return Response(status_code=204)
