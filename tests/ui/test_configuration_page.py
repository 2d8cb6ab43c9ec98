"""The Configuration page (F2) at 80x24, an SSH session's default, where its two columns stack and
the page scrolls: each answer shows under the control that asked, in view and whole, and a value
the save refused is not left looking saved. Found in an operator trial."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from tests.ui.conftest import InProcessDriver, settle, wait_for
from tests.ui.fake_driver import FakeDriver
from tests.ui.test_pages import InProcessFactory
from ui.app import JiraDriverApp
from ui.client import DriverApi
from ui.pages.configuration import ConfigurationPage

NARROW = (80, 24)


@asynccontextmanager
async def config_page(client: DriverApi) -> AsyncIterator[tuple[JiraDriverApp, Pilot[Any]]]:
    """The app at 80x24 on the Configuration page, its settings loaded."""
    app = JiraDriverApp(client, poll_interval=3600)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.connected)
        await pilot.press("f2")
        await settle(pilot)
        await wait_for(pilot, lambda: app.query_one(ConfigurationPage).settings is not None)
        yield app, pilot


@pytest.fixture
async def in_process(inprocess_driver: InProcessFactory, sim: Any) -> InProcessDriver:
    return await inprocess_driver(sim.url)


def in_view(app: JiraDriverApp, widget: Widget) -> bool:
    """Whether the widget is wholly inside the page's visible area (not scrolled off it)."""
    page = app.query_one(ConfigurationPage)
    return widget.region.height > 0 and page.region.contains_region(widget.region)


def painted(widget: Widget) -> list[str]:
    """The widget's lines as the screen paints them, wrapped at its width."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def answer_showing(app: JiraDriverApp, words: str) -> Static:
    """The one line or block of the page that shows these words."""
    (answer,) = [w for w in app.query_one(ConfigurationPage).query(Static) if words in str(w.render())]
    return answer


def under(answer: Widget, button: Widget) -> bool:
    """Whether the answer starts on the line under the button (next to it, not a screen away)."""
    return answer.region.y == button.region.bottom


async def press_button(pilot: Pilot[Any], selector: str) -> Button:
    """Focus the button as Tab would (the page scrolls to it), then press Enter."""
    button = pilot.app.query_one(selector, Button)
    button.focus()
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    return button


async def test_a_refused_save_is_answered_under_its_button_in_view(in_process: InProcessDriver) -> None:
    async with config_page(in_process.client()) as (app, pilot):
        app.query_one("#interval", Input).value = "0"
        button = await press_button(pilot, "#save-update")
        answer = answer_showing(app, "Interval:")
        # it was drawn at y=26 of the 24 lines, under the Log Settings, and never seen
        assert in_view(app, answer), (answer.region, app.query_one(ConfigurationPage).region)
        assert in_view(app, button)
        assert under(answer, button), (answer.region, button.region)
        text = " ".join(painted(answer))
        assert text.startswith("✖ Interval: Input should be greater than or equal to 1"), text


async def test_a_refused_value_is_marked_and_the_value_the_driver_keeps_named(
    in_process: InProcessDriver,
) -> None:
    before = (await in_process.get("/api/settings"))["update"]
    async with config_page(in_process.client()) as (app, pilot):
        interval = app.query_one("#interval", Input)
        interval.value = "0"
        await press_button(pilot, "#save-update")
        answer = app.query_one("#update-result", Static)
        text = " ".join(painted(answer))
        assert text.endswith(f"(not saved: the driver keeps {before['interval_seconds']:g})"), text
        # the refused value stays for the operator to correct, marked: it is not what is saved
        assert interval.value == "0"
        assert interval.has_class("-refused")
        assert not app.query_one("#max-updates", Input).has_class("-refused")  # it is what is saved
        assert (await in_process.get("/api/settings"))["update"] == before

        interval.value = "30"
        await press_button(pilot, "#save-update")
        assert painted(answer) == ["✔ Update settings saved."]
        assert not interval.has_class("-refused")
        assert (await in_process.get("/api/settings"))["update"]["interval_seconds"] == 30


async def test_the_log_settings_answer_shows_under_its_own_button_in_view(
    in_process: InProcessDriver,
) -> None:
    async with config_page(in_process.client()) as (app, pilot):
        app.query_one("#max-entries", Input).value = "500"
        button = await press_button(pilot, "#save-log")
        answer = answer_showing(app, "Log settings saved")
        assert painted(answer) == ["✔ Log settings saved."]
        assert in_view(app, answer)
        assert in_view(app, button)
        assert under(answer, button), (answer.region, button.region)


async def test_a_refused_advanced_command_shows_whole_with_its_echo_and_caret_in_view(
    in_process: InProcessDriver,
) -> None:
    async with config_page(in_process.client()) as (app, pilot):
        advanced = app.query_one("#advanced", Input)
        advanced.focus()
        await settle(pilot)
        await pilot.press(*"ALARM-1|CRATE|summary;x", "enter")
        await settle(pilot)
        answer = app.query_one("#advanced-result", Static)
        await wait_for(pilot, lambda: "CRATE" in str(answer.render()))
        await settle(pilot)
        lines = painted(answer)
        assert in_view(app, answer), (answer.region, app.query_one(ConfigurationPage).region)
        assert "known: CREATE, UPDATE, RESOLVE, REOPEN, CALL)" in " ".join(lines), lines
        echo = next(line for line in lines if "ALARM-1|CRATE|summary;x" in line)
        caret = lines[lines.index(echo) + 1]
        assert caret.index("^") == echo.index("CRATE"), lines


async def test_the_jira_line_names_the_api_the_driver_detected() -> None:
    # the fake driver's settings say api_type auto, its status datacenter; it is polled once, at
    # start, before the page is shown: the page uses the status the app already has
    async with config_page(FakeDriver()) as (app, _):
        line = str(app.query_one("#jira-url", Static).render())
        assert line == "Jira at http://jira.example (API: auto, detected Data Center)", line


async def test_the_jira_line_names_the_api_the_real_driver_detected(in_process: InProcessDriver) -> None:
    # the simulator is Data Center, and the driver's [jira] api_type is left at auto
    assert (await in_process.get("/api/status"))["api_type"] == "datacenter"
    async with config_page(in_process.client()) as (app, _):
        line = str(app.query_one("#jira-url", Static).render())
        assert line.endswith("(API: auto, detected Data Center)"), line
