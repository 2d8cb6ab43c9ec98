"""`jira-driver demo` leaves nothing behind: whatever ends it, its simulator and driver stop.

Each test starts the real demo (its children are real processes on loopback), waits until both
children listen, ends the demo one way (SIGHUP, SIGINT, SIGTERM; SIGKILL, where only the watched
pipe of driver.service.parent_watch can tell them; the terminal closed under the TUI, in tmux), then
waits, with a deadline, for the children to be gone and their ports to be free again.
Linux only: the children and their sockets are found through /proc.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from driver.demo import Child, start_watchdog, sweep_stale_state_dirs
from driver.service import parent_watch
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds processes through /proc")

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
# how long a start or a stop may take on a loaded machine; each takes 1-3 s when measured
START_WITHIN = 30.0
STOP_WITHIN = 30.0


def children_of(pid: int) -> list[int]:
    """The live child processes of pid (every thread's children)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found.extend(int(p) for p in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    """Running, or stopped, but not a zombie (a zombie holds no file and no port)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def listening_ports(pid: int) -> set[int]:
    """The TCP ports pid listens on: its socket inodes matched in /proc/net/tcp{,6} (state 0A)."""
    inodes: set[str] = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with_link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if with_link.startswith("socket:["):
                inodes.add(with_link[8:-1])
    except (FileNotFoundError, ProcessLookupError):
        return set()
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def port_is_free(port: int) -> bool:
    """A new server could listen on 127.0.0.1:port (SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@dataclass
class Demo:
    """A running demo as the tests see it: its pid, its two children and their ports."""

    pid: int
    tmpdir: Path
    children: list[int] = field(default_factory=list)
    ports: set[int] = field(default_factory=set)

    def wait_until_up(self) -> None:
        def up() -> bool:
            kids = children_of(self.pid)
            ports = [listening_ports(k) for k in kids]
            if len(kids) == 2 and all(ports):
                self.children, self.ports = kids, set().union(*ports)
                return True
            return False

        wait_for(up, "the demo's simulator and driver listening", START_WITHIN)
        assert len(self.ports) == 2

    def state_dirs(self) -> list[Path]:
        return sorted(self.tmpdir.glob("jira-driver-demo-*"))

    def assert_left_nothing_running(self, case: str) -> None:
        wait_for(
            lambda: not any(alive(k) for k in self.children),
            f"{case}: the demo's children {self.children} gone",
            STOP_WITHIN,
        )
        assert all(port_is_free(p) for p in self.ports), (case, self.ports)


def demo_env(tmpdir: Path) -> dict[str, str]:
    # TMPDIR: the demo's state directory is made where the test can look at it
    return {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(REPO)}


@dataclass
class PlainDemo:
    """`python -m driver demo --no-ui` in its own directory, its output gathered line by line."""

    demo: Demo
    process: subprocess.Popen[str]
    lines: list[str]

    def feeding(self) -> bool:
        return any("feeding sample alarms" in line for line in self.lines)


@contextlib.contextmanager
def plain_demos(tmp_path: Path, names: list[str]) -> Iterator[dict[str, PlainDemo]]:
    """One demo per name, started at once (their start-ups overlap), each up when yielded.

    Whatever the test did, every demo and child still alive at the end is killed, and every pipe closed.
    """
    runs: dict[str, PlainDemo] = {}
    readers: list[threading.Thread] = []
    try:
        for name in names:
            home = tmp_path / name
            home.mkdir()
            process = subprocess.Popen(
                [sys.executable, "-m", "driver", "demo", "--no-ui"],
                cwd=home,
                env=demo_env(home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            run = PlainDemo(Demo(process.pid, home), process, [])
            runs[name] = run
            assert process.stdout is not None
            reader = threading.Thread(target=run.lines.extend, args=(process.stdout,), daemon=True)
            reader.start()
            readers.append(reader)
        for name, run in runs.items():
            run.demo.wait_until_up()
            # the ports listen a moment before the driver is ready; the demo's line says it is
            wait_for(run.feeding, f"{name}: the demo feeding its driver", START_WITHIN)
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
            run.process.wait(timeout=STOP_WITHIN)
            for kid in run.demo.children:
                if alive(kid):
                    os.kill(kid, signal.SIGKILL)
        for reader in readers:
            reader.join(timeout=STOP_WITHIN)
        for run in runs.values():
            assert run.process.stdout is not None
            run.process.stdout.close()


STOP_SIGNALS = [signal.SIGHUP, signal.SIGINT, signal.SIGTERM]


def test_each_stop_signal_stops_the_children_and_removes_the_state(tmp_path: Path) -> None:
    # one demo per signal, side by side: the three start-ups overlap, which keeps the test short
    with plain_demos(tmp_path, [sig.name for sig in STOP_SIGNALS]) as runs:
        for run in runs.values():
            [state_dir] = run.demo.state_dirs()
            assert (state_dir / "driver.db").is_file()
            # a running demo's directory is never taken for a killed one's
            assert sweep_stale_state_dirs(run.demo.tmpdir) == []
            assert state_dir.is_dir()
        # the demo says how the README's shell commands reach its driver (issue 17), and they do
        hint = next(line for line in runs["SIGTERM"].lines if "JIRA_DRIVER_URL=" in line)
        url = hint.split("JIRA_DRIVER_URL=", 1)[1].split()[0]
        env = {**os.environ, "JIRA_DRIVER_URL": url}
        log = subprocess.run(
            [sys.executable, "-m", "driver", "log", "--limit", "3"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=30,
            check=False,
        )
        assert log.returncode == 0, log.stderr
        for sig in STOP_SIGNALS:
            runs[sig.name].process.send_signal(sig)

        for sig in STOP_SIGNALS:
            run = runs[sig.name]
            run.demo.assert_left_nothing_running(sig.name)
            assert run.process.wait(timeout=STOP_WITHIN) == 0, (sig.name, "".join(run.lines))
            assert run.demo.state_dirs() == [], f"{sig.name}: the demo's directory was not removed"


def test_the_children_stop_by_themselves_when_the_demo_is_killed(tmp_path: Path) -> None:
    with plain_demos(tmp_path, ["SIGKILL"]) as runs:
        run = runs["SIGKILL"]
        [state_dir] = run.demo.state_dirs()

        run.process.kill()
        assert run.process.wait(timeout=STOP_WITHIN) == -signal.SIGKILL

        run.demo.assert_left_nothing_running("SIGKILL")
        # they stopped the orderly way (as on SIGTERM), not by being killed in turn
        driver_log = (state_dir / "driver.log").read_text(encoding="utf-8")
        assert "SIGTERM: stopping" in driver_log, driver_log
        assert driver_log.rstrip().endswith("stopped"), driver_log
        # the directory stays (a killed process removes nothing); the next demo's start removes it
        assert sweep_stale_state_dirs(run.demo.tmpdir) == [state_dir]
        assert run.demo.state_dirs() == []


@pytest.mark.tmux
@pytest.mark.serial
def test_closing_the_terminal_under_the_tui_stops_everything(tmp_path: Path) -> None:
    if TMUX is None:
        pytest.skip("the tmux binary is not installed; this test closes a real terminal under the TUI")
    tmux = [TMUX, "-L", f"jira-driver-demo-test-{os.getpid()}", "-f", "/dev/null"]

    def run(*args: str) -> str:
        done = subprocess.run([*tmux, *args], capture_output=True, text=True, check=True, timeout=10)
        return done.stdout

    env = {"TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": "120"}
    # exec: the pane's process is the demo itself, so its pid is tmux's pane_pid
    command = " ".join(
        [
            "exec env",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(sys.executable),
            "-m driver demo",
        ]
    )
    run("new-session", "-d", "-s", "demo", "-x", "120", "-y", "36", "-c", str(tmp_path), command)
    demo = Demo(0, tmp_path)
    try:
        demo.pid = int(run("display-message", "-p", "-t", "demo", "#{pane_pid}").strip())
        demo.wait_until_up()
        wait_for(
            lambda: "● connected" in run("capture-pane", "-p", "-t", "demo"),
            "the TUI drawn and connected to the demo's driver",
            START_WITHIN,
        )
        assert len(demo.state_dirs()) == 1

        run("kill-session", "-t", "demo")  # the terminal goes away: SIGHUP to the demo

        demo.assert_left_nothing_running("terminal closed")
        wait_for(lambda: not alive(demo.pid), "the demo gone", STOP_WITHIN)
        assert demo.state_dirs() == [], "the demo's directory was not removed"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False, timeout=10)
        for pid in [demo.pid, *demo.children]:
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("value", ["not-a-number", "987654"])
def test_a_parent_fd_that_is_not_an_open_descriptor_is_reported_and_ignored(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(parent_watch.ENV_VAR, value)

    assert parent_watch.watch_parent_from_env() is False

    assert parent_watch.ENV_VAR not in os.environ  # nothing started from here inherits it
    assert f"{parent_watch.ENV_VAR}={value!r} is not an open file descriptor" in capsys.readouterr().err


def test_the_watchdog_stops_the_children_when_the_demo_is_stuck_after_a_signal(tmp_path: Path) -> None:
    # the main thread never gets to stop the children (the TUI's exit hangs on a dead terminal)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], text=True)
    state = tmp_path / "jira-driver-demo-stuck"
    state.mkdir()
    ended: list[int] = []
    begun, stopped = threading.Event(), threading.Event()
    watchdog = start_watchdog([Child("driver", sleeper)], state, begun, stopped, 0.1, ended.append)
    try:
        sleeper.wait(timeout=20)
        watchdog.join(timeout=20)
        assert not watchdog.is_alive()
        assert sleeper.returncode is not None
        assert ended == [1]  # the demo would have ended itself, its directory removed
        assert not state.exists()
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_the_watchdog_leaves_a_demo_that_is_stopping_alone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], text=True)
    ended: list[int] = []
    begun, stopped = threading.Event(), threading.Event()
    begun.set()
    watchdog = start_watchdog([Child("driver", sleeper)], tmp_path, begun, stopped, 0.1, ended.append)
    try:
        stopped.set()
        watchdog.join(timeout=20)
        assert not watchdog.is_alive()
        assert sleeper.poll() is None  # the main thread's own stop is left to it
        assert ended == []
    finally:
        sleeper.kill()
        sleeper.wait()
