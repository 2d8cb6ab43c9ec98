"""Request and response helpers every route module shares: Jira's JSON, error bodies, parameters."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect

from jira_sim.data import Issue, User
from jira_sim.errors import ISSUE_ARCHIVED, ISSUE_NOT_FOUND, JiraError
from jira_sim.issues import Api
from jira_sim.responses import error_response, json_response
from jira_sim.state import SimState

__all__ = [
    "REST",
    "api_of",
    "base_url",
    "csv_params",
    "error_response",
    "int_param",
    "issue_of",
    "json_response",
    "list_param",
    "not_found",
    "read_body",
    "require",
    "user_of",
]

REST = "/rest/api/{version}"
"""The prefix of every Jira REST resource; `version` is 2, 3 (Cloud only) or latest."""


def not_found(request: Request) -> JiraError:
    """Jira's 404 for a resource this flavour or version does not have."""
    return JiraError(404, [f"null for uri: {request.url}"])


def base_url(request: Request) -> str:
    """scheme://host[:port] as the client addressed the simulator."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def api_of(request: Request, state: SimState) -> Api:
    """How to render answers for this request's API version; JiraError 404 for a version the flavour lacks."""
    version = request.path_params.get("version", "2")
    allowed = ("2", "3", "latest") if state.cloud else ("2", "latest")
    if version not in allowed:
        raise not_found(request)
    return Api(state.settings.flavor, version, base_url(request))


def user_of(request: Request) -> User:
    """The account the auth middleware found for this request."""
    user: User = request.state.sim_user
    return user


def issue_of(request: Request, state: SimState) -> Issue:
    """The issue named by the `key` path parameter (key or id); JiraError 404 when there is none.

    An issue of an archived project: Cloud answers 404 as if it did not exist; Data Center shows it
    but refuses any change with 403. The journal records its key for this request.
    """
    issue = state.store.get(request.path_params["key"])
    if issue is None:
        raise JiraError(404, [ISSUE_NOT_FOUND])
    if issue.project.key in state.archived:
        if state.cloud:
            raise JiraError(404, [ISSUE_NOT_FOUND])
        if request.method != "GET":
            raise JiraError(403, [ISSUE_ARCHIVED.format(issue.key, issue.project.key)])
    request.state.sim_issue_key = issue.key
    return issue


async def read_body(request: Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; JiraError 400 with Jira's parser messages when it is empty or not one."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        # the client went away mid-request (a driver killed by a test): nobody reads the answer
        raise JiraError(400, ["The client closed the connection before the body was read"]) from None
    if not raw.strip():
        if required:
            raise JiraError(400, ["No content to map to Object due to end of input"])
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JiraError(
            400, [f"Unexpected character: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
        ) from None
    except ValueError:
        raise JiraError(400, ["Unexpected character in the request body"]) from None
    if not isinstance(data, dict):
        raise JiraError(400, ["Can not deserialize instance of the request bean out of START_ARRAY token"])
    return data


def int_param(value: Any, name: str, default: int) -> int:
    """A non-negative integer parameter (`default` when absent); JiraError 400 otherwise."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."])
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."]) from None
    if number < 0:
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."])
    return number


def list_param(request: Request, name: str) -> list[str] | None:
    """Every value of a repeated query parameter, None when it is absent."""
    values = request.query_params.getlist(name)
    return values or None


def csv_params(request: Request, name: str) -> list[str]:
    """Every comma-separated item of a repeated query parameter (`a,b&name=c` gives a, b, c)."""
    return [item for value in request.query_params.getlist(name) for item in value.split(",") if item]


def require(state: SimState, request: Request, issue: Issue, key: str, message: str) -> None:
    """JiraError 403 with Jira's `message` when the request's user lacks permission `key` in the
    issue's project (taken away by /_sim/permissions)."""
    if not state.rules.has(user_of(request).name, issue.project.key, key):
        raise JiraError(403, [message])
