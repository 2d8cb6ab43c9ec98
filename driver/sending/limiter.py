"""The update limit of `[update]`, pure: at most `max_updates` automatic updates per
`interval_seconds`, counted per ticket or globally, as a sliding window; `next_allowed` says when
the next one may go out.

Nothing here sleeps or reads a clock: every call takes `now`, so tests drive time by hand. Jira's
own limits (429 pauses, backoff) are driver.jira.backoff.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

GLOBAL_KEY = "*"


class UpdateLimiter:
    """A sliding-window limit on automatic updates, per ticket or global."""

    def __init__(
        self, max_updates: int, interval_seconds: float, scope: Literal["ticket", "global"] = "ticket"
    ) -> None:
        self._sent: dict[str, deque[datetime]] = {}
        self.configure(max_updates, interval_seconds, scope)

    def configure(
        self, max_updates: int, interval_seconds: float, scope: Literal["ticket", "global"]
    ) -> None:
        """Change the limit at run time; the recorded sends still count against the new limit."""
        if scope != getattr(self, "scope", scope):
            self._sent.clear()
        self.max_updates = max_updates
        self.interval = timedelta(seconds=interval_seconds)
        self.scope: Literal["ticket", "global"] = scope

    @property
    def enabled(self) -> bool:
        """False when max_updates is 0 (the limit is off)."""
        return self.max_updates > 0

    def _key(self, ticket: str) -> str:
        return GLOBAL_KEY if self.scope == "global" else ticket

    def _window(self, ticket: str, now: datetime) -> deque[datetime]:
        window = self._sent.setdefault(self._key(ticket), deque())
        edge = now - self.interval
        while window and window[0] <= edge:
            window.popleft()
        return window

    def next_allowed(self, ticket: str, now: datetime) -> datetime | None:
        """None when an update of this ticket may go out now, else the moment it may."""
        if not self.enabled:
            return None
        window = self._window(ticket, now)
        if len(window) < self.max_updates:
            return None
        return window[len(window) - self.max_updates] + self.interval

    def record(self, ticket: str, now: datetime) -> None:
        """Count one update of this ticket sent at now."""
        if self.enabled:
            self._window(ticket, now).append(now)

    def unrecord(self, ticket: str, moment: datetime) -> None:
        """Take back the update counted at `moment`: it did not reach Jira (an outage, a 429, a
        refusal), and a retry must not use up the window a flapping alarm is limited by."""
        window = self._sent.get(self._key(ticket))
        if window is not None and moment in window:
            window.remove(moment)

    def restore(self, sends: Iterable[tuple[str, datetime]]) -> None:
        """Count updates sent before this process started (oldest first), e.g. from the log.

        Without them a restart would open a fresh window, and a flapping alarm could get
        max_updates more through at once.
        """
        if not self.enabled:
            return
        for ticket, moment in sorted(sends, key=lambda send: send[1]):
            self._sent.setdefault(self._key(ticket), deque()).append(moment)

    def forget_idle(self, now: datetime) -> None:
        """Drop empty windows so a long run over many tickets does not grow memory."""
        for key in [k for k in self._sent if not self._window(k, now)]:
            del self._sent[key]
