"""What a settled row's log columns say beside Jira's answer: an answer as the log stores it, a
create body's project and issue type, a merged row's note; and the fields a row's line in the
driver's own log carries (JSON lines: driver.service.logging_setup)."""

from __future__ import annotations

import logging
from typing import Any

from driver.model.jobs import Job

log = logging.getLogger("driver.sending.recording")


def answer_json(value: Any) -> Any:
    """An answer (driver.model.answers.Answer, or anything with `as_dict`) as the log stores it."""
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


def body_field(body: Any, field_id: str, name: str) -> str | None:
    """`fields.<field_id>.<name>` of a create body (the project's key, the issue type's name)."""
    fields = body.get("fields") if isinstance(body, dict) else None
    value = fields.get(field_id) if isinstance(fields, dict) else None
    return str(value[name]) if isinstance(value, dict) and value.get(name) else None


def merged_note(head: Job) -> str:
    """The note of a row whose request went out merged into `head`'s."""
    return f"merged into the request of log #{head.id}"


def row_event(event: str, head: Job, outcome: str, reason: str, **more: Any) -> dict[str, Any]:
    """The fields a JSON log line about a row carries (driver.service.logging_setup): the event's
    name, the GUID, the row id, its action, how it ended and why, and any `more`."""
    return {
        "event": event,
        "guid": head.guid,
        "log_id": head.id,
        "action": head.action.value,
        "outcome": outcome,
        "reason": reason,
        **more,
    }


def jira_status(error: BaseException | None) -> int | None:
    """The HTTP status Jira answered with, when the error carries one."""
    status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


def log_failed(head: Job, reason: str, duration_ms: float | None, error: BaseException | None) -> None:
    """The warning a Failed row gets in the driver's log, with its fields."""
    fields = row_event(
        "row_failed", head, "failed", reason, duration_ms=duration_ms, jira_status=jira_status(error)
    )
    log.warning("log #%d %s %s failed: %s", head.id, head.action, head.guid, reason, extra=fields)
