"""The human view of an issue, `/browse/{key}`: a plain HTML page (no auth, not journaled)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from jira_sim import issues as shapes
from jira_sim.data import jira_time
from jira_sim.state import State

router = APIRouter()


@router.get("/browse/{key}")
async def browse(request: Request, state: State) -> Response:
    issue = state.store.get(request.path_params["key"])
    if issue is None:
        return HTMLResponse("<!doctype html><title>Issue not found</title><h1>Issue not found</h1>", 404)
    esc = html.escape
    comments = "".join(
        f"<li><b>{esc(c.author.display_name)}</b> {esc(jira_time(c.created))}<pre>"
        f"{esc(shapes.rich_text(c.body))}</pre></li>"
        for c in issue.comments
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>[{esc(issue.key)}] {esc(issue.summary)}"
        f"</title></head><body><h1>{esc(issue.key)}: {esc(issue.summary)}</h1>"
        f"<p>Status: <b>{esc(issue.status.name)}</b> &middot; Priority: {esc(issue.priority.name)}"
        f" &middot; Type: {esc(issue.issuetype.name)}</p>"
        f"<p>Labels: {esc(', '.join(issue.labels)) or 'None'}</p>"
        f"<pre>{esc(shapes.rich_text(issue.values.get('description')))}</pre>"
        f"<h2>Comments</h2><ul>{comments}</ul></body></html>"
    )
    return HTMLResponse(page)
