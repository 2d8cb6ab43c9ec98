"""The engine's group commit on a real SQLite file: one transaction per event-loop turn, each write
of a group in its own savepoint, transactions nested in a write without one (the store's `flat`);
nothing reported committed that is not, no write run twice. Most tests run with and without `flat`."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlite_utils import Database

from driver.sending.group_commit import CaughtInside, GroupCommit
from driver.store.files import connect
from driver.store.tables import Tables


def tables(path: Path) -> Tables:
    store = Tables()
    store.db = Database(connect(path))
    store.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    # a deferred foreign key fails at COMMIT, never at the INSERT: a real failing commit
    store.db.execute("CREATE TABLE child (parent INTEGER REFERENCES t(n) DEFERRABLE INITIALLY DEFERRED)")
    store.db.execute("PRAGMA foreign_keys = ON")
    return store


@pytest.fixture(params=[True, False], ids=["flat", "savepoints"])
def flat(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def group_of(store: Tables, flat: bool) -> GroupCommit:
    if flat:  # as the engine makes it (GroupCommit.on), with no fence
        return GroupCommit(
            store.transaction, store.in_transaction, savepoint=store.kept_savepoint, flat=store.flat
        )
    return GroupCommit(store.transaction, store.in_transaction)


def rows(store: Tables) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT n FROM t ORDER BY n").fetchall()]


def insert(store: Tables, n: int) -> int:
    store.db.conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
    return n


async def gather_writes(group: GroupCommit, *writes: object) -> list[object]:
    return await asyncio.gather(*(group.run(w) for w in writes), return_exceptions=True)  # type: ignore[arg-type]


def test_writes_of_one_turn_share_one_commit(tmp_path: Path, flat: bool) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)
    results = asyncio.run(gather_writes(group, *(lambda n=n: insert(store, n) for n in range(5))))
    assert results == [0, 1, 2, 3, 4]
    assert (group.commits, group.writes, rows(store)) == (1, 5, [0, 1, 2, 3, 4])


def test_a_failing_write_is_rolled_back_alone(tmp_path: Path, flat: bool) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    def half_then_fail() -> None:
        insert(store, 10)
        raise ValueError("a bug")

    results = asyncio.run(
        gather_writes(group, lambda: insert(store, 1), half_then_fail, lambda: insert(store, 2))
    )
    assert (results[0], results[2]) == (1, 2)
    assert isinstance(results[1], ValueError)
    assert rows(store) == [1, 2]


def test_a_write_whose_savepoint_fails_at_its_end_is_failed_not_done(tmp_path: Path) -> None:
    """A savepoint's end may raise (on PostgreSQL it sends the writes kept back): the write it
    held failed, rolled back to its savepoint; the others of the turn commit."""
    store = tables(tmp_path / "g.db")
    late = iter([False, True, False])

    @contextmanager
    def savepoint() -> Iterator[None]:
        with store.kept_savepoint():
            yield
            if next(late):
                raise sqlite3.IntegrityError("UNIQUE constraint failed (sent at the savepoint's end)")

    group = GroupCommit(store.transaction, store.in_transaction, savepoint=savepoint, flat=store.flat)
    results = asyncio.run(
        gather_writes(group, lambda: insert(store, 1), lambda: insert(store, 2), lambda: insert(store, 3))
    )
    assert (results[0], results[2]) == (1, 3)
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert (rows(store), group.writes) == ([1, 3], 2)


def test_a_failing_write_alone_in_its_turn_leaves_nothing_and_the_next_turn_commits(
    tmp_path: Path, flat: bool
) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    def half_then_fail() -> None:
        insert(store, 10)
        raise ValueError("a bug")

    async def two_turns() -> tuple[list[object], list[object]]:
        return await gather_writes(group, half_then_fail), await gather_writes(
            group, lambda: insert(store, 3)
        )

    failed, ok = asyncio.run(two_turns())
    assert isinstance(failed[0], ValueError)
    assert ok == [3]
    assert rows(store) == [3]
    assert not store.in_transaction()
    assert (group.commits, group.writes) == (1, 1)


def test_a_failing_commit_fails_every_write_and_keeps_none(tmp_path: Path, flat: bool) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    def orphan() -> None:
        store.db.conn.execute("INSERT INTO child (parent) VALUES (99)")

    results = asyncio.run(gather_writes(group, lambda: insert(store, 1), orphan))
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert (group.commits, rows(store)) == (0, [])
    assert not store.in_transaction()


def test_a_transaction_ended_by_sqlite_runs_no_later_write_on_its_own(tmp_path: Path, flat: bool) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    def disk_full() -> None:
        insert(store, 5)
        store.db.conn.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL
        raise sqlite3.OperationalError("database or disk is full")

    results = asyncio.run(gather_writes(group, lambda: insert(store, 1), disk_full, lambda: insert(store, 2)))
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert rows(store) == []


def test_a_write_cancelled_before_its_turn_ends_is_not_made(tmp_path: Path, flat: bool) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    async def main() -> None:
        task = asyncio.create_task(group.run(lambda: insert(store, 7)))
        kept = asyncio.create_task(group.run(lambda: insert(store, 8)))
        await asyncio.sleep(0)  # both wait for the turn's commit
        task.cancel()
        assert await kept == 8
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert rows(store) == [8]


def test_nested_transactions_roll_back_to_their_savepoint(tmp_path: Path) -> None:
    store = tables(tmp_path / "g.db")

    def inner_fails() -> None:
        with store.transaction():
            insert(store, 2)
            with store.transaction():
                insert(store, 3)
            raise ValueError("inner")

    with store.transaction():
        insert(store, 1)
        with pytest.raises(ValueError, match="inner"):
            inner_fails()
        insert(store, 4)
    assert rows(store) == [1, 4]


def statements(store: Tables) -> list[str]:
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    return seen


def nested_insert(store: Tables, n: int) -> int:
    with store.transaction():  # what the recorder does inside the group's transaction
        return insert(store, n)


def test_nested_transactions_take_no_savepoint_of_their_own(tmp_path: Path) -> None:
    """A write alone takes none; in a group each write takes one, its nested ones none."""
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat=True)
    seen = statements(store)
    assert asyncio.run(gather_writes(group, lambda: nested_insert(store, 9))) == [9]
    assert [s for s in seen if s.startswith("SAVEPOINT")] == []
    results = asyncio.run(gather_writes(group, *(lambda n=n: nested_insert(store, n) for n in range(4))))
    assert results == [0, 1, 2, 3]
    assert rows(store) == [0, 1, 2, 3, 9]
    assert len([s for s in seen if s.startswith("SAVEPOINT")]) == 4
    assert [s for s in seen if s.startswith("RELEASE")] == []  # the COMMIT ends them
    assert (group.commits, group.writes) == (2, 5)


def test_failures_between_writes_roll_back_to_each_ones_own_savepoint(tmp_path: Path, flat: bool) -> None:
    """Savepoints the COMMIT ends share one name: each rollback goes to the latest, its write's."""
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)

    def fails(n: int) -> None:
        nested_insert(store, n)
        raise ValueError(n)

    writes = [lambda n=n: nested_insert(store, n) if n % 2 else fails(n) for n in range(1, 8)]
    results = asyncio.run(gather_writes(group, *writes))
    assert [r if isinstance(r, int) else "failed" for r in results] == [
        1,
        "failed",
        3,
        "failed",
        5,
        "failed",
        7,
    ]
    assert rows(store) == [1, 3, 5, 7]
    assert not store.in_transaction()


