"""Fixtures of the TUI tests: a fixed time zone, helpers that wait on conditions, not clocks, and
the real driver served in-process (`inprocess_driver`) for the behaviour tests.
"""

from __future__ import annotations

import inspect
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from driver.config import Config
from ui.client import DriverClient, connect


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local; pin local to UTC so screens do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def steady_cursors(app: App[Any]) -> None:
    """Cursor blink off in every input of the current screen (deterministic screenshots)."""
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
        # The blink timer calls its callback from a task of its own: pausing it does not stop a
        # tick already under way, which may hide the cursor after the watcher showed it (a
        # snapshot then differs in one cell: seen in CI, and twice in full local runs). Stopped,
        # it ticks no more.
        if widget._blink_timer is not None:
            widget._blink_timer.stop()
        widget._cursor_visible = True
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages, then workers, then the messages they posted, run out."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def press_together(pilot: Pilot[Any], *keys: str) -> None:
    """Deliver key presses in one go, with no turn of the event loop between them.

    Pilot.press lets the app run between keys, long enough for an in-process driver to answer;
    a fast typist on a slow link, or a busy machine, gives no such pause. Await `settle` after.
    """
    app = pilot.app
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app.post_message(event)


Condition = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def wait_for(pilot: Pilot[Any], condition: Condition, within: float = 15.0) -> None:
    """Process events until condition holds (the driver works on its own schedule).

    An async condition may ask the in-process driver's API; it runs on the app's event loop.
    """
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await pilot.pause(0.05)


# --- the real driver, in this process -----------------------------------------------------------

IN_PROCESS_URL = "http://driver.in-process"
"""The base URL the UI's client is given; ASGITransport never resolves it."""
ENGINE_GRACE = 1.0
"""Seconds teardown gives in-flight Jira requests before parking them."""


@dataclass
class InProcessDriver:
    """The real driver app served inside the test's event loop, reached only through its HTTP API.

    The UI gets `client()` (ui.client.connect with an ASGI transport); the test checks what the
    driver holds with `get`/`send`, the same routes a shell or another TUI would use.
    """

    transport: httpx.AsyncBaseTransport
    api_token: str
    db_path: Path
    base_url: str = IN_PROCESS_URL

    def client(self) -> DriverClient:
        """What the TUI is handed: the real DriverClient over the in-process app."""
        return connect(self.base_url, self.api_token, transport=self.transport)

    def http(self) -> httpx.AsyncClient:
        """A raw HTTP client for the test's own checks (close it, or use `async with`)."""
        headers = {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}
        return httpx.AsyncClient(transport=self.transport, base_url=self.base_url, headers=headers)

    async def get(self, path: str, **params: Any) -> Any:
        """GET a route of the API; its JSON (raises on an error status)."""
        async with self.http() as http:
            response = await http.get(path, params=params)
            response.raise_for_status()
            return response.json()

    async def send(self, *commands: str) -> httpx.Response:
        """POST Advanced commands (one per line) to /api/advanced, as `jira-driver send` does."""
        async with self.http() as http:
            return await http.post(
                "/api/advanced", content="\n".join(commands), headers={"Content-Type": "text/plain"}
            )


@pytest_asyncio.fixture
async def inprocess_driver(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[InProcessDriver]]]:
    """`await make(sim_url, *, api_token="test-token", ini=None)`: the real driver, in-process.

    The one place the TUI tests are wired to the driver's internals: the configuration a
    `driver.ini` would give (real SQLite file in tmp_path, [jira] on sim_url as admin/admin, fast
    retries), `driver.app.driver.build(config)`, the start-up `serve` does (`prepare`, `start`: Jira
    metadata, engine), and `driver.api.create_app(driver)` behind an httpx.ASGITransport. `ini` adds or
    overrides keys: {"update": {"max_updates": "1"}}. Everything is stopped at teardown.
    """
    from driver.api import create_app
    from driver.app.driver import build

    contexts: list[Any] = []
    counter = itertools.count(1)

    async def make(
        sim_url: str, *, api_token: str = "test-token", ini: dict[str, dict[str, Any]] | None = None
    ) -> InProcessDriver:
        home = tmp_path / f"inprocess-{next(counter)}"
        home.mkdir()
        sections: dict[str, dict[str, Any]] = {
            "jira": {
                "url": sim_url,
                "username": "admin",
                "password": "admin",
                "timeout_seconds": "5",
                "retry_base_seconds": "0.05",
                "probe_delay_seconds": "0.3",
            },
            "driver": {"database": str(home / "driver.db"), "api_token": api_token},
        }
        for section, keys in (ini or {}).items():
            sections.setdefault(section, {}).update(keys)
        driver = build(Config.model_validate(sections))
        contexts.append(driver)
        driver.prepare()
        await driver.start()
        transport = httpx.ASGITransport(app=create_app(driver))
        return InProcessDriver(transport, api_token, Path(driver.config.driver.database))

    yield make
    for driver in contexts:
        await driver.stop(ENGINE_GRACE)
