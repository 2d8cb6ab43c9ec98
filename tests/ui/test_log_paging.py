"""100,000 log rows: the Log page asks for pages as the operator scrolls, never the whole log."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.big_log import ROWS, seed_settled_log
from tests.ui.conftest import InProcessDriver, settle, wait_for
from ui.app import JiraDriverApp
from ui.pages.log import PAGE_SIZE, LogViewPage
from ui.widgets.log_table import LogTable


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding 100,000 settled rows, as a long-running driver would have left them."""
    path = tmp_path_factory.mktemp("big-log") / "template.db"
    seed_settled_log(path, ROWS)
    return path


async def test_pages_load_as_the_cursor_nears_the_end(
    inprocess_driver: Callable[..., Awaitable[InProcessDriver]], sim: Any, tmp_path: Path, big_log: Path
) -> None:
    database = tmp_path / "seeded.db"
    shutil.copyfile(big_log, database)
    drv = await inprocess_driver(
        sim.url,
        ini={
            "driver": {"database": str(database)},
            "log": {"max_entries": "0", "remove_older_than_days": "0"},
        },
    )
    app = JiraDriverApp(drv.client())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.connected)
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.query_one(LogTable)
        page = app.query_one(LogViewPage)
        assert table.row_count == PAGE_SIZE
        assert page.total == ROWS
        table.focus()
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: table.row_count == 2 * PAGE_SIZE)
        await settle(pilot)
        assert table.row_count < ROWS
        assert min(table.entries) == ROWS - 2 * PAGE_SIZE + 1
