"""The driver's own database refusing writes (issue 9.1) and holding a bad setting (9.5), end to end.

A second sqlite3 connection holding `BEGIN IMMEDIATE` on the driver's database file is what another
process locking it looks like (a backup tool, a person with the sqlite3 shell): every write of the
driver then waits its 250 ms busy timeout and fails with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from driver.contract.schemas import DriverStatus, LogPage, Settings
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for


@contextmanager
def write_lock(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the database's write lock, as another process would, until the block ends."""
    conn = sqlite3.connect(str(db_path), isolation_level=None, timeout=5)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def wait_status(
    driver: DriverProcess, predicate: Callable[[DriverStatus], bool], timeout: float = 15.0
) -> DriverStatus:
    with driver.client() as client:
        last: list[DriverStatus | None] = [None]

        def reached() -> DriverStatus | None:
            status = last[0] = DriverStatus.model_validate(client.get("/api/status").json())
            return status if predicate(status) else None

        return wait_for(reached, "the status", timeout, state=lambda: last[0])


def test_locked_database_intake_answers_503_then_202_and_the_engine_waits_it_out(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    # probe_new_days = 0: the creates are the first POSTs (no stamp search of a new database first)
    driver = driver_factory(sim.url, api_token="t", ini={"ticket": {"probe_new_days": "0"}})
    status = DriverStatus.model_validate(driver.status())
    assert (status.database, status.database_message, status.engine_running) == ("ok", "", True)
    guids = [f"LOCK-{i}" for i in range(3)]
    # Jira makes each ticket at once and answers 1.5 s late: the answers come back under the lock.
    sim.faults(kind="slow_after", count=len(guids), seconds=1.5, method="POST")
    assert driver.send(*(f"{g}|CREATE|summary;{g}|" for g in guids)).status_code == 202
    wait_for(lambda: sim.counters()["issues"] >= len(guids), "the creates at Jira", 10, every=0.02)

    with write_lock(driver.db_path), driver.client() as client:
        refused = client.post(
            "/api/advanced", content="LOCK-X|CREATE|summary;x|", headers={"Content-Type": "text/plain"}
        )
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error"].startswith("database unavailable: database is locked")
        executed = client.post("/api/execute")
        assert executed.status_code == 503
        # reads still work (WAL): nothing of the refused batch is in the log
        assert LogPage.model_validate(client.get("/api/log").json()).total == len(guids)
        # the answers arrive and the engine cannot record them: it says so and keeps trying
        status = wait_status(driver, lambda s: s.database == "unavailable" and s.pending == len(guids))
        assert status.database_message.startswith("database unavailable: database is locked")
        assert status.engine_running
        assert status.jira_state == "ok"

    with driver.client() as client:
        accepted = client.post(
            "/api/advanced", content="LOCK-X|CREATE|summary;x|", headers={"Content-Type": "text/plain"}
        )
        assert accepted.status_code == 202, accepted.text
    rows = driver.wait_rows(lambda rs: len(rs) == 4 and all(r["status"] == "Ok" for r in rs))
    assert [r["guid"] for r in rows] == [*guids, "LOCK-X"]
    issues = sim.issues()
    assert sorted(i["fields"]["summary"] for i in issues) == sorted([*guids, "x"]), "one ticket per GUID"
    status = wait_status(driver, lambda s: s.database == "ok")
    assert status.database_message == ""


def test_a_bad_stored_setting_is_reported_and_the_config_value_used(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, ini={"update": {"max_updates": "4", "interval_seconds": "45"}})
    assert driver.stop() == 0
    # what an older version let PUT /api/settings/update store
    conn = sqlite3.connect(str(driver.db_path), isolation_level=None)
    bad = {"max_updates": 3, "interval_seconds": 1e11, "scope": "global"}
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('update', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (json.dumps(bad),),
    )
    conn.close()
    driver.start()
    with driver.client() as client:
        settings = Settings.model_validate(client.get("/api/settings").json())
    assert (settings.update.max_updates, settings.update.interval_seconds) == (4, 45)
    assert settings.update.scope == "ticket"
    lines = [line for line in driver.stderr_path.read_text().splitlines() if "stored setting" in line]
    assert len(lines) == 1, lines
    assert "'update' is invalid (interval_seconds:" in lines[0]
    assert "using the config file's value" in lines[0]
    # and it runs: a command goes through
    assert driver.send("BAD-1|CREATE|summary;fine|", "BAD-1|UPDATE|comment;later|").status_code == 202
    rows = driver.wait_rows(lambda rs: len(rs) == 2 and all(r["status"] == "Ok" for r in rs))
    assert [r["action"] for r in rows] == ["CREATE", "UPDATE"]
