"""At 80x24, an SSH session's default: the Ticket Creation Table's columns fit their cells however
the first load and the first paint interleave."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from driver.contract.endpoints import EndpointInfo
from driver.contract.schemas import DriverStatus, JiraSettings, JiraState, TicketRowBody
from tests.fixtures.driver import DriverProcess
from tests.ui.conftest import settle, wait_for
from tests.ui.fake_driver import CATALOG, FakeDriver
from ui.app import JiraDriverApp
from ui.client import connect
from ui.modals.add_field import AddFieldModal
from ui.modals.auth import AuthModal
from ui.modals.call_endpoint import CallEndpointModal
from ui.modals.confirm import ConfirmModal
from ui.modals.prompt import PromptModal
from ui.pages.ticket_creation import TicketCreationPage
from ui.widgets.status_bar import StatusBar
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


# --- dialogs ------------------------------------------------------------------------------------


def dialogs(endpoints: list[EndpointInfo]) -> dict[str, Callable[[], ModalScreen[Any]]]:
    """Every dialog of the TUI, each with its longest texts."""
    jira = JiraSettings(
        url="https://jira.example",
        ticket_location="rest/api/2/issue",
        auth_mode="oauth_client_credentials",
        username="operator@example.com",
        has_secret=True,
        api_type="cloud",
    )
    long_name = "Value of Alarm GUID for the monitoring system (customfield_10100, string)"
    return {
        "add-field": lambda: AddFieldModal(CATALOG, ["string", "number", "option", "multi-option"], set()),
        "auth": lambda: AuthModal(jira),
        "confirm": lambda: ConfirmModal(
            "Unlink 12/345/6789 from OPS-1234? Its next CREATE makes a new ticket.", yes="Unlink"
        ),
        "prompt": lambda: PromptModal(long_name, "a value " * 20),
        "call-endpoint": lambda: CallEndpointModal("12/345/6789", endpoints),
    }


CONTROLS = "Input, Select, Button, Checkbox"


@pytest.mark.parametrize("name", list(dialogs([])))
async def test_every_dialog_fits_an_ssh_terminal_with_each_control_in_view_and_reachable(name: str) -> None:
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        modal = dialogs((await FakeDriver().endpoints()).endpoints)[name]()
        await app.push_screen(modal)
        await settle(pilot)
        screen = app.screen
        assert screen is modal
        controls = list(screen.query(CONTROLS))
        assert controls
        (dialog,) = screen.children
        for control in controls:
            where = f"{control!r} at {control.region} in {dialog.region} of {screen.region}"
            assert screen.region.contains_region(dialog.region), where
            assert dialog.content_region.contains_region(control.region), where
            if isinstance(control, Input | Select):
                assert control.region.width >= 12, where
        # Tab walks to every control (none is only reachable with the mouse)
        reached = set()
        for _ in range(2 * len(controls)):
            await pilot.press("tab")
            reached.add(app.focused)
        assert reached >= {c for c in controls if c.focusable}, reached


async def test_the_auth_dialog_names_the_ini_section_of_an_oauth_setup() -> None:
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await app.push_screen(dialogs([])["auth"]())
        await settle(pilot)
        shown = " ".join(str(label.render()) for label in app.screen.query(Label))
        assert "from [jira] auth (docs/auth.md)" in shown


# --- the status line ----------------------------------------------------------------------------


class AuthFailedDriver(FakeDriver):
    async def status(self) -> DriverStatus:
        answer = await super().status()
        message = "Jira answered 401 Unauthorized: check [jira] username and the API token"
        return answer.model_copy(update={"jira_state": JiraState.AUTH_FAILED, "jira_message": message})


async def test_the_status_line_at_80_columns_shows_jira_auth_failed_and_why() -> None:
    app = JiraDriverApp(AuthFailedDriver(), poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.status is not None)
        await pilot.pause()
        line = bar.render_line(0).text
        assert "● connected │ Jira auth failed: Jira answered 401 Unauthorized" in line, line
        assert "queue" not in line  # no room left: the counts give way, not Jira's answer
