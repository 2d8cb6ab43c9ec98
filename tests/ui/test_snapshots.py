"""One screenshot per page (and per dialog) over canned data; review SVG changes before accepting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import settle, steady_cursors
from tests.ui.fake_driver import SECRET, FakeDriver
from ui.app import JiraDriverApp

SIZE = (120, 36)
SNAPSHOTS = Path(__file__).parent / "__snapshots__"
SnapCompare = Callable[..., bool]


def make_app() -> JiraDriverApp:
    # One poll is enough for a still picture; later polls would only repaint the same bar.
    return JiraDriverApp(FakeDriver(), poll_interval=3600)


def prepare(*keys: str) -> Callable[[Pilot[Any]], object]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        steady_cursors(pilot.app)
        await pilot.pause()
        steady_cursors(pilot.app)

    return run_before


def test_ticket_creation_page(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare(), terminal_size=SIZE)


def test_add_field_dialog(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("ctrl+n"), terminal_size=SIZE)


def test_configuration_page(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f2"), terminal_size=SIZE)


def test_authentication_dialog_masks_the_secret(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await prepare("f2")(pilot)  # type: ignore[misc]
        app = pilot.app
        assert isinstance(app, JiraDriverApp)
        await pilot.click("#auth")
        await settle(pilot)
        await pilot.click("#auth-secret")
        await pilot.press(*SECRET)
        steady_cursors(app)
        await pilot.pause()

    assert snap_compare(make_app(), run_before=run_before, terminal_size=SIZE)


def test_log_page(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f3"), terminal_size=SIZE)


def test_statistics_page(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f4"), terminal_size=SIZE)


def test_alarms_page_80x24(snap_compare: SnapCompare) -> None:
    # an SSH session's default size: the table keeps its rows, the detail pane its few lines
    assert snap_compare(make_app(), run_before=prepare("f6"), terminal_size=(80, 24))


def test_alarms_page_160x45(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f6"), terminal_size=(160, 45))


def test_eligible_page_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f7", "enter"), terminal_size=(80, 24))


def test_eligible_page_160x45(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), run_before=prepare("f7", "enter"), terminal_size=(160, 45))


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("key", ["f1", "f2", "f3", "f4"], ids=["ticket", "config", "log", "stats"])
def test_every_page_at_an_ssh_terminal_and_a_big_one(
    snap_compare: SnapCompare, key: str, size: tuple[int, int]
) -> None:
    # 80x24, an SSH session's default: tables keep their rows and columns, inputs their width
    assert snap_compare(make_app(), run_before=prepare(key), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_responses_page(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(
        make_app(), run_before=prepare("f5", "down", "down", "down", "down"), terminal_size=size
    )


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_call_endpoint_dialog(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), run_before=prepare("f6", "c"), terminal_size=size)
