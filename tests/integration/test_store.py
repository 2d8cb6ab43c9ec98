"""The store on a real SQLite file and a real PostgreSQL database (each test not named for SQLite
runs on both): intake, queue, retention, statistics, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driver.contract.schemas import LogStatus, LogType, StatsReset
from driver.model.commands import Action
from driver.model.jobs import JobPayload, LoggedRequest, NewEntry, RequestKind, TicketRecord, TicketState
from driver.model.statistics import Statistic
from driver.store import LogFilter, Store, Total, read_ticket_state
from tests.fixtures.stores import OpenStore
from tests.fixtures.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def entry(guid: str, action: str = "CREATE") -> NewEntry:
    return NewEntry(
        LogType.AUTOMATIC, Action(action), guid, JobPayload(text=f"{guid}|{action}|summary;{guid}|")
    )


def test_accept_survives_reopen_in_order(open_store: OpenStore) -> None:
    store = open_store()
    jobs = store.accept([entry("a"), entry("b"), entry("a", "UPDATE")])
    assert [j.id for j in jobs] == [1, 2, 3]
    store.close()
    store = open_store()
    open_jobs = store.open_jobs()
    assert [(j.guid, j.action) for j in open_jobs] == [("a", "CREATE"), ("b", "CREATE"), ("a", "UPDATE")]
    assert open_jobs[0].payload == JobPayload(text="a|CREATE|summary;a|")
    assert store.counts() == (3, 0)
    store.close()


def test_wal_mode(db_path: Path) -> None:
    store = Store(db_path)
    assert store.db.journal_mode == "wal"
    store.close()


def test_max_entries_keeps_open_rows(open_store: OpenStore) -> None:
    store = open_store()
    first = store.accept([entry(f"g{i}") for i in range(5)])
    with store.transaction():
        for job in first[:3]:
            store.settle(job.id, LogStatus.OK)
    store.accept([entry("new")], max_entries=4)
    ids = [row.id for row in store.log_page(LogFilter(limit=100)).rows]
    # Two settled rows went; the pending ones stay even though 4 would be the limit.
    assert ids == [6, 5, 4, 3]
    store.accept([entry(f"more{i}") for i in range(5)], max_entries=4)
    remaining = store.log_page(LogFilter(limit=100)).rows
    assert all(r.status is LogStatus.PENDING for r in remaining)
    store.close()


def test_remove_older_than(open_store: OpenStore) -> None:
    clock = Clock()
    store = open_store(clock=clock)
    old = store.accept([entry("old"), entry("old-pending")])
    with store.transaction():
        store.settle(old[0].id, LogStatus.FAILED, error="x")
    clock.now += timedelta(days=10)
    store.accept([entry("new")])
    assert store.remove_older_than(7) == 1
    assert [r.guid for r in store.log_page(LogFilter()).rows] == ["new", "old-pending"]
    store.close()


def test_log_filters_and_paging(open_store: OpenStore) -> None:
    store = open_store()
    jobs = store.accept([entry(f"g{i % 3}") for i in range(10)])
    with store.transaction():
        store.settle(
            jobs[0].id,
            LogStatus.OK,
            ticket=TicketRecord("g0", TicketState.CREATED, "10001", "OPS-1", "http://j/browse/OPS-1"),
            request=LoggedRequest(RequestKind.CREATE, {"fields": {}}),
            response={"status": 201},
        )
    page = store.log_page(LogFilter(limit=4))
    assert page.total == 10
    assert [r.id for r in page.rows] == [10, 9, 8, 7]
    assert page.next_before_id == 7
    page2 = store.log_page(LogFilter(limit=4, before_id=7))
    assert [r.id for r in page2.rows] == [6, 5, 4, 3]
    last = store.log_page(LogFilter(limit=4, before_id=3))
    assert last.next_before_id is None
    assert store.log_page(LogFilter(guid="g1")).total == 3
    ok = store.log_page(LogFilter(status=LogStatus.OK))
    assert ok.total == 1
    assert ok.rows[0].ticket_key == "OPS-1"
    assert store.log_page(LogFilter(q="OPS-1")).total == 1
    detail = store.log_entry(jobs[0].id)
    assert detail is not None
    assert detail.response == {"status": 201}
    store.close()


def test_statistics_day_rollover_and_reset(open_store: OpenStore) -> None:
    clock = Clock()
    store = open_store(clock=clock, zone=UTC)
    with store.transaction():
        store.count(Statistic.CREATE)
        store.count(Statistic.UPDATE, 2)
    clock.now += timedelta(days=1)
    store.count(Statistic.CREATE)
    stats = store.statistics()
    assert (stats.create.today, stats.create.yesterday, stats.create.total) == (1, 1, 2)
    assert (stats.update.today, stats.update.yesterday, stats.update.total) == (0, 2, 2)
    store.close()
    store = open_store(clock=clock, zone=UTC)
    stats = store.reset_statistics(StatsReset(counter="create", scope="daily"))
    assert (stats.create.today, stats.create.yesterday, stats.create.total) == (0, 0, 2)
    stats = store.reset_statistics(StatsReset(counter="all", scope="total"))
    assert stats.total.total == 0
    assert stats.update.yesterday == 2
    store.count(Statistic.CREATE)
    stats = store.statistics()
    assert (stats.create.today, stats.create.total, stats.update.total) == (1, 1, 0)
    stats = store.reset_statistics(StatsReset(counter="all", scope="all"))
    assert (stats.total.today, stats.total.yesterday, stats.total.total) == (0, 0, 0)
    store.close()


def test_totals_kept_before_the_offsets_read_the_same_after_their_migration(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "old.db"
    store = Store(path, clock=clock, zone=UTC)
    store.count(Statistic.CREATE, 3)
    store.count(Statistic.UPDATE, 5)
    # as a database from before 0015: totals of their own (here larger than the days' sums, as
    # after a daily reset), no offsets, no record of the step
    store.db.execute("DROP TABLE stats_offsets")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0015_statistics_offsets'")
    store.db.execute("INSERT INTO stats_totals (counter, value) VALUES ('create', 40), ('update', 7)")
    store.close()
    again = Store(path, clock=clock, zone=UTC)
    stats = again.statistics()
    assert (stats.create.today, stats.create.total, stats.update.today, stats.update.total) == (3, 40, 5, 7)
    again.count(Statistic.CREATE)
    assert again.statistics().create.total == 41
    counters = {r[0] for r in again.db.execute("SELECT counter FROM stats_totals").fetchall()}
    assert not counters & {"create", "update"}
    again.close()


def test_the_offsets_migration_makes_both_rows_even_where_the_old_totals_had_none(tmp_path: Path) -> None:
    """Without the rows a reset changed nothing (helper-16: a cleared total still read 3). A total
    the old table did not hold read 0, and still does."""
    path = tmp_path / "old.db"
    store = Store(path, clock=Clock(), zone=UTC)
    store.count(Statistic.CREATE, 3)
    store.db.execute("DROP TABLE stats_offsets")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0015_statistics_offsets'")
    store.close()  # stats_totals holds no 'create' or 'update' row (0015 removed them)
    again = Store(path, clock=Clock(), zone=UTC)
    assert (again.statistics().create.today, again.statistics().create.total) == (3, 0)
    again.count(Statistic.CREATE, 2)
    assert again.statistics().create.total == 2
    assert again.reset_statistics(StatsReset(counter="create", scope="total")).create.total == 0
    again.count(Statistic.CREATE)
    assert again.reset_statistics(StatsReset(counter="create", scope="daily")).create.total == 1
    again.close()


def test_a_count_the_other_node_commits_during_a_days_reset_stays_in_the_total(pg_database: str) -> None:
    """A pair: the standby clears today's count while the leader settles a create. The reset
    locks the day's row first, so the create waits for it and is kept in the total (helper-16:
    5 where 6 were counted)."""
    import threading

    import psycopg

    from driver.store.postgres.store import PostgresStore

    clock = Clock()
    standby = PostgresStore(pg_database, clock=clock, zone=UTC)
    leader = PostgresStore(pg_database, clock=clock, zone=UTC)
    admin = psycopg.connect(pg_database, autocommit=True)
    try:
        leader.count(Statistic.CREATE, 5)
        conn = standby.db.conn
        real = conn.execute
        counting: list[threading.Thread] = []

        def waiting_on_a_lock() -> bool:
            row = admin.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
            return bool(row and row[0])

        def execute(sql: str, parameters: Any = None) -> Any:
            result = real(sql, parameters)
            if sql.startswith("UPDATE stats_offsets SET value = value") and not counting:
                counting.append(threading.Thread(target=leader.count, args=(Statistic.CREATE,)))
                counting[0].start()
                wait_for(waiting_on_a_lock, "the leader's count waits for the reset", 10)
            return result

        conn.execute = execute  # type: ignore[method-assign]
        standby.reset_statistics(StatsReset(counter="create", scope="daily"))
        conn.execute = real  # type: ignore[method-assign]
        counting[0].join(10)
        stats = leader.statistics()
        assert (stats.create.today, stats.create.total) == (1, 6)
    finally:
        admin.close()
        standby.close()
        leader.close()


def test_tickets_and_settings(open_store: OpenStore) -> None:
    store = open_store()
    with store.transaction():
        store.journal_intent("g", 1)
    record = store.ticket("g")
    assert record is not None
    assert record.state == "creating"
    store.ticket_created(TicketRecord("g", TicketState.CREATED, "1", "OPS-1", "u", 1))
    assert store.tickets_in([TicketState.CREATED])[0].ticket_key == "OPS-1"
    store.put_setting("update", {"max_updates": 3})
    assert store.setting("update") == {"max_updates": 3}
    assert store.setting("missing") is None
    store.close()


def test_one_read_gives_a_guids_record_or_its_highest_generation(open_store: OpenStore) -> None:
    """ticket_or_generation is ticket and max_generation in one statement, on either database."""
    store = open_store()

    def both(guid: str) -> tuple[TicketRecord | None, int]:
        record = store.ticket(guid)
        return record, 0 if record is not None else store.max_generation(guid)

    assert store.ticket_or_generation("g") == both("g") == (None, 0)
    with store.transaction():
        store.journal_intent("g", 1)
    assert store.ticket_or_generation("g") == both("g")
    assert store.ticket_or_generation("g")[0].state == "creating"  # type: ignore[union-attr]
    store.ticket_created(TicketRecord("g", TicketState.CREATED, "1", "OPS-1", "u", 1))
    assert store.ticket_or_generation("g") == both("g")
    assert store.unlink_ticket("g") is not None  # the record goes, its history stays
    assert store.ticket_or_generation("g") == both("g") == (None, 1)
    with store.transaction():
        store.journal_intent("g", 2, generation=2)
    record, _ = store.ticket_or_generation("g")
    assert record is not None
    assert record.generation == 2
    assert store.ticket_or_generation("other") == (None, 0)
    store.close()


def test_running_totals_read_together_as_one_by_one(open_store: OpenStore) -> None:
    """totals is total for each counter in one statement, on either database."""
    store = open_store()
    kinds = list(Total)
    assert store.totals(kinds) == dict.fromkeys(kinds, 0)
    for n, kind in enumerate(kinds[:2], start=1):
        with store.transaction():
            store.count_total(kind, n)
            store.count_total(kind, 10)
    assert store.totals(kinds) == {kind: store.total(kind) for kind in kinds}
    assert store.totals(kinds[:2]) == {kinds[0]: 11, kinds[1]: 12}
    assert store.totals([]) == {}
    store.close()


def test_read_ticket_state_without_db(tmp_path: Path) -> None:
    assert read_ticket_state(tmp_path / "nope.db") is None
    store = Store(tmp_path / "x.db")
    store.close()
    assert read_ticket_state(tmp_path / "x.db") is None


def test_read_ticket_state_returns_stored_table_and_catalog(tmp_path: Path) -> None:
    from driver.model.creation_table import seed_table
    from driver.model.fields import FieldCatalog, FieldDef, FieldType

    store = Store(tmp_path / "t.db")
    table = seed_table("NET", "Bug")
    catalog = FieldCatalog.system().with_field(FieldDef("customfield_1", "Sev", FieldType.OPTION))
    store.put_setting("ticket_table", table.model_dump(mode="json"))
    store.put_setting("catalog", catalog.to_list())
    state = read_ticket_state(tmp_path / "t.db")
    store.close()
    assert state is not None
    assert state == (table, catalog)


def test_intake_does_not_count_the_log_each_time(db_path: Path) -> None:
    store = Store(db_path)
    jobs = store.accept([entry(f"g{i}") for i in range(50)])
    with store.transaction():
        for job in jobs:
            store.settle(job.id, LogStatus.OK)
    store.accept([entry("first")], max_entries=100)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    for i in range(20):
        store.accept([entry(f"steady{i}")], max_entries=100)
    store.db.conn.set_trace_callback(None)
    # Under the limit an intake is its inserts, not a scan of the whole log.
    assert not [s for s in statements if "count(" in s.lower()]
    assert not [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    store.close()


def test_max_entries_kept_across_trim_age_removal_and_reopen(open_store: OpenStore) -> None:
    clock = Clock()
    store = open_store(clock=clock)
    jobs = store.accept([entry(f"g{i}") for i in range(6)], max_entries=8)
    with store.transaction():
        for job in jobs[:4]:
            store.settle(job.id, LogStatus.OK)
    clock.now += timedelta(days=10)
    store.accept([entry("young")], max_entries=8)
    assert store.remove_older_than(7) == 4
    # 3 rows left (2 old pending + young): 5 more fit under 8 without removing anything.
    store.accept([entry(f"n{i}") for i in range(5)], max_entries=8)
    assert store.log_page(LogFilter(limit=100)).total == 8
    with store.transaction():
        store.settle(jobs[4].id, LogStatus.OK)
    store.accept([entry("over")], max_entries=8)
    rows = store.log_page(LogFilter(limit=100)).rows
    assert len(rows) == 8
    assert jobs[4].id not in {r.id for r in rows}
    # Only open rows over the limit: nothing to remove, and they all stay.
    store.accept([entry(f"p{i}") for i in range(3)], max_entries=8)
    assert store.log_page(LogFilter(limit=100)).total == 11
    store.close()
    store = open_store(clock=clock)
    settled = store.open_jobs()[:4]
    with store.transaction():
        for job in settled:
            store.settle(job.id, LogStatus.OK)
    store.accept([entry("after-reopen")], max_entries=8)
    assert store.log_page(LogFilter(limit=100)).total == 8
    assert store.trim(5) == 0  # the rest are all open
    store.close()


def test_a_log_from_before_request_kinds_gets_them_for_the_update_limit_window(tmp_path: Path) -> None:
    """Migration 0009: rows settled before the column existed keep counting in the update limit's
    window (a restart after the upgrade must not let a flapping alarm through at once)."""
    path = tmp_path / "old.db"
    store = Store(path)
    guids = ("UPD", "TRN", "NOP", "NEW", "OLD")
    jobs = store.accept([entry(g, "CREATE" if g == "NEW" else "UPDATE") for g in guids])
    ticket = TicketRecord("g", TicketState.CREATED, "1", "OPS-1", "u", 1)
    requests = [
        LoggedRequest(RequestKind.UPDATE, {"edit": {"summary": "x"}, "comments": []}),
        LoggedRequest(RequestKind.TRANSITION, {"transition": {"id": "31"}}),
        LoggedRequest(RequestKind.PLANNED, {"target": "done", "fields": {}, "comments": []}),
        LoggedRequest(RequestKind.CREATE, {"fields": {"summary": "x"}}),
        LoggedRequest(RequestKind.UPDATE, {"edit": {"summary": "y"}, "comments": []}),
    ]
    with store.transaction():
        for job, request in zip(jobs, requests, strict=True):
            store.settle(job.id, LogStatus.OK, ticket=ticket, request=request)
        # the last one settled long before the longest update-limit interval
        store.db.conn.execute(
            "UPDATE log SET settled_at = '2020-01-01T00:00:00.000000+00:00' WHERE id = ?", (jobs[-1].id,)
        )
    # back to the schema before 0009: no column, the migration not yet applied
    store.db.conn.execute("ALTER TABLE log DROP COLUMN request_kind")
    store.db.conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0009_request_kind'")
    store.close()

    store = Store(path)
    kinds = dict(store.db.execute("SELECT guid, request_kind FROM log").fetchall())
    assert kinds == {"UPD": "update", "TRN": "transition", "NOP": "planned", "NEW": "create", "OLD": None}
    assert [s.ticket_key for s in store.recent_updates(datetime.now(UTC) - timedelta(days=1))] == [
        "OPS-1",
        "OPS-1",
    ]
    store.close()


def test_alarms_searches_and_a_tickets_history(open_store: OpenStore) -> None:
    """The statements whose SQL differs most between the two databases: the Alarms table's page
    and counts, case-blind text searches, a ticket's history by generation, live projects."""
    from driver.model.alarms import AlarmFilter

    clock = Clock()
    store = open_store(clock=clock)
    jobs = store.accept(
        [entry("Disk-1"), entry("Disk-1", "UPDATE"), entry("net-2"), entry("Disk-1", "UPDATE")]
    )
    with store.transaction():
        store.journal_intent("Disk-1", 1)
        store.settle(jobs[0].id, LogStatus.OK)
        store.settle(jobs[1].id, LogStatus.OK)
        store.settle(jobs[2].id, LogStatus.FAILED, error="Jira said no")
    store.ticket_created(TicketRecord("Disk-1", TicketState.CREATED, "1", "OPS-7", "u", 1))
    store.ticket_created(TicketRecord("Disk-1", TicketState.CREATED, "1", "OPS-8", "u", 1))  # its key moved
    page = store.alarm_page(AlarmFilter(), 0, clock.now)
    assert [a.guid for a in page.rows] == ["Disk-1", "net-2"]
    disk = page.rows[0]
    assert disk.ticket is not None
    assert disk.ticket.ticket_key == "OPS-8"
    assert (disk.counts.updates_sent, disk.counts.updates_waiting) == (1, 1)
    assert page.rows[1].counts.failed == 1
    assert [a.guid for a in store.alarm_page(AlarmFilter(text="DISK"), 0, clock.now).rows] == ["Disk-1"]
    assert [a.guid for a in store.alarm_page(AlarmFilter(text="ops-8"), 0, clock.now).rows] == ["Disk-1"]
    assert store.log_page(LogFilter(q="jira SAID")).total == 1
    assert store.live_ticket_projects() == ["OPS"]


def test_an_sqlite_too_old_for_the_stores_sql_is_one_line(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from driver.store import DatabaseFileError

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(DatabaseFileError, match=r"SQLite is 3\.34\.1, the driver needs 3\.35\.0") as refused:
        Store(db_path)
    assert "\n" not in str(refused.value)
    assert not db_path.exists()  # refused before anything was created


def test_a_guids_rows_are_read_on_either_database(open_store: OpenStore) -> None:
    """GET /api/tickets/{guid} reads them (its SQL names a SQLite index: gone on PostgreSQL)."""
    store = open_store()
    first, second, _ = store.accept([entry("g"), entry("g", "UPDATE"), entry("h")])
    rows = store.guid_rows("g")
    assert rows.open_rows == 2
    assert rows.latest is not None
    assert rows.latest.id == second.id
    assert rows.alarm is not None
    assert rows.alarm.id == second.id
    assert first.id < second.id
