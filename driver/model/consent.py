"""A person's OAuth 2.0 consent as the driver keeps it between runs: the newest token pair and the
times `jira-driver auth status` shows; and what a token endpoint grants (RFC 6749 §5.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

REFRESH_UNUSED_DAYS = 90
REFRESH_ABSOLUTE_DAYS = 365
"""Atlassian's refresh tokens die after 90 days unused and 365 days after consent (wire facts §14)."""


@dataclass(frozen=True)
class TokenAnswer:
    """What a token endpoint granted (RFC 6749 §5.1)."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str = field(default="", repr=False)
    scope: str = ""


@dataclass(frozen=True)
class Grant:
    """A person's consent as kept between runs: the newest token pair and what `auth status` shows.
    Times are UTC wall-clock moments (they outlive the process); `site` is the Jira URL it is for."""

    site: str
    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    scope: str
    user: str
    consented_at: datetime
    refreshed_at: datetime
    access_expires: datetime | None = None
    """When the access token expires (None: not known, as in files written before it was kept)."""

    def refresh_dies(self) -> datetime:
        """When the refresh token dies unless used (the earlier of 90 days unused, 365 after consent)."""
        return min(
            self.refreshed_at + timedelta(days=REFRESH_UNUSED_DAYS),
            self.consented_at + timedelta(days=REFRESH_ABSOLUTE_DAYS),
        )

    def rotated(self, answer: TokenAnswer, now: datetime) -> Grant:
        """The grant after a refresh: the new pair (the refresh token sent is now disabled)."""
        return Grant(
            self.site,
            answer.refresh_token or self.refresh_token,
            answer.access_token,
            answer.scope or self.scope,
            self.user,
            self.consented_at,
            now,
            now + timedelta(seconds=answer.expires_in),
        )

    def access_left(self, now: datetime) -> float:
        """Seconds the kept access token has left (0 when unknown or gone): a process that starts
        within its life uses it instead of spending a refresh, which rotates the refresh token."""
        if not self.access_token or self.access_expires is None:
            return 0.0
        return max(0.0, (self.access_expires - now).total_seconds())
