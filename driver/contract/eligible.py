"""The bodies of GET /api/eligible: Get Eligible Ticket, a search of Jira's issues a person pages
through to pick one for an alarm (the connector's 3.0.0.x subpage). Pure pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driver.contract.schemas import Body

MAX_FILTER_TEXT = 200
MAX_RAW_JQL = 2_000
MAX_LABELS = 20


class EligibleQuery(BaseModel):
    """The filters of GET /api/eligible (query parameters; all ANDed); an unknown one is refused (400)."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    project: str | None = Field(default=None, max_length=MAX_FILTER_TEXT)
    category: Literal["new", "indeterminate", "done"] | None = None
    """The status category key."""
    open: bool = False
    """Only tickets not done (statusCategory != done)."""
    text: str | None = Field(default=None, max_length=MAX_FILTER_TEXT)
    """A phrase anywhere in the issue's text (summary, description, comments)."""
    labels: list[str] = Field(default=[], max_length=MAX_LABELS)
    assignee: str | None = Field(default=None, max_length=MAX_FILTER_TEXT)
    """Jira's user: an account id on Cloud, a user name on Data Center."""
    jql: str | None = Field(default=None, max_length=MAX_RAW_JQL)
    """Your own JQL, ANDed with the filters in parentheses (alone, it may end in ORDER BY)."""
    cursor: str | None = Field(default=None, max_length=2_000)
    """`next_cursor` of the previous page."""
    limit: int = Field(default=50, ge=1, le=100)


class EligibleIssue(Body):
    key: str
    url: str
    summary: str = ""
    status: str = ""
    status_category: str = ""
    assignee: str | None = None
    """The assignee's display name (None: unassigned)."""
    updated: str | None = None
    """Jira's `updated`, as Jira wrote it."""


class EligiblePage(Body):
    jql: str
    """The JQL the filters made (what was sent to Jira)."""
    issues: list[EligibleIssue]
    next_cursor: str | None = None
    """Pass as `cursor` for the next page; None on the last."""
