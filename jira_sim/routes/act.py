"""`POST /_sim/act`: a person working in Jira (resolve, reopen, transition, edit, comment, delete), for
tests and the demo. Each action goes through `jira_sim.lifecycle` like the REST calls, so it updates
`updated`, the changelog and sends the webhooks, with the named user as the actor.

Body: `{"user": NAME, "key": KEY, "action": ..., "resolution": NAME, "comment": TEXT,
"transition": NAME-OR-ID, "fields": {...}, "project": KEY}`; fields and comment in REST v2's form
(plain strings). `move` takes the issue to `project` under a new key (the old key still answers).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim import issues as shapes
from jira_sim import lifecycle
from jira_sim.data import Issue, Transition, jira_time
from jira_sim.errors import JiraError
from jira_sim.issues import Api
from jira_sim.routes.common import base_url, json_response, read_body
from jira_sim.state import SimState, State

router = APIRouter(prefix="/_sim")

ACTIONS = ("resolve", "reopen", "transition", "edit", "comment", "delete", "move")


class ActRefused(Exception):
    """An action that cannot be done; answered with `status` and `{"error": message, ...extra}`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def _choose(issue: Issue, offered: list[Transition], action: str, wanted: Any) -> Transition:
    if action == "resolve":
        done = [t for t in offered if t.to.category.key == "done"]
        chosen = sorted(done, key=lambda t: t.to.name != "Done")
    elif action == "reopen":
        new = [t for t in offered if t.to.category.key == "new"]
        chosen = sorted(new, key=lambda t: t.to.name != "Reopened")
    else:
        text = str(wanted or "")
        chosen = [t for t in offered if t.id == text or t.name.lower() == text.lower()]
    if not chosen:
        raise ActRefused(
            409,
            f"{issue.key} in status {issue.status.name} has no transition for {action}"
            + (f" {wanted!r}" if action == "transition" else ""),
            transitions=[{"id": t.id, "name": t.name, "to": t.to.name} for t in offered],
        )
    return chosen[0]


def _act(state: SimState, api: Api, body: dict[str, Any]) -> dict[str, Any]:
    catalog = state.catalog
    action = body.get("action")
    if action not in ACTIONS:
        raise ActRefused(400, f"action must be one of {', '.join(ACTIONS)}")
    user = catalog.user_by_name.get(str(body.get("user", "")).lower())
    if user is None:
        raise ActRefused(400, f"no such user: {body.get('user')!r}")
    issue = state.store.get(str(body.get("key", "")))
    if issue is None:
        raise ActRefused(404, f"no such issue: {body.get('key')!r}")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ActRefused(400, "comment must be a string")
    if action == "delete":
        lifecycle.delete(state, api, issue, user)
        state.journal.counters.deleted += 1
        return {"key": issue.key, "deleted": True}
    if action == "move":
        project = catalog.project(str(body.get("project", "")))
        if project is None or project == issue.project:
            raise ActRefused(400, f"move needs another existing 'project' (not {body.get('project')!r})")
        old_key = lifecycle.move(state, api, issue, project, user)
        return {"key": issue.key, "id": issue.id, "moved_from": old_key, "project": project.key}
    if action == "comment":
        if not comment:
            raise ActRefused(400, "comment needs a non-empty 'comment'")
        lifecycle.comment(state, api, issue, user, comment)
    elif action == "edit":
        fields = body.get("fields") or {}
        changes = shapes.read_changes(api, catalog, {"fields": fields}, creating=False)
        if changes.errors:
            raise ActRefused(400, "the fields are not valid", errors=changes.errors)
        if comment:
            changes.comments.append(comment)
        lifecycle.edit(state, api, issue, changes, user)
    else:
        workflow = catalog.workflow(issue.project, issue.issuetype)
        chosen = _choose(issue, workflow.available(issue.status), action, body.get("transition"))
        resolution = None
        name = body.get("resolution")
        if name is not None and chosen.resolution != "absent":
            resolution = catalog.resolution_by_name.get(str(name).lower())
            if resolution is None:
                raise ActRefused(
                    400,
                    f"no such resolution: {name!r}",
                    resolutions=[r.name for r in catalog.resolutions],
                )
        lifecycle.transition(state, api, issue, chosen, resolution, [comment] if comment else [], user)
    return {
        "key": issue.key,
        "status": issue.status.name,
        "statusCategory": issue.status.category.key,
        "resolution": None if issue.resolution is None else issue.resolution.name,
        "assignee": None if issue.assignee is None else issue.assignee.name,
        "updated": jira_time(issue.updated),
    }


@router.post("/act")
async def act(request: Request, state: State) -> Response:
    """Do one action as a person; 200 with the issue's status, resolution, assignee and `updated`."""
    body = await read_body(request)
    api = Api(state.settings.flavor, "2", base_url(request))
    try:
        return json_response(_act(state, api, body))
    except ActRefused as refused:
        return json_response(refused.body, refused.status)
    except JiraError as error:
        return json_response({"error": "; ".join(error.messages or error.errors.values())}, error.status)
