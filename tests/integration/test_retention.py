"""Log retention holds without new commands (issue 15 item 5): rows over `[log] max_entries` that were
still open at intake are trimmed once they settle, by the retention timer, in batches; an open row
(Pending, Deferred) is never trimmed.

Real `jira-driver run` processes against the simulator; the store-level batches on a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store import LogFilter
from tests.fixtures.driver import DriverProcess
from tests.fixtures.stores import OpenStore

FAST_TRIM = {"max_entries": "20", "remove_older_than_days": "0", "trim_interval_seconds": "0.2"}


def _total(driver: DriverProcess) -> int:
    with driver.client() as client:
        total: int = client.get("/api/log", params={"limit": 1}).json()["total"]
    return total


def test_the_log_comes_down_to_max_entries_without_a_new_command(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, ini={"log": FAST_TRIM})
    # one batch: every row is Pending when intake trims, so intake alone leaves all 60
    body = [f"RET-{i}|CREATE|summary;row {i}|" for i in range(60)]
    assert driver.send(*body).status_code == 202
    driver.wait_settled(timeout=60)

    rows = driver.wait_rows(lambda rows: len(rows) == 20, timeout=20)

    # the timer may have trimmed while rows were settling (oldest settled first, not oldest id):
    # which 20 stay depends on the order Jira answered; that 20 settled rows stay does not
    assert len({row["guid"] for row in rows}) == 20
    assert {row["status"] for row in rows} == {"Ok"}
    assert _total(driver) == 20
    assert driver.status()["queue_depth"] == 0


def test_rows_are_trimmed_when_they_settle_without_waiting_for_the_timer(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    # the timer would first run in an hour: only settling rows can wake the trim
    driver = driver_factory(sim.url, ini={"log": {**FAST_TRIM, "trim_interval_seconds": "3600"}})
    assert driver.send(*[f"SET-{i}|CREATE|summary;row {i}|" for i in range(60)]).status_code == 202
    driver.wait_settled(timeout=60)

    rows = driver.wait_rows(lambda rows: len(rows) == 20, timeout=20)

    assert {row["status"] for row in rows} == {"Ok"}
    assert _total(driver) == 20


def test_open_rows_are_never_trimmed(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    driver = driver_factory(sim.url, ini={"log": {**FAST_TRIM, "max_entries": "5"}})
    assert driver.send(*[f"DONE-{i}|CREATE|summary;d|" for i in range(10)]).status_code == 202
    driver.wait_settled(timeout=30)
    # Jira now answers every create 503 with a long Retry-After: the next rows stay Pending
    sim.faults(kind=503, count=10_000, retry_after=120, method="POST")
    assert driver.send(*[f"OPEN-{i}|CREATE|summary;o|" for i in range(10)]).status_code == 202

    rows = driver.wait_rows(lambda rows: not any(r["guid"].startswith("DONE-") for r in rows), timeout=20)

    # 10 rows over a limit of 5, all open: every one is kept
    assert [row["guid"] for row in rows] == [f"OPEN-{i}" for i in range(10)]
    assert {row["status"] for row in rows} <= {"Pending", "Deferred"}
    assert driver.status()["queue_depth"] == 10


def _entries(prefix: str, n: int) -> list[NewEntry]:
    return [
        NewEntry(
            LogType.AUTOMATIC,
            Action.CREATE,
            f"{prefix}{i}",
            JobPayload(text=f"{prefix}{i}|CREATE|summary;x|"),
        )
        for i in range(n)
    ]


def test_trim_and_age_removal_take_at_most_a_batch_oldest_settled_first(open_store: OpenStore) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store = open_store(clock=lambda: now)
    try:
        jobs = store.accept(_entries("S", 30))
        with store.transaction():
            for job in jobs[::2]:  # every other row settled, the rest open
                store.settle(job.id, LogStatus.OK)
        assert store.trim(5, limit=4) == 4
        assert store.trim(5, limit=4) == 4
        assert store.trim(5, limit=4) == 4
        assert store.trim(5, limit=4) == 3  # the last settled rows: only open ones are left
        assert store.trim(5, limit=4) == 0
        rows = store.log_page(LogFilter(limit=100)).rows
        assert sorted(r.guid for r in rows) == sorted(f"S{i}" for i in range(1, 30, 2))
        assert {r.status for r in rows} == {LogStatus.PENDING}

        old = store.accept(_entries("OLD", 6))
        with store.transaction():
            for job in old:
                store.settle(job.id, LogStatus.FAILED, error="x")
        now += timedelta(days=40)
        assert store.remove_older_than(30, limit=4) == 4
        assert store.remove_older_than(30, limit=4) == 2
        assert store.remove_older_than(30, limit=4) == 0
        assert store.log_page(LogFilter(limit=100)).total == 15
    finally:
        store.close()
