"""Where the keys go when a page is shown: the first field of a form, or something that does
nothing on Enter, never a button that acts. Found in an operator trial at 80x24."""

from __future__ import annotations

from textual.widgets import Input

from driver.contract.eligible import EligiblePage, EligibleQuery
from tests.ui.conftest import settle
from tests.ui.fake_driver import FakeDriver
from ui.app import JiraDriverApp

NARROW = (80, 24)


class SearchRecorded(FakeDriver):
    """The fake driver, keeping every search the page sent."""

    def __init__(self) -> None:
        super().__init__()
        self.searches: list[EligibleQuery] = []

    async def eligible(self, query: EligibleQuery) -> EligiblePage:
        self.searches.append(query)
        return await super().eligible(query)


async def test_get_eligible_ticket_takes_the_focus_on_its_first_filter_the_project() -> None:
    driver = SearchRecorded()
    app = JiraDriverApp(driver, poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("f7", *"OPS", "enter")
        await settle(pilot)
        assert app.query_one("#eligible-project", Input).value == "OPS"
        assert [(q.project, q.text) for q in driver.searches] == [("OPS", None)]
