"""POST /api/alertmanager and /api/grafana: alert notifications in (driver.app.alert_intake).

Answered 200 only once the commands are committed. Alertmanager retries only 5xx and drops any
4xx for good (docs/wire-facts.md §14), so "try later" (shutting down, the database refusing the
write) is a 503 with Retry-After, and a 4xx means the payload itself cannot be used: a body that
is not the payload (400 naming where), a template these values do not render (400 naming the
template), a body over [driver] max_request_bytes (413). Grafana's signature, when [grafana]
secret is set: X-Grafana-Alerting-Signature, the HMAC-SHA256 of the body in hex (of
`{timestamp}:{body}` when X-Grafana-Alerting-Signature-Timestamp is sent).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from driver.api.bodies import StrictJsonRoute, media_type, refuse_duplicate_members
from driver.api.deps import DriverDep, require_accepting, watch_database
from driver.api.errors import ApiError, BadRequest, Unauthorized, documented
from driver.api.intake import bounded_body
from driver.app.alert_intake import AlertRefused, take_alerts
from driver.app.driver import Driver
from driver.contract.alerts import AlertsAccepted
from driver.contract.schemas import AcceptedCommand
from driver.model.alert_intake import Notification, Sender, TemplateFailed

router = APIRouter(route_class=StrictJsonRoute)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: documented("The body is over [driver] max_request_bytes; nothing was queued"),
    415: documented("The body is not application/json (UTF-8); nothing was queued"),
}


@router.post(
    "/api/alertmanager",
    response_model=AlertsAccepted,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
    responses=_RESPONSES,
)
async def alertmanager(request: Request, driver: DriverDep) -> AlertsAccepted:
    """Take Alertmanager's webhook payload (version 4): each alert (or group) a CREATE, UPDATE or
    RESOLVE, or nothing when it changed nothing since the last notification."""
    with _refusals_counted(driver, "alertmanager"):
        media_type(request, ("application/json",))
        raw = await bounded_body(request, driver.config.driver.max_request_bytes)
        return await _take(driver, "alertmanager", raw)


@router.post(
    "/api/grafana",
    response_model=AlertsAccepted,
    dependencies=[Depends(require_accepting), Depends(watch_database)],
    responses={
        **_RESPONSES,
        401: documented(
            "Missing or wrong API token, or (with [grafana] secret) X-Grafana-Alerting-Signature"
            " missing or wrong"
        ),
    },
)
async def grafana(request: Request, driver: DriverDep) -> AlertsAccepted:
    """Take Grafana's webhook contact point payload, its signature checked when [grafana] secret is
    set: header X-Grafana-Alerting-Signature, the hex HMAC-SHA256 of the body under the secret (or
    of `<timestamp>:<body>` when X-Grafana-Alerting-Signature-Timestamp is sent)."""
    with _refusals_counted(driver, "grafana"):
        media_type(request, ("application/json",))
        raw = await bounded_body(request, driver.config.driver.max_request_bytes)
        secret = driver.config.grafana.secret.get_secret_value()
        if secret:
            signed = request.headers.get("X-Grafana-Alerting-Signature", "")
            stamp = request.headers.get("X-Grafana-Alerting-Signature-Timestamp")
            message = f"{stamp}:".encode() + raw if stamp else raw
            expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signed.strip().lower().removeprefix("sha256="), expected):
                raise Unauthorized("X-Grafana-Alerting-Signature is missing or wrong: check [grafana] secret")
        return await _take(driver, "grafana", raw)


@contextmanager
def _refusals_counted(driver: Driver, sender: Sender) -> Iterator[None]:
    """Each notification refused for what it is (4xx: its type, size, signature, body or
    templates) counted once as refused; 'try later' (503) is not a refusal of it."""
    try:
        yield
    except ApiError as exc:
        if exc.status < 500:
            driver.metrics.alerts.labels(sender, "refused").inc()
        raise


_NAMED: dict[Sender, str] = {"alertmanager": "an Alertmanager", "grafana": "a Grafana"}


async def _take(driver: Driver, sender: Sender, raw: bytes) -> AlertsAccepted:
    try:
        notification = Notification.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(
            f"not {_NAMED[sender]} notification: {where}: {first['msg']} (nothing was queued)"
        ) from None
    refuse_duplicate_members(raw, f"not {_NAMED[sender]} notification")
    try:
        taken = await take_alerts(driver, sender, notification, driver.alerts[sender])
    except (TemplateFailed, AlertRefused) as exc:
        raise BadRequest(f"[{sender}] {exc} (nothing was queued)") from None
    driver.metrics.alerts.labels(sender, "taken").inc()
    driver.metrics.accepted.inc(len(taken.jobs))
    return AlertsAccepted(
        accepted=[AcceptedCommand(id=j.id, guid=j.guid, action=j.action) for j in taken.jobs],
        unchanged=taken.unchanged,
    )
