"""A secret set at run time never lands in the database file, and one an older version put there
is moved out at the next start.

Reproduction from the report: a password set by PUT /api/settings/auth (the TUI's Authentication
dialog) was stored in plain text in a database file created world-readable. The database (and its
-wal/-shm) is 0600 now (test_database_file.py), and the secret lives in `<database>.secret`, 0600,
beside it (driver.store.secret_file).
"""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess

SECRET = "s3cr3t-Xq9-runtime"


def database_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps({"users": [{"name": "svc", "password": SECRET}, {"name": "admin", "password": "admin"}]})
    )
    return path


def test_a_secret_set_at_run_time_stays_out_of_the_database(
    driver_factory: Callable[..., DriverProcess], sim_factory: Callable[..., SimProcess], tmp_path: Path
) -> None:
    sim = sim_factory("--users-file", str(users_file(tmp_path)))
    driver = driver_factory(sim.url)
    with driver.client() as api:
        answer = api.put("/api/settings/auth", json={"mode": "basic", "username": "svc", "secret": SECRET})
        assert answer.is_success, answer.text
    assert driver.send("SEC-1|CREATE|summary;with the run-time secret|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    secret_file = Path(f"{driver.db_path}.secret")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert SECRET.encode() in secret_file.read_bytes()
    assert SECRET.encode() not in database_bytes(driver.db_path)
    # a restart uses it (the ticket below is created as svc)
    driver.restart()
    assert driver.send("SEC-2|CREATE|summary;after a restart|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok", "Ok"]
    assert {i["fields"]["creator"]["name"] for i in sim.issues()} == {"svc"}


def test_a_secret_an_older_version_stored_is_moved_out_of_the_database(
    driver_factory: Callable[..., DriverProcess], sim_factory: Callable[..., SimProcess], tmp_path: Path
) -> None:
    sim = sim_factory("--users-file", str(users_file(tmp_path)))
    driver = driver_factory(sim.url)
    driver.stop()
    with sqlite3.connect(driver.db_path) as db:
        db.execute(
            "INSERT INTO settings (key, value) VALUES ('auth', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (json.dumps({"mode": "basic", "username": "svc", "secret": SECRET}),),
        )
    assert SECRET.encode() in database_bytes(driver.db_path)
    driver.restart()
    assert driver.send("OLD-1|CREATE|summary;moved|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    assert SECRET.encode() not in database_bytes(driver.db_path)
    assert SECRET.encode() in Path(f"{driver.db_path}.secret").read_bytes()
    assert {i["fields"]["creator"]["name"] for i in sim.issues()} == {"svc"}
