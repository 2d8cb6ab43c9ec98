"""The store's schema on a real PostgreSQL (issue 22 item 1): the same migration steps as SQLite's,
translated by driver.store.dialect, give the same tables, columns and indexes; applying is
idempotent, and a database a newer driver migrated is refused, naming what it holds."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from driver.store import Store
from driver.store.migrations import STEPS
from driver.store.postgres import schema
from driver.store.postgres.schema import SchemaTooNew, apply

SQLITE_OWN = {"sqlite_sequence", "_sqlite_migrations"}


def sqlite_shape(path: Path) -> tuple[dict[str, list[str]], set[str]]:
    """{table: its columns in order} and the index names of a driver's SQLite database."""
    Store(path).close()
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {
            t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables if t not in SQLITE_OWN
        }
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
            if r[1] not in SQLITE_OWN
        }
    return columns, indexes


def postgres_shape(conn: psycopg.Connection[Any]) -> tuple[dict[str, list[str]], set[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name <> '_migrations' ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), []).append(str(column))
    indexes = {
        str(r[0])
        for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"
        )
    }
    return columns, indexes


def test_the_steps_give_postgresql_the_schema_they_give_sqlite(pg_database: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        assert apply(conn) == [name for name, _ in STEPS]
        assert apply(conn) == []  # idempotent: a restart applies nothing
        assert postgres_shape(conn) == sqlite_shape(tmp_path / "d.db")
        # what the steps seed is there too: the database's own id and the counters
        identity = conn.execute("SELECT id, created_at FROM identity").fetchall()
        assert len(identity) == 1
        assert re.fullmatch(r"[0-9a-f]{32}", identity[0][0])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", identity[0][1])  # SQLite's form
        counters = {r[0] for r in conn.execute("SELECT counter FROM stats_totals")}
    with sqlite3.connect(tmp_path / "d.db") as lite:
        assert counters == {r[0] for r in lite.execute("SELECT counter FROM stats_totals")}


def test_log_ids_are_never_reused(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        apply(conn)
        insert = (
            "INSERT INTO log (type, action, guid, time, status, payload)"
            " VALUES ('Automatic', 'CREATE', 'g', 't', 'Pending', '{}') RETURNING id"
        )
        first = conn.execute(insert).fetchone()
        conn.execute("DELETE FROM log")
        second = conn.execute(insert).fetchone()
        assert first is not None
        assert second is not None
        assert second[0] > first[0]  # as SQLite's AUTOINCREMENT: retention never makes an id come back


def test_a_schema_from_a_newer_driver_is_refused_naming_it(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        apply(conn)
        conn.execute("INSERT INTO _migrations (name) VALUES ('0099_from_the_future')")
        with pytest.raises(SchemaTooNew, match="0099_from_the_future") as refused:
            apply(conn)
        assert "\n" not in str(refused.value)


def test_an_upgrade_names_the_steps_applied_and_a_new_database_says_nothing(
    pg_database: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="driver.store")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        with monkeypatch.context() as older:  # the driver before the last two steps
            older.setattr(schema, "STEPS", STEPS[:-2])
            assert apply(conn) == [name for name, _ in STEPS[:-2]]
        assert "upgraded" not in caplog.text
        assert apply(conn) == [name for name, _ in STEPS[-2:]]
    assert f"upgraded: schema steps {STEPS[-2][0]} to {STEPS[-1][0]} applied" in caplog.text


def test_run_waits_for_an_unreachable_postgresql_and_stops_on_sigterm(tmp_path: Path) -> None:
    """A pair's node started during the database's outage waits for it (it comes up by itself when
    the database is back) and still stops cleanly on SIGTERM meanwhile."""
    import signal
    import socket
    import subprocess
    import sys

    from tests.fixtures.waiting import wait_for

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ini = tmp_path / "pg.ini"
    ini.write_text(
        "[jira]\nurl = http://127.0.0.1:9\n[driver]\ndatabase = postgresql://ops@127.0.0.1:1/jd\n"
        f"listen = 127.0.0.1:{port}\n"
    )
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "driver", "run", "--config", str(ini)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for(lambda: "waiting for the database" in log.read_text(), "the wait logged", 30)
        assert proc.poll() is None
        # its API is closed meanwhile: a client is refused at once, nothing waits in a backlog
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()


def test_an_unreachable_postgresql_is_a_database_that_cannot_write_now() -> None:
    """What every caller already waits on (a sqlite3.OperationalError), in one line."""
    from driver.store.postgres.connection import DatabaseUnavailable
    from driver.store.postgres.store import PostgresStore

    with pytest.raises(DatabaseUnavailable) as refused:
        PostgresStore("postgresql://driver@127.0.0.1:1/nowhere")
    assert isinstance(refused.value, sqlite3.OperationalError)
    assert str(refused.value).startswith("PostgreSQL: ")
    assert "\n" not in str(refused.value)


def test_a_database_that_refuses_the_driver_for_good_ends_the_start_in_one_line(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """No such database (or role): no retry will fix it, so `run` says so and exits 2."""
    from tests.fixtures.cli import run_cli

    missing = postgres_dsn.rsplit("/", 1)[0] + "/nosuchdb"
    ini = tmp_path / "pg.ini"
    ini.write_text(
        f"[jira]\nurl = http://127.0.0.1:9\n[driver]\ndatabase = {missing}\nlisten = 127.0.0.1:0\n"
    )
    result = run_cli(ini, "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "jira-driver run: configuration error: [driver] database: PostgreSQL refuses this driver:"
        ' database "nosuchdb" does not exist'
    )
