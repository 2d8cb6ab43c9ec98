"""Pilot tests of each page against the real driver and simulator: the newcomer's walk-through.

The driver is the real app, served in-process (tests/ui/conftest.py `inprocess_driver`) over a
real SQLite file and talking real HTTP to the simulator; the outage test needs a process to stop,
so it runs `jira-driver run` instead.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from driver.contract.schemas import CreationTableState, LogStatus, Settings, Statistics, UpdateSettings
from tests.fixtures.driver import DriverProcess
from tests.ui.conftest import Condition, InProcessDriver, press_together, settle, wait_for
from ui.app import JiraDriverApp
from ui.client import DriverApi, DriverClient, DriverUnreachable, connect
from ui.messages import CountersReset, DriverStatusChanged, TicketExecuted
from ui.modals.add_field import AddFieldModal
from ui.modals.confirm import ConfirmModal
from ui.modals.prompt import PromptModal
from ui.pages.log import LogViewPage
from ui.pages.ticket_creation import TicketCreationPage
from ui.widgets.log_table import LogTable
from ui.widgets.status_bar import StatusBar
from ui.widgets.ticket_table import TicketTable

SIZE = (120, 36)


class Session:
    """A running app, its pilot, the messages it saw and the driver behind it."""

    def __init__(
        self,
        app: JiraDriverApp,
        pilot: Pilot[Any],
        messages: list[Message],
        driver: InProcessDriver | None,
    ):
        self.app = app
        self.pilot = pilot
        self.messages = messages
        self.driver = driver

    async def get(self, path: str) -> Any:
        """The driver's answer to GET path, through its API (not the UI's)."""
        assert self.driver is not None, "this session's driver is a process: ask it directly"
        return await self.driver.get(path)

    async def send(self, *commands: str) -> None:
        """Submit Advanced commands to the driver as an alarm feed would; they must be accepted."""
        assert self.driver is not None, "this session's driver is a process: ask it directly"
        assert (await self.driver.send(*commands)).status_code == 202

    def text(self, selector: str) -> str:
        return str(self.app.screen.query_one(selector, Static).render())

    async def wait(self, condition: Condition, within: float = 15.0) -> None:
        await wait_for(self.pilot, condition, within)

    async def settled(self) -> bool:
        """Nothing Pending or Deferred in the driver."""
        return bool((await self.get("/api/status"))["queue_depth"] == 0)


@asynccontextmanager
async def running(client: DriverApi, driver: InProcessDriver | None = None) -> AsyncIterator[Session]:
    messages: list[Message] = []
    app = JiraDriverApp(client)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        session = Session(app, pilot, messages, driver)
        await session.wait(lambda: app.connected)
        await settle(pilot)
        yield session


InProcessFactory = Callable[..., Awaitable[InProcessDriver]]


@pytest.fixture
async def ui(inprocess_driver: InProcessFactory, sim: Any) -> AsyncIterator[Session]:
    """The TUI on the standard driver (api token set)."""
    drv = await inprocess_driver(sim.url)
    async with running(drv.client(), drv) as session:
        yield session


async def ticket(session: Session) -> CreationTableState:
    return CreationTableState.model_validate(await session.get("/api/ticket"))


# --- Ticket Creation -------------------------------------------------------------------------


async def test_add_a_custom_field(ui: Session) -> None:
    pilot = ui.pilot
    await pilot.press("ctrl+n")
    await settle(pilot)
    modal = ui.app.screen
    assert isinstance(modal, AddFieldModal)
    await pilot.click("#custom-id")
    await pilot.press(*"customfield_10100")
    await pilot.press("tab", *"Alarm GUID")
    # The type Select: open it, walk down to "string" (the first type), choose it.
    await pilot.press("tab", "enter")
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    assert modal.query_one("#custom-type", Select).value == "string"
    await pilot.click("#field-value")
    await pilot.press(*"ALARM-42", "enter")
    await settle(pilot)

    async def added() -> bool:
        return any(r.field == "customfield_10100" for r in (await ticket(ui)).rows)

    await ui.wait(added)
    row = next(r for r in (await ticket(ui)).rows if r.field == "customfield_10100")
    assert (row.name, row.type, row.value, row.mode) == ("Alarm GUID", "string", "ALARM-42", "Included")
    await ui.wait(lambda: "customfield_10100" in ui.app.query_one("#create-query", TextArea).text)
    table = ui.app.query_one(TicketTable)
    assert table.row_count == len((await ticket(ui)).rows)


async def test_edit_a_value_and_toggle_its_mode(ui: Session) -> None:
    pilot = ui.pilot
    table = ui.app.query_one(TicketTable)
    index = next(i for i, r in enumerate((await ticket(ui)).rows) if r.field == "summary")
    table.focus()
    table.move_cursor(row=index)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(ui.app.screen, PromptModal)
    ui.app.screen.query_one(Input).value = ""
    await pilot.press(*"Disk full on core-router-01", "enter")
    await settle(pilot)
    editor = ui.app.query_one("#create-query", TextArea)
    assert '"summary": "Disk full on core-router-01"' in editor.text
    assert (await ticket(ui)).query["fields"]["summary"] == "Disk full on core-router-01"

    await pilot.press("m")
    await settle(pilot)
    assert (await ticket(ui)).rows[index].mode == "Excluded"
    assert "summary" not in (await ticket(ui)).query["fields"]
    assert '"summary"' not in editor.text


FLIPPED = {"Included": "Excluded", "Excluded": "Included"}


def shown_modes(table: TicketTable) -> list[str]:
    return [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]


async def test_two_quick_mode_toggles_both_stick(ui: Session) -> None:
    before = await ticket(ui)
    first = rows_index(before, "summary")
    second = rows_index(before, "description")
    assert second == first + 1
    table = ui.app.query_one(TicketTable)
    table.focus()
    table.move_cursor(row=first)
    await settle(ui.pilot)
    # No pause between the keys: the second toggle is asked while the first is still on its way.
    press_together(ui.pilot, "m", "down", "m")
    await settle(ui.pilot)
    after = await ticket(ui)
    expected = [
        FLIPPED[row.mode] if row.field in ("summary", "description") else row.mode for row in before.rows
    ]
    assert [row.mode for row in after.rows] == expected
    assert "summary" not in after.query["fields"]
    assert "description" in after.query["fields"]
    assert shown_modes(table) == expected
    assert ui.app.query_one("#create-query", TextArea).text == after.query_text


async def test_two_quick_toggles_of_one_row_cancel_out_and_an_edit_between_is_kept(ui: Session) -> None:
    before = await ticket(ui)
    index = rows_index(before, "summary")
    table = ui.app.query_one(TicketTable)
    page = ui.app.query_one(TicketCreationPage)
    table.focus()
    table.move_cursor(row=index)
    await settle(ui.pilot)
    # Three changes asked before any answer: toggle, a new value (as the Enter dialog would), toggle.
    press_together(ui.pilot, "m")
    page.edit_rows("Edit", "summary", lambda row: row.model_copy(update={"value": "Asked in between"}))
    press_together(ui.pilot, "m")
    await settle(ui.pilot)
    row = (await ticket(ui)).rows[index]
    assert (row.mode, row.value) == (before.rows[index].mode, "Asked in between")
    assert shown_modes(table) == [r.mode for r in before.rows]


async def test_a_toggle_of_a_row_removed_just_before_changes_nothing_else(ui: Session) -> None:
    before = await ticket(ui)
    table = ui.app.query_one(TicketTable)
    table.focus()
    table.move_cursor(row=rows_index(before, "summary"))
    await settle(ui.pilot)
    # Both keys meet the row as drawn: the toggle is meant for summary, which is gone by its turn.
    press_together(ui.pilot, "delete", "m")
    await settle(ui.pilot)
    after = await ticket(ui)
    assert after.rows == [row for row in before.rows if row.field != "summary"]
    assert "summary is no longer in the table" in ui.text("#ticket-error")
    assert table.row_count == len(after.rows)


async def test_removing_the_project_row_asks_first_and_no_keeps_it(ui: Session) -> None:
    # one Delete took the project away, and every CREATE after it was refused by Jira (an
    # operator's trial); other rows still go at once
    before = await ticket(ui)
    table = ui.app.query_one(TicketTable)
    table.focus()
    table.move_cursor(row=rows_index(before, "project"))
    await settle(ui.pilot)
    await ui.pilot.press("delete")
    await settle(ui.pilot)
    assert isinstance(ui.app.screen, ConfirmModal)
    assert "Jira refuses every create without a project" in str(
        ui.app.screen.query_one("#confirm-question", Static).render()
    )
    await ui.pilot.press("n")
    await settle(ui.pilot)
    assert (await ticket(ui)).rows == before.rows
    await ui.pilot.press("delete")
    await settle(ui.pilot)
    await ui.pilot.press("y")
    await settle(ui.pilot)
    assert [row.field for row in (await ticket(ui)).rows] == [
        r.field for r in before.rows if r.field != "project"
    ]


async def test_query_edits_update_the_table_and_bad_json_shows_where(ui: Session) -> None:
    pilot = ui.pilot
    editor = ui.app.query_one("#create-query", TextArea)
    rows_before = (await ticket(ui)).rows
    editor.focus()
    editor.move_cursor((0, 0))
    await pilot.press("x", "ctrl+s")
    await settle(pilot)
    error = ui.text("#query-error")
    assert "line 1" in error
    assert "column" in error
    assert (await ticket(ui)).rows == rows_before  # the driver kept the table
    assert ui.app.query_one(TicketTable).row_count == len(rows_before)

    # A valid edit: change the summary in the JSON; the table follows.
    state = await ticket(ui)
    editor.load_text(state.query_text.replace(state.query["fields"]["summary"], "Edited in the JSON"))
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert ui.text("#query-error") == ""
    summary = next(r for r in (await ticket(ui)).rows if r.field == "summary")
    assert summary.value == "Edited in the JSON"
    table = ui.app.query_one(TicketTable)
    # The table cuts long values; the start of the new one is enough to see it followed.
    cells = table.get_row_at(rows_index(await ticket(ui), "summary"))
    assert any(str(c).startswith("Edited in the") for c in cells)


def rows_index(state: CreationTableState, field: str) -> int:
    return next(i for i, r in enumerate(state.rows) if r.field == field)


async def test_execute_creates_a_ticket_after_confirmation(ui: Session) -> None:
    pilot = ui.pilot
    await pilot.press("ctrl+g")
    await settle(pilot)
    assert isinstance(ui.app.screen, ConfirmModal)
    await pilot.press("y")
    await ui.wait(lambda: any(isinstance(m, TicketExecuted) for m in ui.messages))
    # The hook sees a message at each node it bubbles through: one event, several sightings.
    [executed] = {id(m): m for m in ui.messages if isinstance(m, TicketExecuted)}.values()
    assert executed.entry.status is LogStatus.OK
    assert executed.entry.ticket_key
    result = ui.text("#execute-result")
    assert f"Created {executed.entry.ticket_key}" in result
    assert str(executed.entry.ticket_url) in result


async def test_the_execute_question_says_enter_means_no_and_enter_creates_nothing(ui: Session) -> None:
    # Enter on the confirmation meant No with nothing on screen saying so (issue 17): the focused
    # button and a hint line say it, and Enter indeed creates nothing.
    await ui.pilot.press("ctrl+g")
    await settle(ui.pilot)
    screen = ui.app.screen
    assert isinstance(screen, ConfirmModal)
    assert screen.focused is screen.query_one("#confirm-no")
    assert "No (Enter)" in str(screen.query_one("#confirm-no", Button).label)
    assert "Enter or n: No" in str(screen.query_one("#confirm-keys", Label).render())
    await ui.pilot.press("enter")
    await settle(ui.pilot)
    assert not isinstance(ui.app.screen, ConfirmModal)
    assert (await ui.get("/api/log"))["total"] == 0


async def test_execute_can_be_cancelled(ui: Session) -> None:
    await ui.pilot.press("ctrl+g")
    await settle(ui.pilot)
    await ui.pilot.press("n")
    await settle(ui.pilot)
    assert not isinstance(ui.app.screen, ConfirmModal)
    assert (await ui.get("/api/log"))["total"] == 0


# --- Configuration ---------------------------------------------------------------------------


async def test_settings_auth_check_and_advanced(ui: Session) -> None:
    pilot = ui.pilot
    await pilot.press("f2")
    await settle(pilot)
    app = ui.app
    app.query_one("#max-updates", Input).value = "1"
    app.query_one("#interval", Input).value = "45"
    await pilot.click("#save-update")
    await settle(pilot)
    assert "saved" in ui.text("#update-result")
    assert (await ui.get("/api/settings"))["update"]["max_updates"] == 1
    assert (await ui.get("/api/settings"))["update"]["interval_seconds"] == 45

    # Two saves in a row, the second asked before the first is answered: both are stored.
    app.query_one("#max-updates", Input).value = "3"
    app.query_one("#interval", Input).value = "30"
    app.query_one("#max-entries", Input).value = "500"
    app.query_one("#remove-older", Input).value = "7"
    app.query_one("#save-update", Button).press()
    app.query_one("#save-log", Button).press()
    await settle(pilot)
    settings = await ui.get("/api/settings")
    assert settings["update"] == {"max_updates": 3, "interval_seconds": 30, "scope": "ticket"}
    assert settings["log"] == {"max_entries": 500, "remove_older_than_days": 7}
    assert "Log settings saved" in ui.text("#log-result")
    assert app.query_one("#max-updates", Input).value == "3"

    # Authentication: the secret is typed masked and never comes back.
    await pilot.click("#auth")
    await settle(pilot)
    secret_input = app.screen.query_one("#auth-secret", Input)
    assert secret_input.password
    secret_input.focus()
    await pilot.press(*"admin", "enter")
    await settle(pilot)
    assert "a secret is stored" in ui.text("#auth-summary")
    assert "admin" in ui.text("#auth-summary")
    assert (await ui.get("/api/settings"))["jira"]["has_secret"] is True

    await pilot.click("#check")
    await settle(pilot)
    await ui.wait(lambda: ui.text("#check-result").startswith("✔"))

    # Advanced: a bad command is shown again with a caret under the bad position.
    advanced = app.query_one("#advanced", Input)
    advanced.focus()
    await pilot.press(*"ALARM-1|CREAT|summary;x", "enter")
    await settle(pilot)
    shown = ui.text("#advanced-result")
    assert "position 9" in shown
    lines = shown.splitlines()
    command_line = next(line for line in lines if "ALARM-1|CREAT" in line)
    caret_line = lines[lines.index(command_line) + 1]
    assert caret_line.index("^") == command_line.index("CREAT")
    advanced.value = ""
    await pilot.press(*"ALARM-2|CREATE|summary;From Advanced|", "enter")
    await settle(pilot)
    assert "Accepted" in ui.text("#advanced-result")


class FirstSaveLost(DriverClient):
    """The real client, except that the driver is gone for the first update-settings save."""

    lost = False

    async def put_update_settings(self, body: UpdateSettings) -> Settings:
        if not self.lost:
            self.lost = True
            raise DriverUnreachable(self.base_url, "connection reset")
        return await super().put_update_settings(body)


async def test_a_change_that_fails_is_reported_and_the_next_still_runs(
    inprocess_driver: InProcessFactory, sim: Any
) -> None:
    drv = await inprocess_driver(sim.url)
    client = FirstSaveLost(drv.base_url, drv.api_token, transport=drv.transport)
    async with running(client, drv) as ui:
        await ui.pilot.press("f2")
        await settle(ui.pilot)
        before = await ui.get("/api/settings")
        app = ui.app
        app.query_one("#max-updates", Input).value = "3"
        app.query_one("#max-entries", Input).value = "500"
        app.query_one("#save-update", Button).press()
        app.query_one("#save-log", Button).press()
        await settle(ui.pilot)
        after = await ui.get("/api/settings")
        assert after["update"] == before["update"]
        assert after["log"]["max_entries"] == 500
        told = [m.notification.message for m in ui.messages if isinstance(m, Notify)]
        assert any("Save the update settings was not made: connection reset" in text for text in told)


# --- Log -------------------------------------------------------------------------------------


async def test_updates_arrive_by_themselves_and_are_deferred(
    inprocess_driver: InProcessFactory, sim: Any
) -> None:
    drv = await inprocess_driver(sim.url, ini={"update": {"max_updates": "1", "interval_seconds": "60"}})
    async with running(drv.client(), drv) as ui:
        await ui.pilot.press("f3")
        await settle(ui.pilot)
        await drv.send("ALARM-7|CREATE|summary;Fan failure|")
        await ui.wait(ui.settled)
        await drv.send("ALARM-7|UPDATE|summary;Fan failure (2)|", "ALARM-7|UPDATE|summary;Fan failure (3)|")
        table = ui.app.query_one(LogTable)
        # Nobody presses anything: the status poller brings the new rows and the Deferred state.
        await ui.wait(lambda: any(e.status is LogStatus.DEFERRED for e in table.entries.values()), 5)
        await ui.wait(lambda: table.row_count >= 3, 5)
        bar = ui.app.query_one(StatusBar)
        await ui.wait(lambda: bar.status is not None and bar.status.deferred >= 1, 5)
        assert "deferred" in str(bar.render())
        newest = table.get_row_at(0)
        assert "UPDATE" in newest
        assert any(isinstance(m, DriverStatusChanged) and m.status for m in ui.messages)


async def test_find_a_failed_request_and_read_why(ui: Session) -> None:
    await ui.send("ALARM-1|CREATE|summary;ok|", "ALARM-2|CREATE|summary;bad|priority;Urgentt|")
    await ui.wait(ui.settled)
    pilot = ui.pilot
    await pilot.press("f3")
    await settle(pilot)
    page = ui.app.query_one(LogViewPage)
    status = page.query_one("#filter-status", Select)
    status.value = "Failed"
    await settle(pilot)
    table = ui.app.query_one(LogTable)
    await ui.wait(lambda: table.row_count == 1 and page.total == 1)
    [entry] = table.entries.values()
    assert entry.status is LogStatus.FAILED
    table.focus()
    await pilot.press("down", "up")
    await settle(pilot)
    detail = ui.text("#log-detail")
    assert "Priority name 'Urgentt' is not valid" in detail
    assert "Request:" in detail


async def test_ticket_url_opens_in_a_browser_or_is_copied(
    ui: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("ui.pages.log.browser_available", lambda: True)

    def fake_open(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", fake_open)
    await ui.send("ALARM-3|CREATE|summary;Link me|")
    await ui.wait(ui.settled)
    await ui.pilot.press("f3")
    await settle(ui.pilot)
    table = ui.app.query_one(LogTable)
    await ui.wait(lambda: table.current is not None and table.current.ticket_url is not None)
    url = table.current.ticket_url if table.current else None
    table.focus()
    await ui.pilot.press("o")
    await settle(ui.pilot)
    assert opened == [url]
    monkeypatch.setattr("ui.pages.log.browser_available", lambda: False)
    await ui.pilot.press("o")
    await settle(ui.pilot)
    assert ui.app.clipboard == url


# --- Statistics ------------------------------------------------------------------------------


async def test_reset_the_daily_counters(ui: Session) -> None:
    await ui.send("ALARM-4|CREATE|summary;Count me|")

    async def counted() -> bool:
        return bool((await ui.get("/api/stats"))["create"]["today"] == 1)

    await ui.wait(counted)
    pilot = ui.pilot
    await pilot.press("f4")
    await settle(pilot)
    await ui.wait(lambda: "Today             1" in ui.text("#counts-create"))
    await pilot.click("#reset-create-daily")
    await settle(pilot)
    assert isinstance(ui.app.screen, ConfirmModal)
    await pilot.press("y")
    await ui.wait(lambda: any(isinstance(m, CountersReset) for m in ui.messages))
    stats = Statistics.model_validate(await ui.get("/api/stats"))
    assert stats.create.today == 0
    assert stats.create.total == 1  # only the daily numbers were reset
    assert "Today             0" in ui.text("#counts-create")


# --- connection ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_driver_outage_is_shown_and_recovered_from(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    port = free_port()
    drv = driver_factory(sim.url, ini={"driver": {"listen": f"127.0.0.1:{port}"}})
    async with running(connect(drv.url, drv.api_token)) as ui:
        bar = ui.app.query_one(StatusBar)
        drv.stop()
        await ui.wait(lambda: "disconnected" in str(bar.render()), 5)
        drv.start()
        await ui.wait(lambda: ui.app.connected and "connected" in str(bar.render()), 10)
        assert "disconnected" not in str(bar.render())
