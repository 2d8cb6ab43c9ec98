"""When credentials expire, told in time: an API token or PAT by the date the operator configured
([jira] token_expires: Jira does not say), a consent's refresh token by when it dies unused
(docs/wire-facts.md §14). Pure: the caller gives today's date.
"""

from __future__ import annotations

from datetime import date

WARN_DAYS = 14
"""Warned of this many days ahead (check, /api/status, the TUI's status line, the log)."""


def expiry_warning(token_expires: date | None, refresh_dies: date | None, today: date) -> str:
    """One line when a credential expires within WARN_DAYS (or has expired), else ''."""
    if refresh_dies is not None:
        left = (refresh_dies - today).days
        if left < 0:
            died = refresh_dies.isoformat()
            return f"the OAuth refresh token died on {died}: run `jira-driver auth login` again"
        if left <= WARN_DAYS:
            return (
                f"the OAuth refresh token dies on {refresh_dies.isoformat()} ({_days(left)}) unless used:"
                " the driver uses it hourly while it runs; run `jira-driver auth login` again if it stops"
            )
    if token_expires is not None:
        left = (token_expires - today).days
        if left < 0:
            expired = token_expires.isoformat()
            return (
                f"the Jira token expired on {expired} by [jira] token_expires: make a new one and set"
                " it (or correct the date, if Jira still takes this token)"
            )
        if left <= WARN_DAYS:
            return (
                f"the Jira token expires on {token_expires.isoformat()} ({_days(left)},"
                " [jira] token_expires): make a new one and set it before then"
            )
    return ""


def _days(left: int) -> str:
    return "today" if left == 0 else "tomorrow" if left == 1 else f"in {left} days"
