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
