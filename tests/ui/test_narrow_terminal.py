"""At 80x24, an SSH session's default: the Ticket Creation Table's columns fit their cells however
the first load and the first paint interleave."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.pilot import Pilot

from driver.contract.schemas import TicketRowBody
from tests.fixtures.driver import DriverProcess
from tests.ui.conftest import settle, wait_for
from tests.ui.fake_driver import FakeDriver
from ui.app import JiraDriverApp
from ui.client import connect
from ui.pages.ticket_creation import TicketCreationPage
from ui.widgets.ticket_table import TicketTable

NARROW = (80, 24)


def painted(table: TicketTable, y: int) -> str:
    """Line y of the table as the screen would paint it now (header is 0)."""
    return table.render_line(y).text


def painted_whole(table: TicketTable, rows: list[TicketRowBody]) -> bool:
    """Whether every row is painted at the columns' present widths, each cell whole in its column."""
    widths = [column.get_render_width(table) for column in table.ordered_columns]
    for index in range(len(rows)):
        line, x, painted_cells = painted(table, 1 + index), 0, []
        for width in widths:
            painted_cells.append(line[x : x + width].strip())
            x += width
        if painted_cells != [str(cell) for cell in table.get_row_at(index)]:
            return False
    return True


async def test_a_paint_between_the_rows_and_the_tables_idle_keeps_the_columns_wide() -> None:
    # Textual's DataTable measures new rows on its next idle and caches painted lines by its update
    # count, not by the column widths (textual#3533): a paint that came before that idle was kept,
    # at the labels' widths, until the cursor moved (`│ proje  Proj  proj  OPS    Incl`).
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        table = app.query_one(TicketTable)
        await wait_for(pilot, lambda: table.row_count > 0 and table.has_focus)
        await settle(pilot)
        rows = [
            TicketRowBody(field="project", name="Project", type="project", value="OPS", mode="Included"),
            TicketRowBody(
                field="customfield_10100", name="Alarm GUID", type="string", value="A-1", mode="Excluded"
            ),
        ]
        table.show(rows)
        painted(table, 1)  # the compositor's turn came first
        await pilot.pause()
        assert painted_whole(table, rows), painted(table, 1)


def measured(table: TicketTable) -> bool:
    """Whether every column is at least as wide as its widest cell (Textual measures on idle)."""
    rows = [table.get_row_at(index) for index in range(table.row_count)]
    return all(
        column.get_render_width(table) - 2 * table.cell_padding
        >= max(Text(str(row[i])).cell_len for row in rows)
        for i, column in enumerate(table.ordered_columns)
    )


async def launch_and_read(pilot: Pilot[Any], app: JiraDriverApp) -> str:
    """Wait for the first load and its measure, let the screen paint, then read what it painted."""
    page = app.query_one(TicketCreationPage)
    table = app.query_one(TicketTable)
    await wait_for(pilot, lambda: page.state is not None and table.row_count == len(page.state.rows) > 0)
    await wait_for(pilot, lambda: measured(table))
    await pilot.pause()
    assert page.state is not None
    assert painted_whole(table, page.state.rows), [painted(table, y) for y in range(3)]
    return painted(table, 0)


async def test_every_launch_draws_the_ticket_table_with_its_columns_fitted(driver: DriverProcess) -> None:
    # the new user's trial: a driver process over real HTTP, 3 launches in 6 drew 5-column cells
    headers = set()
    for _ in range(6):
        app = JiraDriverApp(connect(driver.url, driver.api_token), poll_interval=1.0)
        async with app.run_test(size=NARROW) as pilot:
            headers.add(await launch_and_read(pilot, app))
    assert len(headers) == 1, headers
