"""100,000 log rows: the Log page asks for pages as the operator scrolls, never the whole log."""

from __future__ import annotations

from tests.ui.conftest import settle, wait_for
from tests.ui.fake_driver import FakeDriver
from ui.app import JiraDriverApp
from ui.screens.log import PAGE_SIZE, LogViewPage
from ui.widgets.log_table import LogTable


async def test_pages_load_as_the_cursor_nears_the_end() -> None:
    app = JiraDriverApp(FakeDriver(log_size=100_000), poll_interval=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.query_one(LogTable)
        page = app.query_one(LogViewPage)
        assert table.row_count == PAGE_SIZE
        assert page.total == 100_000
        table.focus()
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: table.row_count == 2 * PAGE_SIZE)
        await settle(pilot)
        assert table.row_count < 100_000
        assert min(table.entries) == 100_000 - 2 * PAGE_SIZE + 1
