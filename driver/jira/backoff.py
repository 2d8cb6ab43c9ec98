"""Waiting on Jira, pure: its 429 pauses and the backoff between retries.

Nothing here sleeps or reads a clock: every call takes `now`, so tests drive time by hand.

- Pauses: after a 429 Jira names a scope (one issue for `jira-per-issue-on-write`, else all);
  nothing in that scope is sent before the pause ends (docs/wire-facts.md, rate limits).
- backoff_seconds: exponential with x0.7-1.3 jitter (Atlassian's recipe), Retry-After a minimum.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime


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
