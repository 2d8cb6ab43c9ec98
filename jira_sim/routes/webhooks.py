"""Admin webhooks: Jira's registration API (`/rest/webhooks/1.0/webhook`, admin only) and the simulator's
own (`/_sim/webhooks`, no authentication), with the delivery journal (`/_sim/webhooks/deliveries`).

The 1.0 API is not in Atlassian's OpenAPI specs; its shape is the one Atlassian's webhook documentation
gives (docs/wire-facts.md §12): `{"name", "url", "events", "filters": {"issue-related-events-section": JQL}}`,
plus `secret` (Cloud) and, as a shorthand, `jqlFilter`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jira_sim.errors import JiraError
from jira_sim.jql import JqlError, compile_query
from jira_sim.routes.common import base_url, int_param, json_response, read_body, user_of
from jira_sim.settings import WebhookSpec
from jira_sim.state import SimState, State
from jira_sim.webhooks import WebhookRefused

rest = APIRouter(prefix="/rest/webhooks/1.0")
sim = APIRouter(prefix="/_sim/webhooks")

NOT_ADMIN = "You are not allowed to manage webhooks: only a Jira administrator (admin) may."


def read_spec(state: SimState, body: dict[str, Any]) -> WebhookSpec:
    """A registration body as a spec; WebhookRefused (its message for the answer) when it is not valid."""
    url, events = body.get("url"), body.get("events")
    if not isinstance(url, str):
        raise WebhookRefused("The webhook needs a 'url' string.")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise WebhookRefused("The webhook needs 'events', a list of event names.")
    filters = body.get("filters")
    jql = body.get("jqlFilter")
    if jql is None and isinstance(filters, dict):
        jql = filters.get("issue-related-events-section")
    if jql is not None and not isinstance(jql, str):
        raise WebhookRefused("The JQL filter must be a string.")
    if jql:
        try:
            compile_query(jql, state.jql)
        except JqlError as exc:
            raise WebhookRefused(f"The JQL filter is not valid: {exc}") from None
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise WebhookRefused("The secret must be a non-empty string.")
    name = body.get("name")
    return WebhookSpec(
        url=url,
        events=tuple(events),
        name=name if isinstance(name, str) and name else "webhook",
        jql=jql or None,
        secret=secret,
    )


def _admin_only(request: Request) -> None:
    if user_of(request).name != "admin":
        raise JiraError(403, [NOT_ADMIN])


@rest.post("/webhook")
async def register(request: Request, state: State) -> Response:
    _admin_only(request)
    body = await read_body(request)
    try:
        webhook = state.webhooks.register(read_spec(state, body), user_of(request).name)
    except WebhookRefused as exc:
        raise JiraError(400, [str(exc)]) from None
    return json_response(webhook.to_json(base_url(request)), 201)


@rest.get("/webhook")
async def list_webhooks(request: Request, state: State) -> Response:
    _admin_only(request)
    base = base_url(request)
    return json_response([w.to_json(base) for w in state.webhooks.registry.values()])


def _webhook_id(request: Request) -> int:
    text = request.path_params["webhook_id"]
    if not text.isdigit():
        raise JiraError(404, ["The webhook does not exist."])
    return int(text)


@rest.get("/webhook/{webhook_id}")
async def get_webhook(request: Request, state: State) -> Response:
    _admin_only(request)
    webhook = state.webhooks.registry.get(_webhook_id(request))
    if webhook is None:
        raise JiraError(404, ["The webhook does not exist."])
    return json_response(webhook.to_json(base_url(request)))


@rest.delete("/webhook/{webhook_id}")
async def delete_webhook(request: Request, state: State) -> Response:
    _admin_only(request)
    if not state.webhooks.remove(_webhook_id(request)):
        raise JiraError(404, ["The webhook does not exist."])
    return Response(status_code=204)


@sim.get("")
async def sim_list(request: Request, state: State) -> Response:
    base = base_url(request)
    return json_response([w.to_json(base) for w in state.webhooks.registry.values()])


@sim.post("")
async def sim_register(request: Request, state: State) -> Response:
    body = await read_body(request)
    try:
        webhook = state.webhooks.register(read_spec(state, body), "jira-sim")
    except WebhookRefused as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(webhook.to_json(base_url(request)), 201)


@sim.delete("")
async def sim_clear(state: State) -> Response:
    for webhook_id in list(state.webhooks.registry):
        state.webhooks.remove(webhook_id)
    return json_response([])


@sim.get("/deliveries")
async def deliveries(request: Request, state: State) -> Response:
    since = int_param(request.query_params.get("since"), "since", 0)
    return json_response(state.webhooks.since(since))


@sim.delete("/{webhook_id}")
async def sim_delete(request: Request, state: State) -> Response:
    if not request.path_params["webhook_id"].isdigit() or not state.webhooks.remove(
        int(request.path_params["webhook_id"])
    ):
        return json_response({"error": "no such webhook"}, 404)
    return json_response({"ok": True})
