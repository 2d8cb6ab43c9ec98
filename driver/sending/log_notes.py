"""What a settled row's log columns say beside Jira's answer (pure): an answer as the log stores it,
a create body's project and issue type, a merged row's note."""

from __future__ import annotations

from typing import Any

from driver.model.jobs import Job


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
