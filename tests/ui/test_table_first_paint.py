"""Every paged table (the log, Alarms, Get Eligible Ticket's issues) paints whole cells however its
first rows and its first paint interleave: Textual's DataTable measures new rows on its next idle,
and a line painted before that idle stayed at the columns' old widths (textual#3533)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from textual.app import App, ComposeResult

from driver.contract.alarms import AlarmEntry
from driver.contract.eligible import EligibleIssue
from driver.contract.schemas import LogEntry, LogStatus, LogType
from ui.widgets.alarms_table import AlarmsTable
from ui.widgets.issues_table import IssuesTable
from ui.widgets.log_table import LogTable
from ui.widgets.paged_table import PagedTable


class Holder(App[None]):
    CSS = "PagedTable { height: 1fr; }"  # as on the driver's pages: a paint sees the rows at once

    def __init__(self, table: PagedTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


def painted_whole(table: PagedTable) -> list[str]:
    """The rows whose painted cells differ from the cells (empty when every cell is whole)."""
    widths = [column.get_render_width(table) for column in table.ordered_columns]
    wrong = []
    for index in range(table.row_count):
        line, x, cells = table.render_line(1 + index).text, 0, []
        for width in widths:
            cells.append(line[x : x + width].strip())
            x += width
        if cells != [str(cell).strip() for cell in table.get_row_at(index)]:
            wrong.append(line)
    return wrong


LOG = [
    LogEntry(
        id=n,
        type=LogType.AUTOMATIC,
        action="CREATE",
        guid=f"alarm-guid-{n}/element-7",
        time=datetime(2026, 12, 6, 12, 0, n, tzinfo=UTC),
        status=LogStatus.FAILED,
        ticket_key=f"OPS-{1000 + n}",
        error="Jira refused it: Field 'priority' cannot be set",
    )
    for n in range(1, 4)
]


async def first_paint(table: PagedTable, fill: Callable[[], None]) -> list[str]:
    app = Holder(table)
    async with app.run_test(size=(200, 24)) as pilot:
        await pilot.pause()
        fill()
        table.render_line(1)  # the compositor's turn came before the table's idle
        await pilot.pause()
        return painted_whole(table)


async def test_the_log_table_paints_its_first_page_whole() -> None:
    table = LogTable()
    assert await first_paint(table, lambda: table.replace(LOG)) == []


async def test_a_log_rows_error_arriving_later_widens_its_column() -> None:
    # merge_newest changes cells in place; DataTable measures a changed cell only when asked to,
    # so a Pending row turning Failed had its error cut to the width of the column's label.
    table = LogTable()
    pending = [entry.model_copy(update={"status": LogStatus.PENDING, "error": ""}) for entry in LOG]
    app = Holder(table)
    async with app.run_test(size=(200, 24)) as pilot:
        table.replace(pending)
        await pilot.pause()
        assert table.merge_newest(LOG)
        table.render_line(1)
        await pilot.pause()
        assert painted_whole(table) == []
        assert "Field 'priority' cannot be set" in table.render_line(1).text


async def test_the_alarms_table_paints_its_first_page_whole() -> None:
    table = AlarmsTable()
    alarms = [
        AlarmEntry(
            guid=f"dma-{n}/element-42/parameter-1000",
            state="active",
            summary=f"Link down on core router {n}",
            ticket_key=f"OPS-{2000 + n}",
            jira_status="In Progress",
            last_action="UPDATE",
            last_at=datetime(2026, 12, 6, 12, n, tzinfo=UTC),
            last_log_id=n,
            first_seen=datetime(2026, 12, 6, 11, n, tzinfo=UTC),
        )
        for n in range(1, 4)
    ]
    assert await first_paint(table, lambda: table.show(alarms)) == []


async def test_the_eligible_issues_table_paints_its_first_page_whole() -> None:
    table = IssuesTable()
    issues = [
        EligibleIssue(
            key=f"OPS-{3000 + n}",
            url=f"https://jira.example/browse/OPS-{3000 + n}",
            summary=f"Link down on core router {n}",
            status="In Progress",
            status_category="indeterminate",
            assignee="Operations Duty",
            updated="2026-12-06T12:00:00.000+0000",
        )
        for n in range(1, 4)
    ]
    assert await first_paint(table, lambda: table.show(issues)) == []
