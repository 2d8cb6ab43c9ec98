"""`jira-driver ui` in a real terminal (tmux): it starts, connects, takes keys and draws the answer."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.tmux

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")


class Terminal:
    """One tmux session on a private server socket, so no one else's tmux is touched."""

    def __init__(self, name: str) -> None:
        assert TMUX is not None
        # -f /dev/null: the tester's own tmux.conf must not change sizes or keys.
        self.base = [TMUX, "-L", name, "-f", "/dev/null"]
        self.target = name

    def tmux(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, check=True, timeout=10)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def wait_for(self, condition: Callable[[str], bool], within: float = 15.0) -> str:
        last = [""]

        def showing() -> tuple[str] | None:
            last[0] = self.screen()
            return (last[0],) if condition(last[0]) else None

        expected = "the screen to show what was expected"
        return wait_for(showing, expected, within, every=0.1, state=lambda: last[0])[0]


@pytest.fixture
def terminal(driver: DriverProcess) -> Iterator[Terminal]:
    if TMUX is None:
        pytest.skip("the tmux binary is not installed; this test drives the TUI inside tmux")
    term = Terminal(f"jira-driver-ui-test-{os.getpid()}")
    env = {
        "JIRA_DRIVER_URL": driver.url,
        "PYTHONPATH": str(REPO),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        # Textual believes COLUMNS/LINES over the terminal; whatever pytest inherited must not win.
        "COLUMNS": "120",
        "LINES": "36",
    }
    command = " ".join(
        [
            "env",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(sys.executable),
            "-m",
            "driver",
            "ui",
            "--config",
            shlex.quote(str(driver.config_path)),
        ]
    )
    term.tmux("new-session", "-d", "-s", term.target, "-x", "120", "-y", "36", "-c", str(REPO), command)
    # Without an attached client tmux may still size the window 80x24; insist on the size we test.
    term.tmux("set-option", "-t", term.target, "window-size", "manual")
    term.tmux("resize-window", "-t", term.target, "-x", "120", "-y", "36")
    try:
        yield term
    finally:
        subprocess.run([*term.base, "kill-server"], capture_output=True, check=False, timeout=10)


def test_ui_in_tmux_connects_takes_keys_and_shows_the_log(driver: DriverProcess, terminal: Terminal) -> None:
    assert driver.send("ALARM-5|CREATE|summary;Typed through tmux|").status_code == 202
    driver.wait_settled()
    screen = terminal.wait_for(lambda s: "● connected" in s and "Ticket Creation Table" in s)
    assert "test-token" not in screen

    terminal.keys("F3")
    # the page is ready when its table holds the focus: its keys (Copy URL) are in the footer
    terminal.wait_for(lambda s: "1 of 1 shown" in s and "Copy URL" in s)

    def filter_line(screen: str) -> str:
        return next((line for line in screen.splitlines() if "any status" in line), "")

    def box_is_empty(screen: str) -> bool:
        return "search: GUID" in filter_line(screen)

    # Focus moves on a later turn of the app's loop, and a terminal gives no signal for it but the
    # footer: wait for the table's keys to leave it before typing. A key that is the page's binding
    # ("/") runs when its event has bubbled back up to the app, after printable keys sent right
    # behind it have gone to whatever held the focus, so after it wait for what it does before
    # sending more (the box's own keys, C-u included, keep their order: ui.widgets.text_box).
    # Re-aim and retype if the text still went elsewhere, as a person would; "/" typed into the
    # box itself is cleared.
    for _attempt in range(3):
        terminal.keys("/")
        terminal.wait_for(lambda s: "Copy URL" not in s)
        if not box_is_empty(terminal.screen()):
            terminal.keys("C-u")
            terminal.wait_for(box_is_empty)
        terminal.type("ALARM-5")
        try:
            terminal.wait_for(lambda s: "ALARM-5" in filter_line(s), within=10)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"the typed filter never reached the search box:\n{terminal.screen()}")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "ALARM-5" in filter_line(s) and "1 of 1 shown" in s)

    terminal.keys("F4")
    terminal.wait_for(lambda s: "Create Statistics" in s)
    terminal.wait_for(lambda s: "Today             1" in s)
    terminal.keys("C-q")
    terminal.wait_for(lambda s: "Ticket Creation" not in s, within=10)
