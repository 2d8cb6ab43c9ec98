"""One driver per database (issue 15 item 2): a second `jira-driver run` on the same database is
refused in one line naming the holder's PID (exit 2) before it reads or sends anything; a kill -9'd
holder leaves no stale lock; a taken port stops a start before the store opens or anything is sent.

Real `jira-driver run` processes against the simulator, real SQLite files.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driver.contract.schemas import LogType
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store import Store
from driver.store.database_file import marker_path
from tests.fixtures.driver import DriverProcess

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def lock_path(db: Path) -> Path:
    """The lock file beside the database (driver.store.database_file.lock_path)."""
    return db.with_name(db.name + ".lock")


def _run(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`jira-driver run` expected to stop on its own (a start that serves is killed at the timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "driver", "run", "--config", str(config)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    assert "listening on" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("jira-driver run: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_second_driver_on_the_same_database_is_refused_naming_the_holder(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    first = driver_factory(sim.url)
    assert first.send("ONE-1|CREATE|summary;a|").status_code == 202
    first.wait_settled()
    seen = len(sim.journal())

    # the same config: same database, `listen = 127.0.0.1:0` so another port
    result = _run(first.config_path, first.env)

    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    line = _one_line(result)
    assert f"is in use by jira-driver PID {first.pid} (driver.db.lock)" in line
    assert str(first.db_path) in line
    assert "stop it or give this one another [driver] database" in line
    assert len(sim.journal()) == seen  # the refused one asked Jira nothing
    assert first.status()["queue_depth"] == 0  # the holder is unharmed
    assert lock_path(first.db_path).read_text(encoding="utf-8").strip() == str(first.pid)


def test_a_killed_holder_leaves_no_stale_lock(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    driver = driver_factory(sim.url)
    killed = driver.pid
    driver.kill()
    assert lock_path(driver.db_path).read_text(encoding="utf-8").strip() == str(killed)

    driver.start()  # the kernel dropped the flock with the process

    assert driver.pid != killed
    assert lock_path(driver.db_path).read_text(encoding="utf-8").strip() == str(driver.pid)
    assert driver.send("ONE-2|CREATE|summary;b|").status_code == 202
    driver.wait_settled()
    assert driver.stop() == 0


def test_a_taken_port_stops_the_start_before_anything_is_loaded_or_sent(
    driver_factory: Callable[..., DriverProcess], sim: Any, tmp_path: Path
) -> None:
    holder = driver_factory(sim.url)
    port = holder.url.rsplit(":", 1)[1]
    db = tmp_path / "second" / "driver.db"
    db.parent.mkdir()
    store = Store(db)
    store.accept(
        [
            NewEntry(LogType.AUTOMATIC, Action.CREATE, f"Q-{i}", JobPayload(text=f"Q-{i}|CREATE|summary;q|"))
            for i in range(3)
        ]
    )
    store.close()
    config = db.parent / "driver.ini"
    config.write_text(
        f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\n\n"
        f"[driver]\ndatabase = {db}\nlisten = 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    seen = len(sim.journal())

    result = _run(config, holder.env)

    assert result.returncode == EXIT_FAILED, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "listening on http" not in result.stdout
    assert len(sim.journal()) == seen  # not even Jira's metadata was asked for
    assert not marker_path(db).exists()  # the store was never opened by the driver
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT guid, status FROM log ORDER BY id").fetchall()
    assert rows == [("Q-0", "Pending"), ("Q-1", "Pending"), ("Q-2", "Pending")]