def test_a_write_that_goes_on_after_a_nested_failure_is_rolled_back_whole(tmp_path: Path) -> None:
    """Such a write relied on the nested transaction's rollback, which, flat, has no savepoint:
    it fails (a bug to fix), nothing of it kept, and the others of its group commit."""
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat=True)

    def catches() -> str:
        insert(store, 1)
        try:
            with store.transaction():
                insert(store, 10)
                raise ValueError("inner")
        except ValueError:
            pass
        insert(store, 2)
        return "done"

    (alone,) = asyncio.run(gather_writes(group, catches))
    assert isinstance(alone, CaughtInside)
    assert rows(store) == []
    failed, ok = asyncio.run(gather_writes(group, catches, lambda: nested_insert(store, 3)))
    assert isinstance(failed, CaughtInside)
    assert ok == 3
    assert rows(store) == [3]


def test_no_write_runs_twice_when_another_of_its_group_fails(tmp_path: Path, flat: bool) -> None:
    """Writes change memory too (a retry's pause, an outage's notes on the waiting rows): a write
    run again after a rollback would find that memory changed and write less (helper-16)."""
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat)
    calls: list[int] = []

    def counted(n: int) -> int:
        calls.append(n)
        return nested_insert(store, n)

    def fails() -> None:
        calls.append(10)
        insert(store, 10)
        raise ValueError("a bug")

    results = asyncio.run(gather_writes(group, lambda: counted(1), fails, lambda: counted(2)))
    assert (results[0], results[2]) == (1, 2)
    assert isinstance(results[1], ValueError)
    assert rows(store) == [1, 2]
    assert calls == [1, 10, 2]
    assert (group.commits, group.writes) == (1, 2)


def test_a_failing_write_alone_is_not_run_twice(tmp_path: Path) -> None:
    store = tables(tmp_path / "g.db")
    group = group_of(store, flat=True)
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        nested_insert(store, 10)
        raise ValueError("a bug")

    (result,) = asyncio.run(gather_writes(group, fails))
    assert isinstance(result, ValueError)
    assert (calls, rows(store), group.commits) == ([1], [], 0)
    assert not store.in_transaction()
