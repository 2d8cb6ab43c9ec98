"""The configured credentials' expiry, told 14 days ahead: [jira] token_expires for an API token or
PAT, the kept consent's refresh token for OAuth 3LO (driver.model.expiry words it). Read by check,
GET /api/status (the TUI's status line) and the driver's start-up log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from driver.config import Config
from driver.model.expiry import expiry_warning
from driver.store.oauth_grant import GrantFile


def credential_expiry(config: Config, now: datetime | None = None) -> str:
    """One line when a credential expires within 14 days (or has), else ''."""
    dies = None
    if config.jira.auth == "oauth_3lo":
        try:
            grant = GrantFile(Path(config.driver.database)).read()
        except (OSError, ValueError):
            grant = None  # the next request says what is wrong with it
        dies = grant.refresh_dies().date() if grant is not None else None
    today = (now or datetime.now(UTC)).date()
    return expiry_warning(config.jira.token_expiry(), dies, today)
