"""Jira's admin webhook: POST /api/jira/webhook (docs/wire-facts.md §12), handled by driver.sync.service.

Jira must reach it, so it takes no API token even when `[driver] api_token` is set: the
`X-Hub-Signature` (HMAC-SHA256 of the raw body with `[sync] webhook_secret`) authenticates it, and
a delivery without it, or with a wrong one, is refused 401 before its body is parsed. The body is
streamed to a spool of bounded memory (driver.sync.incoming) and handled up to 32 MiB (413 past it;
Jira's reach 25 MB). Nothing is changed by a refusal, and every refusal is counted in the status;
a 503 (shutting down, or the database cannot take it) makes Jira send the delivery again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, require_accepting, watch_database
from driver.api.errors import ApiError, BadRequest, TooLarge, documented
from driver.contract.webhook import WebhookAnswer
from driver.sync.incoming import MAX_WEBHOOK_BYTES, READ_AT_MOST, IncomingBody
from driver.sync.rules import WebhookBody
from driver.sync.service import WebhookRefused

router = APIRouter(route_class=StrictJsonRoute, tags=["sync"])


class SignatureRefused(ApiError):
    """401: the delivery is not signed with the webhook secret (or webhooks are off)."""

    status = 401


_WEBHOOK_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "X-Hub-Signature",
            "in": "header",
            "required": True,
            "description": "sha256=<hex HMAC-SHA256 of the raw body, keyed on [sync] webhook_secret>",
            "schema": {"type": "string"},
        },
        {
            "name": "X-Atlassian-Webhook-Identifier",
            "in": "header",
            "required": False,
            "description": "the same on Jira's retries of one delivery: a repeat is answered `duplicate`",
            "schema": {"type": "string"},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": WebhookBody.model_json_schema()}},
    },
}


async def _receive(request: Request, incoming: IncomingBody) -> None:
    """Stream the body into `incoming` (kept up to MAX_WEBHOOK_BYTES, signed to READ_AT_MOST)."""
    async for chunk in request.stream():
        incoming.write(chunk)
        if incoming.cut_short:
            return


# A URL registered with a trailing slash must work: Jira does not follow the redirect FastAPI answers.
@router.post(
    "/api/jira/webhook/",
    include_in_schema=False,
    response_model=WebhookAnswer,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
)
@router.post(
    "/api/jira/webhook",
    response_model=WebhookAnswer,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
    openapi_extra=_WEBHOOK_DOC,
    responses={
        400: documented("The body is not JSON, or not a Jira webhook body; nothing was changed"),
        401: documented(
            "X-Hub-Signature is missing or wrong, or [sync] mode takes no webhooks; nothing was changed"
        ),
        413: documented("The body is over 32 MiB; nothing was changed"),
        503: documented(
            "Shutting down, or the database cannot take it; nothing was changed (Jira sends it again)",
            **{"Retry-After": "seconds to wait before trying again"},
        ),
    },
)
async def jira_webhook(request: Request, driver: DriverDep) -> WebhookAnswer:
    """One delivery of Jira's admin webhook (jira:issue_updated, jira:issue_deleted, comment_created).

    Authenticated by its signature alone (no API token). Answers what became of it: `applied`
    (a ticket's record changed), `unchanged`, `duplicate` (a retry) or `ignored` (not the driver's).
    """
    sync = driver.sync
    if not sync.takes_webhooks:
        raise SignatureRefused(f"webhooks are off ([sync] mode = {driver.config.sync.mode})")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > READ_AT_MOST:
        reason = f"the body is over {MAX_WEBHOOK_BYTES} bytes ({declared} declared); nothing was changed"
        sync.note_refused(reason)
        raise TooLarge(reason)
    with sync.incoming() as incoming:
        await _receive(request, incoming)
        try:
            handled = await sync.handle_webhook(incoming, request.headers)
        except WebhookRefused as exc:
            sync.note_refused(str(exc))
            if exc.kind == "malformed":
                raise BadRequest(str(exc)) from None
            if exc.kind == "too_large":
                raise TooLarge(str(exc)) from None
            raise SignatureRefused(str(exc)) from None
    return WebhookAnswer(result=handled.result, key=handled.key, reason=handled.reason)
