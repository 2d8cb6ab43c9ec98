"""Without a driver the TUI says so on screen and keeps trying on its own."""

from __future__ import annotations

import socket

from textual.message import Message

from tests.ui.conftest import wait_for
from ui.app import JiraDriverApp
from ui.client import connect
from ui.messages import DriverStatusChanged
from ui.widgets.status_bar import StatusBar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_driver_is_shown_and_retried() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    messages: list[Message] = []
    app = JiraDriverApp(connect(url, None), poll_interval=0.05)
    async with app.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: bool(bar.error))
        assert "disconnected" in str(bar.render())
        assert url in str(bar.render())
        assert "retrying" in str(bar.render())
        assert not app.connected

        def failures() -> int:
            return sum(1 for m in messages if isinstance(m, DriverStatusChanged) and m.status is None)

        seen = failures()
        await wait_for(pilot, lambda: failures() > seen)


async def test_a_status_heard_after_the_pages_are_gone_is_dropped() -> None:
    """A poll that answers while the app closes finds no page to tell (seen in CI at teardown)."""
    from datetime import UTC, datetime

    from driver.contract.schemas import DriverStatus, JiraState

    app = JiraDriverApp(connect(f"http://127.0.0.1:{free_port()}", None), poll_interval=60)
    status = DriverStatus(
        version="x",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        jira_state=JiraState.OK,
        queue_depth=0,
        pending=0,
        deferred=0,
    )
    handled: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=handled.append) as pilot:
        await app.tabs.remove()
        app.post_message(DriverStatusChanged(status))
        await pilot.pause()
        assert any(isinstance(m, DriverStatusChanged) and m.status == status for m in handled)
        assert app.is_running
