"""Jira's JSON answers, shared by the routes and the middleware layers."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON with Jira's content type `application/json;charset=UTF-8`."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json;charset=UTF-8")


def error_response(
    status: int,
    messages: list[str],
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Jira's ErrorCollection: `{"errorMessages": [...], "errors": {field: message}}`."""
    return json_response({"errorMessages": messages, "errors": errors or {}}, status, headers)
