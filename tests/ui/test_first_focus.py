"""Where the keys go when a page is shown: the first field of a form, or something that does
nothing on Enter, never a button that acts. Found in an operator trial at 80x24."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input

from driver.contract.eligible import EligiblePage, EligibleQuery
from tests.ui.conftest import settle
from tests.ui.fake_driver import FakeDriver
from ui.app import JiraDriverApp
from ui.widgets.stats_chart import StatsChart

NARROW = (80, 24)


class SearchRecorded(FakeDriver):
    """The fake driver, keeping every search the page sent."""

    def __init__(self) -> None:
        super().__init__()
        self.searches: list[EligibleQuery] = []

    async def eligible(self, query: EligibleQuery) -> EligiblePage:
        self.searches.append(query)
        return await super().eligible(query)


@pytest.mark.parametrize("key", ["f1", "f2", "f3", "f4", "f5", "f6", "f7"])
async def test_no_page_is_shown_with_a_button_focused(key: str) -> None:
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert app.focused is not None
        assert not isinstance(app.focused, Button), app.focused


async def test_statistics_takes_the_focus_on_the_chart_and_enter_resets_nothing() -> None:
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("f4", "enter")
        await settle(pilot)
        assert isinstance(app.focused, StatsChart)
        assert app.screen is app.screen_stack[0]  # no reset dialog


async def test_get_eligible_ticket_takes_the_focus_on_its_first_filter_the_project() -> None:
    driver = SearchRecorded()
    app = JiraDriverApp(driver, poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("f7", *"OPS", "enter")
        await settle(pilot)
        assert app.query_one("#eligible-project", Input).value == "OPS"
        assert [(q.project, q.text) for q in driver.searches] == [("OPS", None)]
