"""Rate policies, pure: the update limit of `[update]`, Jira's 429 pauses, and retry backoff.

Nothing here sleeps or reads a clock: every call takes `now`, so tests drive time by hand.

- UpdateLimiter: at most `max_updates` automatic updates per `interval_seconds`, counted per
  ticket or globally, as a sliding window. `next_allowed` says when the next one may go out.
- Pauses: after a 429 Jira names a scope (one issue for `jira-per-issue-on-write`, else all);
  nothing in that scope is sent before the pause ends.
- backoff_seconds: exponential with x0.7-1.3 jitter (Atlassian's recipe), Retry-After a minimum.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
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


class Pauses:
    """Jira's 429 pauses: everything until one moment, and single issues until theirs."""

    def __init__(self) -> None:
        self.all_until: datetime | None = None
        self.reason = ""
        self._issues: dict[str, datetime] = {}

    def pause_all(self, until: datetime, reason: str) -> None:
        """Stop all sending until `until` (a later pause wins)."""
        if self.all_until is None or until > self.all_until:
            self.all_until = until
        self.reason = reason

    def pause_issue(self, issue: str, until: datetime) -> None:
        """Stop sending to one issue until `until`."""
        current = self._issues.get(issue)
        if current is None or until > current:
            self._issues[issue] = until

    def paused_until(self, issue: str | None, now: datetime) -> datetime | None:
        """When sending for this issue (or anything, with None) may resume; None if not paused."""
        moments = []
        if self.all_until is not None:
            if self.all_until > now:
                moments.append(self.all_until)
            else:
                self.all_until = None
                self.reason = ""
        if issue is not None:
            until = self._issues.get(issue)
            if until is not None:
                if until > now:
                    moments.append(until)
                else:
                    del self._issues[issue]
        return max(moments) if moments else None


def backoff_seconds(
    attempt: int,
    base: float,
    retry_after: float | None = None,
    cap: float = 30.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number `attempt` (1-based): base*2^(n-1), capped, jittered x0.7-1.3.

    Jira's Retry-After is a minimum: re-sending earlier only earns a longer wait.
    """
    exponent = max(0, attempt - 1)
    delay = min(cap, base * (2.0**exponent)) * (0.7 + 0.6 * rand())
    if retry_after is not None and retry_after > 0:
        # A little spread above Jira's minimum, so parked work does not return in one wave.
        return max(delay, retry_after * (1.0 + 0.1 * rand()))
    return delay
