"""`jira-driver demo` (driver.cli.demo): the simulator, a driver against it and a feed of sample alarms.

Everything runs as real processes on loopback, the way an operator would run them, so the demo
shows the product rather than a mock-up. Its state (configuration, database, the children's logs)
lives in a private temporary directory, `$TMPDIR/jira-driver-demo-*`, removed when the demo stops;
it is kept, and named, when a child fails, so its log can be read.

The demo leaves nothing running behind it: SIGINT, SIGTERM and SIGHUP (the terminal closed) stop
the children, the driver first, then the simulator, and a second signal while they stop kills
them at once. If the demo itself is killed (SIGKILL), its children notice by themselves: each
holds the read end of a pipe whose write end only the demo holds (driver.service.parent_watch), so the
kernel's closing of that end tells them, and they stop as if sent SIGTERM. The directory stays
behind in that one case, until the next demo starts and removes it (its lock is free).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from driver.contract.client import DriverClient, DriverClientError
from driver.contract.schemas import LogEntry, LogStatus
from driver.demo.alarms import RESOLVE_HOLD, feed
from driver.service.parent_watch import ENV_VAR as PARENT_FD_VAR

START_TIMEOUT = 30.0
# the driver stops within about 7 s (uvicorn's 3 s graceful shut-down, the engine's 4 s grace)
STOP_TIMEOUT = 12.0
WATCHDOG_GRACE = 5.0
"""Seconds the demo's main thread gets, after a stop signal, before a watchdog stops the children
itself (the TUI's exit can hang once its terminal is gone), and as much again before it exits."""
LISTENING = re.compile(r"listening on (http://\S+)")
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


STATE_PREFIX = "jira-driver-demo-"
LOCK_NAME = ".demo.lock"


def claim_state_dir(state_dir: Path) -> int:
    """Lock state_dir's lock file for as long as this process lives; returns the descriptor.

    The lock file gets its name only once it is locked, so a directory with a free lock is one
    whose demo is gone (the kernel releases an flock when its holder dies, SIGKILL included).
    The descriptor is not inherited: the children do not keep the lock.
    """
    unnamed = state_dir / f"{LOCK_NAME}.new"
    fd = os.open(unnamed, os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(unnamed, state_dir / LOCK_NAME)
    return fd


def sweep_stale_state_dirs(parent: Path) -> list[Path]:
    """Remove the `jira-driver-demo-*` directories in parent whose demo was killed; the removed.

    A directory is removed only when its lock file exists and can be locked (its demo is gone);
    one without (being made, or not a demo's) or still locked is left alone.
    """
    removed: list[Path] = []
    for state_dir in sorted(parent.glob(f"{STATE_PREFIX}*")):
        try:
            fd = os.open(state_dir / LOCK_NAME, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its demo is running
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
            removed.append(state_dir)
        finally:
            os.close(fd)
    return removed


class DemoError(Exception):
    """A process of the demo did not start or stopped answering; the message names its log file."""


@dataclass
class Child:
    """A process of the demo and the URL it announced ("" until it has)."""

    name: str
    process: subprocess.Popen[str]
    url: str = ""


class _Interrupted(KeyboardInterrupt):
    """A stop signal that came when there was nothing to wake (starting up) or a second time.

    A KeyboardInterrupt so that asyncio lets it through a running loop, as it does Ctrl-C.
    """


class _Stopper:
    """The demo's handler of SIGINT, SIGTERM and SIGHUP, installed for the length of run_demo.

    The first signal calls the phase's wake-up (ask the TUI to exit, end the printed log); with
    none (while a child starts) it raises _Interrupted. While the children are being stopped a
    signal sets `hurry`: they are killed instead of waited for.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.stopping = False
        self.hurry = threading.Event()
        self._wake: Callable[[], object] | None = None
        self.on_signal: Callable[[], object] | None = None
        """Called on the first signal, whatever the phase (the watchdog starts with it)."""

    def wake_with(self, wake: Callable[[], object] | None) -> None:
        self._wake = wake

    def handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        self.received = signum
        if first and self.on_signal is not None:
            self.on_signal()
        if self.stopping or not first:
            # A repeat (a closed terminal often sends SIGHUP twice) only hurries the stop: raising
            # again would land at any point of the stop already under way, the TUI's exit included,
            # and could leave the demo hanging with its children running.
            self.hurry.set()
        elif self._wake is not None:
            self._wake()
        else:
            raise _Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def _handling_signals(stopper: _Stopper) -> Iterator[None]:
    previous = {sig: signal.signal(sig, stopper.handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(name: str, argv: list[str], log_path: Path, parent_fd: int, children: list[Child]) -> Child:
    """Start a child (appended to children at once) and wait for its `... listening on URL` line.

    parent_fd is the read end of the demo's watched pipe, handed to the child (driver.service.parent_watch).
    """
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
            text=True,
            # its own session: neither Ctrl-C nor the terminal's hang-up reaches it; the demo stops it
            start_new_session=True,
            pass_fds=(parent_fd,),
            env={**os.environ, PARENT_FD_VAR: str(parent_fd)},
        )
    child = Child(name, process)
    children.append(child)
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    announced = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = LISTENING.search(line)
            if match and not announced.is_set():
                child.url = match.group(1)
                announced.set()

    threading.Thread(target=read, daemon=True).start()
    while not announced.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            raise DemoError(f"the {name} did not start; see {log_path}")
    return child


def start_watchdog(
    children: list[Child],
    demo_dir: Path,
    begun: threading.Event,
    stopped: threading.Event,
    grace: float = WATCHDOG_GRACE,
    end: Callable[[int], object] = os._exit,
) -> threading.Thread:
    """After a stop signal: if the demo has not begun stopping its children within WATCHDOG_GRACE,
    stop them from here; if it has not stopped them all by then, end the process after removing
    its directory.

    The main thread may be stuck in the TUI's exit when the terminal is gone (writing to a closed
    pty); the children must not outlive the demo's user for that, nor the demo its terminal.
    """

    def watch() -> None:
        # once the main thread is stopping them, it gets the children's own time, and some more
        if begun.wait(grace) and stopped.wait(len(children) * STOP_TIMEOUT + grace):
            return
        hurry = threading.Event()
        hurry.set()
        for child in reversed(list(children)):
            with contextlib.suppress(OSError):
                _stop(child, hurry)
        if stopped.wait(grace):
            return
        shutil.rmtree(demo_dir, ignore_errors=True)
        end(1)

    thread = threading.Thread(target=watch, name="demo-watchdog", daemon=True)
    thread.start()
    return thread


def _stop(child: Child, hurry: threading.Event) -> None:
    """SIGTERM, then wait up to STOP_TIMEOUT (less if hurried) before SIGKILL."""
    process = child.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while process.poll() is None:
        if hurry.is_set() or time.monotonic() > deadline:
            process.kill()
            process.wait()
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)


def _write_config(path: Path, sim_url: str, database: Path, webhook_secret: str) -> None:
    # it holds a secret: private before anything is written to it
    path.touch(mode=0o600)
    path.write_text(
        "\n".join(
            [
                "; written by `jira-driver demo`; the simulator's default user is admin/admin",
                "[jira]",
                f"url = {sim_url}",
                "username = admin",
                "password = admin",
                "timeout_seconds = 5",
                "[driver]",
                f"database = {database}",
                "listen = 127.0.0.1:0",
                "[ticket]",
                "project = OPS",
                "issue_type = Incident",
                "[update]",
                "; small numbers so that the demo shows updates being Deferred and merged",
                "max_updates = 2",
                "interval_seconds = 15",
                "[lifecycle]",
                "; a cleared alarm's RESOLVE waits a little: an alarm that comes back takes it back",
                f"resolve_hold_seconds = {RESOLVE_HOLD:g}",
                "reopen_window_minutes = 60",
                "[sync]",
                "; the simulator calls the driver's webhook; a ticket a person resolves while its",
                "; alarm is active is reopened by the alarm's next command",
                "mode = webhook",
                f"webhook_secret = {webhook_secret}",
                "when_resolved_in_jira = reopen",
                "",
            ]
        ),
        encoding="utf-8",
    )


def _command(python: str) -> str:
    """How a person types jira-driver here: the name when it is on PATH, else the script beside
    this Python (the clone's .venv/bin, which ./scripts/demo does not put on PATH)."""
    if shutil.which("jira-driver"):
        return "jira-driver"
    script = Path(python).parent / "jira-driver"
    if not script.exists():
        return f"{python} -m driver"
    with contextlib.suppress(ValueError):
        return f"./{script.relative_to(Path.cwd())}"
    return str(script)


async def _register_webhook(sim_url: str, driver_url: str, secret: str) -> None:
    """Register the driver's webhook with the simulator, as a Jira administrator would
    (docs/wire-facts.md §12)."""
    async with httpx.AsyncClient(base_url=sim_url, timeout=5.0, auth=("admin", "admin")) as sim:
        answer = await sim.post(
            "/rest/webhooks/1.0/webhook",
            json={
                "name": "jira-driver demo",
                "url": f"{driver_url}/api/jira/webhook",
                "events": ["jira:issue_updated", "jira:issue_deleted", "comment_created"],
                "secret": secret,
            },
        )
        if answer.status_code >= 300:
            raise DemoError(
                f"the simulator refused the demo's webhook: HTTP {answer.status_code} {answer.text}"
            )


COLUMNS = (("ID", 5), ("TYPE", 9), ("ACTION", 7), ("GUID", 14), ("STATUS", 9), ("TICKET", 7))


def _line(cells: list[str]) -> str:
    fixed = "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=False))
    return f"{fixed}  {cells[-1]}".rstrip()


def _print_rows(rows: list[LogEntry]) -> None:
    for e in rows:
        detail = (e.note or e.error).replace("\n", " ")
        cells = [str(e.id), e.type.value, e.action, e.guid, e.status.value, e.ticket_key or "", detail]
        print(_line(cells), flush=True)


async def _watch(client: DriverClient, stop: threading.Event, seconds: float) -> None:
    """Print each log row once it settles, until stopped."""
    shown: dict[int, LogStatus] = {}
    print(_line([name for name, _ in COLUMNS] + ["NOTE / ERROR"]), flush=True)
    deadline = time.monotonic() + seconds if seconds else None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        await asyncio.sleep(0.5)
        try:
            page = await client.log(limit=200)
        except DriverClientError as exc:
            print(f"(driver: {exc})", flush=True)
            continue
        changed = [e for e in reversed(page.rows) if shown.get(e.id) != e.status]
        if changed:
            _print_rows(changed)
            shown.update({e.id: e.status for e in changed})
    stats = await client.stats()
    print(
        f"\ncreated today: {stats.create.today}, updated today: {stats.update.today}. "
        "Run `jira-driver log` or `jira-driver ui` against a driver to see more.",
        flush=True,
    )


def run_demo(seconds: float, use_ui: bool) -> None:
    """Run the demo until Ctrl-C, SIGTERM or SIGHUP (or `seconds` > 0), then stop all it started.

    use_ui opens the TUI (the caller checks that a terminal is there for it), else the log rows
    are printed as they settle. Must be called from the main thread (it handles the signals).
    Raises DemoError when a child does not start or the driver stops answering (the demo's
    directory is then kept and the message names the log), OSError when the temporary directory
    cannot be made. Whatever happens, the children are stopped before it returns or raises.
    """
    # the directories of demos that were killed (the one case where they stay) go at the next start
    sweep_stale_state_dirs(Path(tempfile.gettempdir()))
    demo_dir = Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    lock_fd = claim_state_dir(demo_dir)
    stopper = _Stopper()
    children: list[Child] = []
    begun, stopped = threading.Event(), threading.Event()
    stopper.on_signal = lambda: start_watchdog(children, demo_dir, begun, stopped)
    # the watched pipe: the children get the read end; the write end stays here, never written,
    # and its closing (at the end, or by the kernel when the demo is killed) tells them to stop
    read_end, write_end = os.pipe()
    keep_dir = False
    try:
        with _handling_signals(stopper):
            try:
                _run(demo_dir, seconds, use_ui, read_end, stopper, children)
            except _Interrupted:
                pass
            except DriverClientError as exc:
                keep_dir = True
                raise DemoError(
                    f"the driver stopped answering: {exc}; see {demo_dir / 'driver.log'}"
                ) from exc
            except BaseException:
                keep_dir = True
                raise
            finally:
                stopper.stopping = True
                begun.set()
                for child in reversed(children):
                    _stop(child, stopper.hurry)
                stopped.set()
    finally:
        os.close(read_end)
        os.close(write_end)
        if not keep_dir:
            shutil.rmtree(demo_dir, ignore_errors=True)
        os.close(lock_fd)


def _run(
    demo_dir: Path, seconds: float, use_ui: bool, parent_fd: int, stopper: _Stopper, children: list[Child]
) -> None:
    python = sys.executable
    print(f"demo state (configuration, database, logs) in {demo_dir}, removed at the end", flush=True)
    print("starting the Jira simulator ...", flush=True)
    sim_argv = [python, "-m", "driver", "sim", "--port", "0"]
    sim = _start("simulator", sim_argv, demo_dir / "sim.log", parent_fd, children)
    ini = demo_dir / "demo.ini"
    secret = secrets.token_urlsafe(24)
    _write_config(ini, sim.url, demo_dir / "driver.db", secret)
    print(f"simulator at {sim.url} (browse tickets at {sim.url}/browse/OPS-1)", flush=True)
    print("starting the driver ...", flush=True)
    drv_argv = [python, "-m", "driver", "run", "--config", str(ini)]
    drv = _start("driver", drv_argv, demo_dir / "driver.log", parent_fd, children)
    print(f"driver API at {drv.url}", flush=True)
    # the README's shell lines reach this driver with it (it listens on a free port, not the default)
    print(
        f"in another shell: JIRA_DRIVER_URL={drv.url} {_command(python)} log  (or send, ticket, ui)",
        flush=True,
    )
    asyncio.run(_register_webhook(sim.url, drv.url, secret))
    print("the simulator sends its webhooks to the driver (a person's changes flow back)", flush=True)
    if use_ui:
        _run_ui(drv.url, sim.url, seconds, stopper)
    else:
        _run_plain(drv.url, sim.url, seconds, stopper)


def _feed_in_thread(url: str, sim_url: str, stop: threading.Event) -> threading.Thread:
    async def run() -> None:
        async with DriverClient(url) as client:
            await feed(client, sim_url, stop)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    return thread


def _run_plain(url: str, sim_url: str, seconds: float, stopper: _Stopper) -> None:
    stop = threading.Event()
    # a stop signal ends the watch at its next poll, which prints the day's figures
    stopper.wake_with(stop.set)
    _feed_in_thread(url, sim_url, stop)
    print("feeding sample alarms; press Ctrl-C to stop\n", flush=True)

    async def watch() -> None:
        async with DriverClient(url) as client:
            await _watch(client, stop, seconds)

    try:
        asyncio.run(watch())
    finally:
        stopper.wake_with(None)
        stop.set()


def _run_ui(url: str, sim_url: str, seconds: float, stopper: _Stopper) -> None:
    # the TUI is optional for the driver package; import it only when a terminal is there for it
    from ui.app import JiraDriverApp

    stop = threading.Event()
    _feed_in_thread(url, sim_url, stop)
    os.environ["JIRA_DRIVER_URL"] = url
    # what ui.app.run_app does, with the app and its loop at hand so that a stop signal can ask
    # the app to exit the way its Quit key does (the terminal is restored, the loop ends)
    app = JiraDriverApp(DriverClient(url, None, timeout=5.0), quit_after=seconds)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        # call_soon_threadsafe also wakes the loop out of its select(), which a signal alone does not
        stopper.wake_with(lambda: loop.call_soon_threadsafe(app.exit))
        try:
            await app.run_async()
        finally:
            stopper.wake_with(None)

    try:
        asyncio.run(run())
    finally:
        stop.set()
