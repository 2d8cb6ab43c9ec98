"""The database file at start-up: missing, emptied, replaced or corrupt is refused in one line (exit 2)
unless `run --init`; after --init, a re-sent CREATE finds the ticket made with the earlier database;
the files are private (0600); credentials never sit in the Jira URL or in a config file others read.

Real `jira-driver run` processes against the simulator, real SQLite files.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from driver.contract.schemas import LogType
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store import DatabaseFileError, Store, database_file, migrations, read_ticket_state
from driver.store.database_file import PROBE_ALWAYS, FileState, marker_path
from tests.fixtures.driver import DriverProcess

EXIT_BAD_INPUT = 2


def _run_refused(driver: DriverProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`jira-driver run` on the driver's config, expected to stop at once."""
    return subprocess.run(
        [sys.executable, "-m", "driver", "run", "--config", str(driver.config_path), *args],
        cwd=driver.config_path.parent,
        env=driver.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr
    assert "listening on" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("jira-driver run: ")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tickets_of(sim: Any, guid: str) -> list[str]:
    return [
        str(issue["key"]) for issue in sim.issues() if f"alarm-{guid}" in issue["fields"].get("labels", [])
    ]


def _delete_database(db: Path) -> None:
    for file in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        file.unlink(missing_ok=True)


def test_a_deleted_database_is_refused_and_after_init_a_resent_create_finds_its_ticket(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.send("DB-1|CREATE|summary;disk full|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 1 and rows[0]["status"] == "Ok")
    first_key = rows[0]["ticket_key"]
    assert _tickets_of(sim, "DB-1") == [first_key]
    assert driver.stop() == 0

    _delete_database(driver.db_path)
    refused = _run_refused(driver)
    _assert_one_line_refusal(refused, str(driver.db_path), "is missing", "driver.db.id", "--init", "backup")
    assert not driver.db_path.exists(), "a refused start must not create an empty database"

    driver.run_args = ("--init",)
    driver.start()
    # The alarm's source sends its CREATE again (it never got to know the ticket).
    assert driver.send("DB-1|CREATE|summary;disk full|", "DB-2|CREATE|summary;new alarm|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and all(r["status"] == "Ok" for r in rows))
    found, new = rows
    assert _tickets_of(sim, "DB-1") == [first_key], "a second ticket was created"
    assert found["ticket_key"] == first_key
    assert "found by its GUID stamp" in found["note"]
    assert len(_tickets_of(sim, "DB-2")) == 1
    assert new["ticket_key"] == _tickets_of(sim, "DB-2")[0]

    # A plain restart on the database taken over keeps looking unknown GUIDs up first.
    driver.stop()
    driver.run_args = ()
    driver.restart()
    assert driver.send("DB-1|UPDATE|comment;still full|").status_code == 202
    driver.wait_rows(lambda rows: len(rows) == 3 and rows[-1]["status"] == "Ok")
    assert _tickets_of(sim, "DB-1") == [first_key]


def test_an_emptied_database_is_refused(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    driver = driver_factory(sim.url)
    assert driver.stop() == 0
    _delete_database(driver.db_path)
    driver.db_path.write_bytes(b"")
    _assert_one_line_refusal(_run_refused(driver), str(driver.db_path), "is empty", "--init")
    assert driver.db_path.stat().st_size == 0


def test_a_database_replaced_by_another_one_is_refused(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    one = driver_factory(sim.url)
    other = driver_factory(sim.url)
    assert one.stop() == 0
    assert other.stop() == 0
    own_id = marker_path(one.db_path).read_text(encoding="utf-8").splitlines()[0]
    _delete_database(one.db_path)
    shutil.copyfile(other.db_path, one.db_path)
    _assert_one_line_refusal(_run_refused(one), str(one.db_path), "not the database", "--init")

    one.run_args = ("--init",)
    one.start()
    assert one.stop() == 0
    store = Store(one.db_path)
    try:
        identity = store.identity()
    finally:
        store.close()
    assert identity.replaces == own_id
    assert marker_path(one.db_path).read_text(encoding="utf-8").splitlines()[0] == identity.id


def test_a_file_that_is_not_sqlite_is_refused_for_run_and_parse(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.stop() == 0
    _delete_database(driver.db_path)
    driver.db_path.write_bytes(b"this is no database at all\n" * 200)
    line = _assert_one_line_refusal(_run_refused(driver), str(driver.db_path), "not an SQLite", "backup")
    assert "--init" in line
    # even --init does not start on it: the file must be moved away by a person
    _assert_one_line_refusal(_run_refused(driver, "--init"), "not an SQLite")

    parse = subprocess.run(
        [sys.executable, "-m", "driver", "parse", "--config", str(driver.config_path), "G|CREATE|summary;x|"],
        cwd=driver.config_path.parent,
        env=driver.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Traceback" not in parse.stderr
    assert parse.returncode in (0, EXIT_BAD_INPUT)


def _corrupt_pages(db: Path, first: int, last: int) -> None:
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for n in range(first, last):
        data[n * page : (n + 1) * page] = bytes([0xA5]) * page
    db.write_bytes(bytes(data))


def test_a_malformed_database_is_refused_in_one_line(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.stop() == 0
    with_rows(driver.db_path, 3000)
    _corrupt_pages(driver.db_path, 16, 40)
    _assert_one_line_refusal(_run_refused(driver), str(driver.db_path), "corrupt", "backup")


def with_rows(db: Path, n: int) -> None:
    """Fill the log with settled rows, so the file has pages to break."""
    store = Store(db)
    entries = [
        NewEntry(
            LogType.AUTOMATIC, Action.CREATE, f"F-{i}", JobPayload(text=f"F-{i}|CREATE|summary;{'x' * 200}|")
        )
        for i in range(n)
    ]
    store.accept(entries)
    store.close()


def test_a_new_database_and_its_wal_and_shm_are_private(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.send("P-1|CREATE|summary;x|").status_code == 202
    driver.wait_settled()
    db = driver.db_path
    wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
    assert wal.exists()
    assert shm.exists()
    assert {_mode(db), _mode(wal), _mode(shm)} == {0o600}
    assert _mode(marker_path(db)) == 0o600
    assert driver.stop() == 0
    store = Store(db)
    try:
        assert marker_path(db).read_text(encoding="utf-8").splitlines()[0] == store.identity().id
    finally:
        store.close()


def test_wider_modes_are_tightened_with_a_warning(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.stop() == 0
    driver.db_path.chmod(0o644)
    driver.restart()
    assert _mode(driver.db_path) == 0o600
    text = driver.stderr_path.read_text(encoding="utf-8")
    assert f"{driver.db_path} was readable or writable by others (mode 644): changed to 600" in text


def test_credentials_in_the_jira_url_are_refused_without_showing_them(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    assert driver.stop() == 0
    host = sim.url.split("://", 1)[1]
    env = dict(driver.env, JIRA_DRIVER_JIRA_URL=f"http://ops:s3cr3t-pw@{host}")
    result = subprocess.run(
        [sys.executable, "-m", "driver", "run", "--config", str(driver.config_path)],
        cwd=driver.config_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert "[jira] url" in line
    assert "[jira] username" in line
    assert "[jira] password" in line
    assert "JIRA_DRIVER_JIRA_PASSWORD" in line


def test_a_config_file_with_a_secret_others_can_read_is_warned_about(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)  # its driver.ini holds [jira] password
    assert driver.stop() == 0
    driver.config_path.chmod(0o644)
    driver.stderr_path.write_text("", encoding="utf-8")
    driver.restart()
    text = driver.stderr_path.read_text(encoding="utf-8")
    assert f"{driver.config_path} holds [jira] password" in text
    assert f"chmod 600 {driver.config_path}" in text
    assert "admin" not in text.split("holds", 1)[1].splitlines()[0]

    assert driver.stop() == 0
    driver.config_path.chmod(0o600)
    driver.stderr_path.write_text("", encoding="utf-8")
    driver.restart()
    assert "chmod 600" not in driver.stderr_path.read_text(encoding="utf-8")


# --- the checks themselves, on real files -----------------------------------------------------


def test_first_start_then_restart_then_replacement(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    opening = database_file.check(db, init=False)
    assert opening.state == FileState.MISSING
    store = Store(db)
    born = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    # a new database: GUIDs it has never seen are searched for during probe_new_days
    assert database_file.settle(store, opening, "auto", now=born) == born + timedelta(days=7)
    assert store.identity().born_at == born
    own_id = store.identity().id
    store.close()
    assert marker_path(db).read_text(encoding="utf-8").splitlines()[0] == own_id

    again = database_file.check(db, init=False)
    assert again.state == FileState.READY
    assert again.previous_id == own_id
    assert not again.replacing
    store = Store(db)
    later = born + timedelta(days=2)
    assert database_file.settle(store, again, "auto", now=later) == born + timedelta(days=7)
    assert database_file.settle(store, again, "auto", probe_new_days=0, now=later) is None
    assert database_file.settle(store, again, "auto", probe_new_days=1, now=later) is None
    assert database_file.settle(store, again, "never", now=later) is None
    assert store.identity().born_at == born, "a normal start is no birth"
    store.close()

    other = tmp_path / "other.db"
    Store(other).close()
    os.replace(other, db)
    with pytest.raises(DatabaseFileError, match="not the database"):
        database_file.check(db, init=False)
    taken = database_file.check(db, init=True)
    assert taken.replacing
    store = Store(db)
    assert database_file.settle(store, taken, "auto", probe_new_days=0) == PROBE_ALWAYS
    assert store.identity().replaces == own_id
    assert database_file.settle(store, database_file.check(db, init=False), "never") is None
    store.close()


def test_search_before_create_always_on_a_first_database(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    opening = database_file.check(db, init=False)
    store = Store(db)
    try:
        assert database_file.settle(store, opening, "always", probe_new_days=0) == PROBE_ALWAYS
    finally:
        store.close()


def test_a_stale_wal_of_a_deleted_database_is_removed(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    wal = db.with_name("d.db-wal")
    wal.write_bytes(b"stale")
    database_file.check(db, init=False)
    assert not wal.exists()


def test_reading_the_ticket_state_of_a_corrupt_file_raises_a_typed_error(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(DatabaseFileError, match="not a usable SQLite database"):
        read_ticket_state(db)


# --- the engine's hook: GUIDs with no ticket record are in doubt until one stamp search ----------


async def test_an_engine_probing_unknown_guids_finds_earlier_tickets_once(
    engine_factory: Callable[..., Any], sim: Any
) -> None:
    earlier = engine_factory(sim.url)
    await earlier.start()
    await earlier.send("U-1|CREATE|summary;made before|", "U-2|CREATE|summary;made before|")
    await earlier.settle()
    await earlier.close()
    keys = {guid: _tickets_of(sim, guid) for guid in ("U-1", "U-2")}
    assert all(len(found) == 1 for found in keys.values())
    seq = max((entry["seq"] for entry in sim.journal()), default=0)

    later = engine_factory(sim.url)
    later.engine.probe_unknown_while(PROBE_ALWAYS)
    await later.start()
    await later.send(
        "U-1|CREATE|summary;made before|",
        "U-2|UPDATE|comment;the store never knew this ticket|",
        "U-3|CREATE|summary;brand new|",
        "U-3|UPDATE|comment;second command, no search|",
    )
    await later.settle()
    rows = later.rows()
    assert [row.status for row in rows] == ["Ok"] * 4
    assert _tickets_of(sim, "U-1") == keys["U-1"]
    assert rows[0].ticket_key == keys["U-1"][0]
    assert "found by its GUID stamp" in rows[0].note
    assert rows[1].ticket_key == keys["U-2"][0]
    assert len(_tickets_of(sim, "U-3")) == 1
    # one search for the three unknown GUIDs together, none for a GUID once its ticket is known
    searches = [e for e in sim.journal(seq) if "search" in e["path"]]
    assert len(searches) == 1, [(e["method"], e["path"]) for e in sim.journal(seq)]


# --- a lost database duplicates nothing (issue 15 item 7) -------------------------------------


def _searches_since(sim: Any, seq: int) -> int:
    return sum(1 for entry in sim.journal(seq) if "search" in entry["path"])


def _last_seq(sim: Any) -> int:
    return max((entry["seq"] for entry in sim.journal()), default=0)


def _set_birth(db: Path, moment: datetime) -> None:
    store = Store(db)
    try:
        store.record_birth(moment)
    finally:
        store.close()


def test_a_lost_database_and_its_marker_adopt_old_tickets_and_a_storm_costs_a_few_searches(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url)
    old = [f"OLD-{n}" for n in range(3)]
    assert driver.send(*(f"{g}|CREATE|summary;made before the loss|" for g in old)).status_code == 202
    driver.wait_rows(lambda rows: len(rows) == 3 and all(r["status"] == "Ok" for r in rows))
    keys = {g: _tickets_of(sim, g) for g in old}
    assert all(len(k) == 1 for k in keys.values())
    assert driver.stop() == 0

    # rm driver.db*: the database, its WAL files and its id marker
    for file in driver.db_path.parent.glob(driver.db_path.name + "*"):
        file.unlink()
    assert not marker_path(driver.db_path).exists()
    driver.start()
    seq = _last_seq(sim)
    storm = [f"NEW-{n}" for n in range(120)]
    lines = [f"{g}|CREATE|summary;active again|" for g in old] + [f"{g}|CREATE|summary;storm|" for g in storm]
    assert driver.send(*lines).status_code == 202
    rows = driver.wait_rows(
        lambda rows: len(rows) == len(lines) and all(r["status"] == "Ok" for r in rows), timeout=60
    )

    by_guid = {r["guid"]: r for r in rows}
    for guid in old:
        assert _tickets_of(sim, guid) == keys[guid], f"a second ticket for {guid}"
        assert by_guid[guid]["ticket_key"] == keys[guid][0]
        assert "found by its GUID stamp" in by_guid[guid]["note"]
    for guid in storm:
        assert len(_tickets_of(sim, guid)) == 1
    searches = _searches_since(sim, seq)
    # 123 GUIDs never seen: ceil(123/50) = 3 searches, plus a little for batches split by timing
    assert 1 <= searches <= 5, searches


def test_no_probe_once_the_new_databases_window_has_passed(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    earlier = driver_factory(sim.url)
    assert earlier.send("W-1|CREATE|summary;one|", "W-2|CREATE|summary;two|").status_code == 202
    earlier.wait_rows(lambda rows: len(rows) == 2 and all(r["status"] == "Ok" for r in rows))
    assert earlier.stop() == 0
    first = {g: _tickets_of(sim, g) for g in ("W-1", "W-2")}

    later = driver_factory(sim.url)  # a new database of its own, knowing neither GUID
    assert later.stop() == 0
    now = datetime.now(UTC)
    _set_birth(later.db_path, now - timedelta(days=6))  # inside the default 7 days
    later.start()
    seq = _last_seq(sim)
    assert later.send("W-1|CREATE|summary;one|").status_code == 202
    rows = later.wait_rows(lambda rows: len(rows) == 1 and rows[0]["status"] == "Ok")
    assert _tickets_of(sim, "W-1") == first["W-1"], "probed inside the window: adopted"
    assert rows[0]["ticket_key"] == first["W-1"][0]
    assert _searches_since(sim, seq) == 1
    assert later.stop() == 0

    _set_birth(later.db_path, now - timedelta(days=8))  # the window is over
    later.start()
    seq = _last_seq(sim)
    assert later.send("W-2|CREATE|summary;two|").status_code == 202
    later.wait_rows(lambda rows: len(rows) == 2 and rows[-1]["status"] == "Ok")
    # no search: the documented limit of an old database that never knew the GUID
    assert _searches_since(sim, seq) == 0
    assert len(_tickets_of(sim, "W-2")) == 2


def test_what_a_start_decides_about_the_database_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # moved without its id file, taken over by --init, upgraded: each changes what the first
    # commands do, and each start said nothing of it (an operator's trial)
    db = tmp_path / "d.db"
    store = Store(db)
    database_file.settle(store, database_file.check(db, init=False), "auto")
    store.close()
    moved = tmp_path / "elsewhere" / "d.db"
    moved.parent.mkdir()
    os.replace(db, moved)
    caplog.set_level(logging.INFO)
    store = Store(moved)
    database_file.settle(store, database_file.check(moved, init=False), "auto")
    store.close()
    assert f"{moved} has no id file" in caplog.text
    assert "counts as a new database" in caplog.text

    caplog.clear()
    other = tmp_path / "other.db"
    Store(other).close()
    os.replace(other, moved)
    store = Store(moved)
    database_file.settle(store, database_file.check(moved, init=True), "auto")
    store.close()
    store = Store(moved)
    database_file.settle(store, database_file.check(moved, init=False), "auto")
    store.close()
    assert "this database took over another's (run --init)" in caplog.text

    caplog.clear()
    old = tmp_path / "old.db"
    older = Database(old)  # a database an older driver made: its first six steps only
    migrations.ON_SQLITE.apply(older, stop_before=migrations.STEPS[6][0])
    older.close()
    Store(old).close()
    steps = f"{migrations.STEPS[6][0]} to {migrations.STEPS[-1][0]}"
    assert f"{old} upgraded: schema steps {steps} applied" in caplog.text
    caplog.clear()
    Store(old).close()
    assert "upgraded" not in caplog.text
