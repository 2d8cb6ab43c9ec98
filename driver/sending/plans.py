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


def no_ticket(guid: str, known_generation: int, purpose: str = "") -> Refuse:
    """The refusal of a command that needs the GUID's ticket when it has none; `purpose` (" to
    RESOLVE") says what for. A GUID that had tickets (`known_generation` > 0) was forgotten after
    `[ticket] forget_after_days`, or its last CREATE failed (driver.model.forgetting)."""
    if known_generation <= 0:
        return Refuse(f"no ticket for GUID {guid!r}{purpose}: it was never created (or its CREATE failed)")
    return Refuse(
        f"no ticket for GUID {guid!r}{purpose}: its earlier tickets were forgotten after [ticket]"
        " forget_after_days (or its last CREATE failed); a CREATE makes a new one"
    )
