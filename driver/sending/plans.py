"""The four answers of planning (pure): send this work, hold until then, refuse the row, or cancel
it; and the update limit's hold, which every request that changes a ticket obeys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from driver.model.jobs import Job
from driver.sending.limiter import UpdateLimiter
from driver.sending.work import Work


@dataclass(frozen=True)
class Send:
    """Make this request."""

    work: Work


@dataclass(frozen=True)
class Hold:
    """Wait until `until`; `defer` marks the GUID's automatic rows Deferred (the update limit)."""

    until: datetime
    defer: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Refuse:
    """Fail the head row with this reason, sending nothing."""

    reason: str


@dataclass(frozen=True)
class Cancel:
    """Settle the head row Cancelled with this reason, sending nothing (a RESOLVE taken back)."""

    reason: str


Plan = Send | Hold | Refuse | Cancel


def limit_hold(head: Job, key: str, limiter: UpdateLimiter, now: datetime) -> Hold | None:
    if not head.automatic:
        return None
    allowed = limiter.next_allowed(key, now)
    return None if allowed is None else Hold(allowed, defer=True)
