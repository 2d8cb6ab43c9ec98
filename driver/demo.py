"""`jira-driver demo` (driver.cli.demo): the simulator, a driver against it and a feed of sample alarms.

Everything runs as real processes on loopback, the way an operator would run them, so the demo
shows the product rather than a mock-up. The state lives in ./demo-data (removed at each start).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from driver.api_client import DriverClient, DriverClientError
from driver.schemas import LogEntry, LogStatus

DEMO_DIR = Path("demo-data")
START_TIMEOUT = 30.0
LISTENING = re.compile(r"listening on (http://\S+)")


class DemoError(Exception):
    """A process of the demo did not start; the message names its log file."""


@dataclass
class Child:
    """A process of the demo and the URL it announced."""

    name: str
    process: subprocess.Popen[str]
    url: str


def _start(name: str, argv: list[str], log_path: Path) -> Child:
    """Start a child and wait for its `... listening on URL` line."""
    log_file = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=log_file,
        stdin=subprocess.DEVNULL,
        text=True,
        # its own process group: Ctrl-C in the TUI must not kill the children before we stop them
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    while not found:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise DemoError(f"the {name} did not start; see {log_path}")
        time.sleep(0.05)
    return Child(name, process, found[0])


def _stop(child: Child) -> None:
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)
        try:
            child.process.wait(timeout=12)
        except subprocess.TimeoutExpired:
            child.process.kill()


def _write_config(path: Path, sim_url: str, database: Path) -> None:
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
                "",
            ]
        ),
        encoding="utf-8",
    )


ELEMENTS = ["core-router-01", "edge-sw-17", "dwdm-link-4", "encoder-7", "mux-bru-2", "sat-rx-3"]
PROBLEMS = [
    ("Interface down", "Critical"),
    ("High CPU load", "Major"),
    ("Signal loss on input", "Critical"),
    ("Temperature above threshold", "Minor"),
    ("Fan failure", "Major"),
    ("BER degraded", "Warning"),
]


def sample_alarms(rng: random.Random) -> Iterator[tuple[float, list[str]]]:
    """(delay in seconds, commands) pairs: new alarms, their updates, and one flapping alarm."""
    for n in range(1, 7):
        element = ELEMENTS[n - 1]
        problem, severity = PROBLEMS[n - 1]
        guid = f"12/{3400 + n}/{rng.randint(10000, 99999)}"
        priority = {"Critical": "Highest", "Major": "High"}.get(severity, "Medium")
        yield (
            0.8,
            [
                f"{guid}|CREATE|summary;{element}: {problem}|priority;{priority}"
                f"|labels;demo,{element}|description;Raised by the demo feed on {element}.|"
            ],
        )
        if n % 2 == 0:
            yield 1.0, [f"{guid}|UPDATE|comment;Operator acknowledged {problem.lower()}.|"]
    flapping = "12/3999/1"
    yield 0.5, [f"{flapping}|CREATE|summary;mux-bru-2: Link flapping|priority;High|labels;demo,flapping|"]
    # a flapping alarm: many updates in a short time; the limiter defers and merges them
    for i in range(1, 9):
        state = "CLEARED" if i % 2 == 0 else "RAISED"
        yield 0.4, [f"{flapping}|UPDATE|comment;Link state {state} (change {i})|"]
    yield 1.0, ["12/0000/404|UPDATE|comment;An update for an alarm that never had a ticket|"]


async def _feed(client: DriverClient, stop: threading.Event) -> None:
    rng = random.Random(2026)
    for delay, commands in sample_alarms(rng):
        if stop.wait(delay):
            return
        with contextlib.suppress(DriverClientError):
            await client.send_commands(commands)


COLUMNS = (("ID", 5), ("TYPE", 9), ("ACTION", 6), ("GUID", 14), ("STATUS", 8), ("TICKET", 7))


def _line(cells: list[str]) -> str:
    fixed = "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=False))
    return f"{fixed}  {cells[-1]}".rstrip()


def _print_rows(rows: list[LogEntry]) -> None:
    for e in rows:
        detail = (e.note or e.error).replace("\n", " ")[:70]
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
    """Run the demo until Ctrl-C (or `seconds` > 0), then stop everything it started.

    use_ui opens the TUI (the caller checks that a terminal is there for it), else the log rows
    are printed as they settle. Raises DemoError when a child does not start, OSError when
    ./demo-data cannot be made, DriverClientError when the driver stops answering.
    """
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    python = sys.executable
    print("starting the Jira simulator ...", flush=True)
    sim = _start("simulator", [python, "-m", "driver", "sim", "--port", "0"], DEMO_DIR / "sim.log")
    children = [sim]
    try:
        ini = DEMO_DIR / "demo.ini"
        _write_config(ini, sim.url, (DEMO_DIR / "driver.db").resolve())
        print(f"simulator at {sim.url} (browse tickets at {sim.url}/browse/OPS-1)", flush=True)
        print("starting the driver ...", flush=True)
        drv = _start("driver", [python, "-m", "driver", "run", "--config", str(ini)], DEMO_DIR / "driver.log")
        children.append(drv)
        print(f"driver API at {drv.url}; logs in {DEMO_DIR}/", flush=True)
        if use_ui:
            _run_ui(drv.url, seconds)
        else:
            _run_plain(drv.url, seconds)
    finally:
        for child in reversed(children):
            _stop(child)


def _feed_in_thread(url: str, stop: threading.Event) -> threading.Thread:
    async def run() -> None:
        async with DriverClient(url) as client:
            await _feed(client, stop)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    return thread


def _run_plain(url: str, seconds: float) -> None:
    stop = threading.Event()
    _feed_in_thread(url, stop)
    print("feeding sample alarms; press Ctrl-C to stop\n", flush=True)

    async def watch() -> None:
        async with DriverClient(url) as client:
            await _watch(client, stop, seconds)

    try:
        asyncio.run(watch())
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def _run_ui(url: str, seconds: float) -> None:
    # the TUI is optional for the driver package; import it only when a terminal is there for it
    from ui.app import run_app

    stop = threading.Event()
    _feed_in_thread(url, stop)
    os.environ["JIRA_DRIVER_URL"] = url
    try:
        run_app(url, None, seconds=seconds)
    finally:
        stop.set()
