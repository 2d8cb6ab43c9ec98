"""The simulator's time, injected: the real clock by default, a manual one that tests move by hand.

Rate-limit windows, search lag, Retry-After / X-RateLimit-Reset and the created/updated timestamps all
read a `Clock`, so a test advances it (`POST /_sim/clock {"advance": SECONDS}` on a simulator started
with `--manual-clock`) instead of sleeping until a window has passed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the simulator reads the time."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences between two readings mean anything."""
        ...


class SystemClock:
    """The real clock: `datetime.now(UTC)` and `time.monotonic()`."""

    def now(self) -> datetime:
        """The real wall-clock time in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """`time.monotonic()`, in seconds."""
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that stands still until `advance` moves it; wall time and monotonic time move together.

    It starts at `start` (default: the real time when it is made), so timestamps still look current.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        """The start time plus every advance so far (UTC)."""
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        """Seconds advanced so far (starts at 0)."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward; ValueError for a negative or non-finite amount (time never goes back)."""
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"the clock only moves forward by a finite amount, got {seconds!r}")
        self._elapsed += seconds
