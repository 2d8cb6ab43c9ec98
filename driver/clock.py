"""Time as the driver sees it: injected everywhere, so rate limits and day rollovers test without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)
