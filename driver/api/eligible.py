"""Get Eligible Ticket: a search of Jira's issues, paged, for a person picking a ticket to attach an
alarm to. The JQL is built from the filters with every value quoted (driver.model.jql)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, require_leader
from driver.api.errors import BadRequest, Unavailable, UpstreamFailed, documented
from driver.contract.eligible import EligibleIssue, EligiblePage, EligibleQuery
from driver.errors import JiraAuthError, JiraRejected, JiraRetryable
from driver.jira.search import BadCursor
from driver.model.answers import FoundIssue
from driver.model.jql import EligibleSearch, eligible_jql

router = APIRouter(route_class=StrictJsonRoute, tags=["eligible"])
FIELDS = ("summary", "status", "assignee", "updated")


def _text(value: Any, key: str) -> str:
    return str(value.get(key) or "") if isinstance(value, dict) else ""


def issue(found: FoundIssue) -> EligibleIssue:
    """A search hit as the page shows it."""
    fields = found.fields
    status = fields.get("status")
    category = status.get("statusCategory") if isinstance(status, dict) else None
    assignee = fields.get("assignee")
    return EligibleIssue(
        key=found.key,
        url=found.url,
        summary=str(fields.get("summary") or ""),
        status=_text(status, "name"),
        status_category=_text(category, "key"),
        assignee=_text(assignee, "displayName") or None,
        updated=str(fields["updated"]) if fields.get("updated") else None,
    )


@router.get(
    "/api/eligible",
    response_model=EligiblePage,
    responses={
        400: documented("A filter is refused, or Jira refused the JQL (its errorMessages)"),
        502: documented("Jira refused the driver's credentials"),
        503: documented("Jira cannot be reached now, or this node is a pair's standby"),
    },
    dependencies=[Depends(require_leader)],
)
async def eligible(driver: DriverDep, query: Annotated[EligibleQuery, Query()]) -> EligiblePage:
    """One page of Jira's issues matching the filters, newest update first."""
    search = EligibleSearch(
        project=query.project,
        category=query.category,
        not_done=query.open,
        text=query.text,
        labels=tuple(query.labels),
        assignee=query.assignee,
        jql=query.jql,
    )
    try:
        jql = eligible_jql(search)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    try:
        found, cursor = await driver.jira.search_page(jql, FIELDS, query.cursor, query.limit)
    except BadCursor as exc:
        raise BadRequest(str(exc)) from None
    except JiraRejected as exc:
        # this answer's own status is 400 too: Jira's words alone, not "HTTP 400: ... HTTP 400: ..."
        raise BadRequest(
            f"Jira refused the search: {str(exc).removeprefix(f'HTTP {exc.status}: ')}"
        ) from None
    except JiraAuthError as exc:
        raise UpstreamFailed(f"Jira refused the driver's credentials: {exc}") from None
    except JiraRetryable as exc:
        raise Unavailable(f"Jira cannot answer the search now: {exc}") from None
    return EligiblePage(jql=jql, issues=[issue(f) for f in found], next_cursor=cursor)
