"""Daily statistics: days in the configured zone, rollover at local midnight, resets."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from driver.contract.schemas import StatsReset
from driver.model.statistics import day_of, previous_day, reset_plan, summarize

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_day_follows_the_configured_zone() -> None:
    # 23:30 UTC on 31 Dec is already New Year's Day in Brussels.
    moment = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert day_of(moment, UTC) == "2025-12-31"
    assert day_of(moment, BRUSSELS) == "2026-01-01"
    assert previous_day("2026-03-01") == "2026-02-28"


def test_summary_rolls_over_at_midnight() -> None:
    days = {"2026-01-01": (3, 5), "2026-01-02": (1, 1)}
    totals = {"create": 4, "update": 6}
    on_2nd = summarize(days, totals, datetime(2026, 1, 2, 10, tzinfo=UTC), UTC)
    assert (on_2nd.create.today, on_2nd.create.yesterday, on_2nd.create.total) == (1, 3, 4)
    assert (on_2nd.total.today, on_2nd.total.yesterday, on_2nd.total.total) == (2, 8, 10)
    on_3rd = summarize(days, totals, datetime(2026, 1, 3, 0, 0, 1, tzinfo=UTC), UTC)
    assert (on_3rd.update.today, on_3rd.update.yesterday) == (0, 1)
    assert len(on_3rd.days) == 30
    assert on_3rd.days[-1].day == "2026-01-03"
    assert on_3rd.days[-2].created == 1
    assert on_3rd.timezone == "UTC"


def test_reset_plans() -> None:
    now = datetime(2026, 1, 2, 10, tzinfo=UTC)
    plan = reset_plan(StatsReset(counter="create", scope="daily"), now, UTC)
    assert plan.counters == ("create",)
    assert not plan.totals
    assert plan.days == ("2026-01-02", "2026-01-01")
    plan = reset_plan(StatsReset(counter="all", scope="total"), now, UTC)
    assert plan.counters == ("create", "update")
    assert plan.totals
    assert plan.days == ()
