"""Time as the driver sees it: two clocks, injected everywhere, so waits and day rollovers test
without sleeping.

    Clock   the wall clock (timezone-aware datetime): for what people read and what is stored (log
            times, statistics days, the reopen window counted from a resolve's stored time).
    Timer   the monotonic timeline, for every wait and deadline (pacing, backoff, Retry-After, the
            update window, the resolve hold, probe delays, the poll schedule). Its instants are
            datetimes, so the pure policies compute with timedelta alike, but their date means
            nothing: an instant is never shown or stored as it is (`wall_of` turns one into a wall
            time for people) and is never compared with a wall time. A wall clock set back an hour
            or forward a day changes no wait.

A wall time read back from the store becomes an instant with `instant_of`, clamped, so a wall clock
moved while the driver was down cannot make a wait longer than the wait itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current wall time, timezone-aware."""
Timer = Callable[[], datetime]
"""Returns the current instant on the monotonic timeline (see the module docstring)."""

MONOTONIC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Where the real Timer's timeline starts (time.monotonic() == 0): an arbitrary origin."""


def utc_now() -> datetime:
    """The real wall clock."""
    return datetime.now(UTC)


def monotonic_now() -> datetime:
    """The real Timer: time.monotonic() as an instant on the monotonic timeline."""
    return MONOTONIC_EPOCH + timedelta(seconds=time.monotonic())


def wall_of(instant: datetime, wall_now: datetime, timer_now: datetime) -> datetime:
    """The wall time at which `instant` falls, for people (a status line, a Deferred row's time)."""
    return wall_now + (instant - timer_now)


def instant_of(moment: datetime, wall_now: datetime, timer_now: datetime, longest: timedelta) -> datetime:
    """A stored wall time `moment` as an instant, its distance from now clamped to [-longest,
    +longest]: what `longest` ago or ahead means does not depend on a wall clock moved meanwhile."""
    distance = max(-longest, min(longest, moment - wall_now))
    return timer_now + distance
