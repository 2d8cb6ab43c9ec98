"""What a poll asks Jira and how it reads the answer (pure): the JQL by ticket ids, by the stamp field or by
projects, in relative minutes (docs/wire-facts.md §5), the cursor the next poll counts from, the
issue a search was refused for, and whether a hit's changelog was cut short (Cloud's enhanced search
keeps the newest 40 histories)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from driver.model.jql import jql_string

POLL_MARGIN_MINUTES = 2
"""Minutes each poll reaches back beyond the last successful one: JQL's relative dates count whole
minutes, a poll takes time, and Jira Cloud's search index lags behind its writes (docs/wire-facts.md §5)."""

POLL_MAX_MINUTES = 7 * 24 * 60
"""The furthest a poll reaches back (a week), however long the driver was stopped: a ticket changed
before that is seen at its next change."""


def changelog_cut(changelog: Mapping[str, Any] | None) -> bool:
    """Whether a search's `expand=changelog` holds fewer histories than the issue has (`total`) and
    none of those it holds moved the status: who moved it last must be read from the whole
    changelog (JiraClient.changelog). Cloud's enhanced search keeps the newest 40."""
    if not changelog:
        return False
    histories = changelog.get("histories")
    total = changelog.get("total")
    if not isinstance(histories, list) or not isinstance(total, int) or total <= len(histories):
        return False
    return not any(
        isinstance(group, dict)
        and isinstance(group.get("items"), list)
        and any(
            isinstance(i, dict) and (i.get("fieldId") or i.get("field")) == "status" for i in group["items"]
        )
        for group in histories
    )


def poll_minutes(since: datetime | None, now: datetime, poll_seconds: float) -> int:
    """How many minutes back a poll at `now` searches: since the last successful poll, plus a margin.

    Relative minutes (`updated >= "-15m"`) because Jira reads an absolute date in the searching
    user's own time zone, which the driver does not know; "minutes ago" means the same in every
    zone and needs no agreement between the two clocks, only the elapsed time. Without an earlier
    poll it reaches back one interval. Bounded by POLL_MAX_MINUTES.
    """
    elapsed = poll_seconds if since is None else max(0.0, (now - since).total_seconds())
    return max(1, min(POLL_MAX_MINUTES, math.ceil(elapsed / 60) + POLL_MARGIN_MINUTES))


def poll_jql(projects: Sequence[str], minutes: int, guid_field: str = "") -> str:
    """The poll's JQL: the issues updated in the last `minutes`, oldest change first: those holding a
    stamp in `guid_field` (`cf[N] is not EMPTY`: the driver's tickets in whatever project a person
    moved them to), else those of the projects.

    Oldest first, so a poll cut short (driver.sync.service reads every page, up to a bound) can go on from
    its last hit (`next_cursor`). Raises ValueError with neither a guid_field nor projects.
    """
    window = f'updated >= "-{int(minutes)}m" ORDER BY updated ASC'
    if guid_field.startswith("customfield_"):
        return f"cf[{guid_field.removeprefix('customfield_')}] is not EMPTY AND {window}"
    if not projects:
        raise ValueError("polling needs at least one project")
    listed = ", ".join(jql_string(p) for p in projects)
    return f"project in ({listed}) AND {window}"


POLL_ID_CHUNK = 100
"""Issue ids per search: one page of 100 holds every hit."""

_MISSING_ISSUE = re.compile(r"An issue with key '([^']+)' does not exist")


def poll_id_jql(ids: Sequence[str], minutes: int) -> str:
    """The poll's JQL by the driver's own ticket ids (ids follow a moved ticket; keys do not).

    Raises ValueError without ids or for an id that is not a number (it goes into the JQL as is).
    """
    if not ids or not all(i.isdigit() for i in ids):
        raise ValueError(f"issue ids must be numbers: {list(ids)[:5]}")
    return f'id in ({", ".join(ids)}) AND updated >= "-{int(minutes)}m" ORDER BY updated ASC'


def missing_issue(messages: Sequence[str]) -> str | None:
    """The id (or key) a search was refused for because no such issue exists (or this user may not
    see it): Jira's 400 "An issue with key 'X' does not exist for field 'id'." (spec narrative)."""
    for message in messages:
        found = _MISSING_ISSUE.search(message)
        if found:
            return found.group(1)
    return None


def next_cursor(started: datetime, last_updated: datetime | None) -> datetime:
    """What the next poll counts from: this poll's start, or its last hit's `updated` if earlier.

    The hits come oldest change first, so a poll cut short at its bound has seen everything
    up to its last hit, and the next one goes on from there. A complete poll only reads its last
    few hits again (nothing new: they change nothing). `updated` is Jira's clock; the margin
    (POLL_MARGIN_MINUTES) covers a small skew between the two.
    """
    if last_updated is None:
        return started
    return min(started, last_updated)
