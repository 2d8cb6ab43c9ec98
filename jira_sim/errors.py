"""The one exception handlers raise: it carries Jira's status code and ErrorCollection body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class JiraError(Exception):
    """An answer in Jira's error shape: `{"errorMessages": [...], "errors": {field: message}}`."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, list(messages), dict(errors or {}))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The ErrorCollection Jira sends."""
        return {"errorMessages": self.messages, "errors": self.errors}


ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
ISSUE_ARCHIVED = "The issue {0} is archived (its project {1} is archived) and cannot be edited."
"""Data Center's refusal of a change to an archived issue (the simulator's wording)."""
