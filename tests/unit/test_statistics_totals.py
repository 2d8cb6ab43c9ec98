"""The Statistics page's totals as the days' sums plus an offset (driver.store.counters) give what
separate running totals gave, whatever the counts, day changes and resets (hypothesis, against a
model of the page that keeps each total apart), on a real SQLite file."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from driver.contract.schemas import StatsReset
from driver.model.statistics import Statistic, day_of
from driver.store import Store

COUNT = st.tuples(st.just("count"), st.sampled_from(list(Statistic)), st.integers(1, 5))
DAY = st.tuples(st.just("day"), st.integers(1, 3), st.just(0))
RESET = st.tuples(
    st.just("reset"), st.sampled_from(["create", "update", "all"]), st.sampled_from(["daily", "total", "all"])
)


class Model:
    """The page as separate running totals kept it (before migration 0015)."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, Statistic], int] = {}
        self.totals = dict.fromkeys(Statistic, 0)

    def count(self, day: str, counter: Statistic, n: int) -> None:
        self.days[(day, counter)] = self.days.get((day, counter), 0) + n
        self.totals[counter] += n

    def reset(self, counters: list[Statistic], scope: str, days: tuple[str, str]) -> None:
        for counter in counters:
            if scope in ("daily", "all"):
                for day in days:
                    self.days.pop((day, counter), None)
            if scope in ("total", "all"):
                self.totals[counter] = 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(COUNT, DAY, RESET), max_size=25))
def test_totals_read_as_separate_running_totals_would(steps: list[tuple[str, object, object]]) -> None:
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    model = Model()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.db", clock=lambda: now[0], zone=UTC)
        try:
            for kind, a, b in steps:
                today = day_of(now[0], UTC)
                if kind == "count":
                    assert isinstance(a, Statistic)
                    assert isinstance(b, int)
                    store.count(a, b)
                    model.count(today, a, b)
                elif kind == "day":
                    assert isinstance(a, int)
                    now[0] += timedelta(days=a)
                else:
                    reset = StatsReset(counter=a, scope=b)
                    store.reset_statistics(reset)
                    counters = list(Statistic) if a == "all" else [Statistic(str(a))]
                    yesterday = day_of(now[0] - timedelta(days=1), UTC)
                    model.reset(counters, str(b), (today, yesterday))
                stats = store.statistics()
                today = day_of(now[0], UTC)
                for counter, shown in ((Statistic.CREATE, stats.create), (Statistic.UPDATE, stats.update)):
                    assert shown.total == model.totals[counter]
                    assert shown.today == model.days.get((today, counter), 0)
        finally:
            store.close()
