"""Daily statistics, pure: which day a moment belongs to, and the Statistics page from day counts.

Days are calendar days in the configured time zone (the machine's when none is set), so a
counter rolls over at local midnight. The store keeps one row per day plus running totals; the
totals are kept apart from the day rows because the connector resets them independently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from driver.contract.schemas import Counter, DayCount, Statistics, StatsReset


class Statistic(StrEnum):
    """What the Statistics page counts per day (`stats_days`) and in total (the days plus `stats_offsets`)."""

    CREATE = "create"
    UPDATE = "update"

    @property
    def day_column(self) -> str:
        """Its column of `stats_days`."""
        return "created" if self is Statistic.CREATE else "updated"


COUNTERS = tuple(Statistic)
HISTORY_DAYS = 30


def day_of(moment: datetime, zone: tzinfo | None) -> str:
    """The YYYY-MM-DD day of an aware moment in zone (None: the machine's local zone)."""
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.date().isoformat()


def previous_day(day: str) -> str:
    """The day before a YYYY-MM-DD day."""
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def zone_name(zone: tzinfo | None, now: datetime) -> str:
    """A name for people: the IANA key when configured, else the local abbreviation."""
    if zone is not None:
        return str(getattr(zone, "key", zone))
    return now.astimezone().tzname() or "local"


def summarize(
    days: Mapping[str, tuple[int, int]],
    totals: Mapping[str, int],
    now: datetime,
    zone: tzinfo | None,
    history: int = HISTORY_DAYS,
) -> Statistics:
    """The Statistics body from per-day (created, updated) counts and the running totals."""
    today = day_of(now, zone)
    yesterday = previous_day(today)
    t_c, t_u = days.get(today, (0, 0))
    y_c, y_u = days.get(yesterday, (0, 0))
    total_c = totals.get("create", 0)
    total_u = totals.get("update", 0)
    start = date.fromisoformat(today) - timedelta(days=history - 1)
    listed = []
    for offset in range(history):
        day = (start + timedelta(days=offset)).isoformat()
        created, updated = days.get(day, (0, 0))
        listed.append(DayCount(day=day, created=created, updated=updated))
    return Statistics(
        create=Counter(today=t_c, yesterday=y_c, total=total_c),
        update=Counter(today=t_u, yesterday=y_u, total=total_u),
        total=Counter(today=t_c + t_u, yesterday=y_c + y_u, total=total_c + total_u),
        days=listed,
        timezone=zone_name(zone, now),
    )


@dataclass(frozen=True)
class ResetPlan:
    """What a reset clears: these counters' totals, and their counts on these days."""

    counters: tuple[Statistic, ...]
    totals: bool
    days: tuple[str, ...]


def reset_plan(reset: StatsReset, now: datetime, zone: tzinfo | None) -> ResetPlan:
    """Translate a StatsReset request into the rows to clear."""
    counters = COUNTERS if reset.counter == "all" else (Statistic(reset.counter),)
    today = day_of(now, zone)
    # "Daily counters" are what the page shows per day: today's and yesterday's.
    days = (today, previous_day(today)) if reset.scope in ("daily", "all") else ()
    return ResetPlan(counters=counters, totals=reset.scope in ("total", "all"), days=days)
