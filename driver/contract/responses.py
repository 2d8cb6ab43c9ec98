"""The bodies of GET /api/responses: the Responses table, every answer the driver heard from Jira.
Pure pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from driver.contract.schemas import MAX_PAGE, Body, LogId

ResponseKindName = Literal[
    "create", "edit", "comment", "transition", "search", "read", "property", "metadata", "call", "other"
]
"""What a request was for (driver.model.responses.ResponseKind)."""

StatusFilter = Annotated[str, Field(pattern=r"^(?:[1-5]xx|none|[1-5][0-9][0-9])$")]
"""A status class ('4xx'), one code ('429') or 'none' (no answer: a timeout, a lost connection)."""


class ResponseEntry(Body):
    """One answer heard from Jira (or one request that got none)."""

    id: int
    at: datetime
    """When the answer came, or the request failed."""
    kind: ResponseKindName
    method: str
    path: str
    """Relative to the Jira URL, with its query; credentials and token-like parameters masked."""
    status: int | None
    """HTTP status; None when no answer came (`error` says why)."""
    duration_ms: float
    retry_after: str | None = None
    """The Retry-After header as Jira sent it."""
    rate_limit_reason: str | None = None
    """The RateLimit-Reason header (docs/wire-facts.md §8)."""
    request_id: str | None = None
    """Jira's id of the request (X-AREQUESTID or Atl-Traceid), for Atlassian support and Jira's logs."""
    body: str = ""
    """The first 2 KB of the answer's body, secrets masked."""
    error: str = ""
    log_id: int | None = None
    """The log row it served (None: sync, metadata, check, a batched stamp search)."""


class ResponseQuery(BaseModel):
    """The filters of GET /api/responses (query parameters); an unknown one is refused (400)."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    status: StatusFilter | None = None
    kind: ResponseKindName | None = None
    log_id: LogId | None = None
    before_id: LogId | None = None
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


class ResponsePageBody(Body):
    rows: list[ResponseEntry]
    total: int
    """Responses matching the filter, for the scroll bar."""
    next_before_id: int | None = None
    """Pass as before_id for the next (older) page; None on the last page."""
