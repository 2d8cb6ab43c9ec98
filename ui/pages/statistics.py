"""The Statistics page: created, updated and total counts, their resets, and 30 days of history."""

from __future__ import annotations

from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from driver.contract.schemas import Counter, DriverStatus, Statistics, StatsReset
from ui.client import DriverApi
from ui.messages import CountersReset
from ui.modals.confirm import ConfirmModal
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.stats_chart import StatsChart

CounterName = Literal["create", "update", "all"]
Scope = Literal["daily", "total"]
GROUPS: list[tuple[CounterName, str]] = [
    ("create", "Create Statistics"),
    ("update", "Update Statistics"),
    ("all", "Total Statistics"),
]
RESETS: dict[str, tuple[CounterName, Scope]] = {
    f"reset-{name}-{scope}": (name, scope) for name, _ in GROUPS for scope in ("daily", "total")
}


def counter_lines(counter: Counter) -> str:
    """Today, yesterday and total, aligned."""
    return (
        f"Today      {counter.today:>8,}\nYesterday  {counter.yesterday:>8,}\nTotal      {counter.total:>8,}"
    )


class StatisticsPage(DriverPage):
    """Three counter groups, each with its resets, and the chart below."""

    FOCUS = "#stats-chart"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.statistics: Statistics | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="stats-groups"):
            for name, title in GROUPS:
                with Vertical(classes="stats-group", id=f"stats-{name}"):
                    yield Label(title, classes="section-title")
                    yield Static("", id=f"counts-{name}", classes="counts")
                    with Horizontal(classes="buttons"):
                        yield Button("Reset daily", id=f"reset-{name}-daily", classes="reset")
                        yield Button("Reset total", id=f"reset-{name}-total", classes="reset")
        yield Label("Last 30 days: created against updated", classes="section-title")
        yield StatsChart(id="stats-chart")
        yield Static("", id="stats-timezone")

    def refresh_data(self) -> None:
        self.load()

    def status_changed(self, status: DriverStatus) -> None:
        self.load()

    @work(exclusive=True, group="stats-read", exit_on_error=False)
    async def load(self) -> None:
        """Fetch the counters (a newer load supersedes this one)."""
        token = self.read_started()
        statistics = await self.client.stats()
        if self.read_current(token):
            self.show(statistics)

    def reset(self, counter: CounterName, scope: Scope) -> None:
        """Queue resetting one counter's daily or total numbers."""

        async def change() -> None:
            statistics = await self.client.reset_stats(StatsReset(counter=counter, scope=scope))
            self.show(statistics)
            self.post_message(CountersReset(statistics))

        self.mutate(f"Reset the {scope} {counter} counters", change)

    def show(self, statistics: Statistics) -> None:
        """Display the numbers (the chart only when its days changed)."""
        if statistics == self.statistics:
            return
        self.statistics = statistics
        for name, counter in (
            ("create", statistics.create),
            ("update", statistics.update),
            ("all", statistics.total),
        ):
            self.query_one(f"#counts-{name}", Static).update(counter_lines(counter))
        self.query_one(StatsChart).days = statistics.days
        self.query_one("#stats-timezone", Static).update(f"Days are counted in {statistics.timezone}.")

    @on(Button.Pressed, ".reset")
    def _ask_reset(self, event: Button.Pressed) -> None:
        name, scope = RESETS[event.button.id or ""]
        title = dict(GROUPS)[name]
        what = "today's and yesterday's counts" if scope == "daily" else "the running total"
        question = f"Reset {what} of {title}?"

        def answer(yes: bool | None) -> None:
            if yes:
                self.reset(name, scope)

        self.app.push_screen(ConfirmModal(question, yes="Reset"), answer)
