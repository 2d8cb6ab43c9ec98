"""Writes whose answer nobody reads (`Tables.write_later`) on both databases: PostgreSQL keeps them
back and sends them with the next statement that needs an answer, or the COMMIT, one round trip for
several; SQLite runs them at once. Whatever is kept back, the outcome is SQLite's: a write that
fails late fails alone (its own savepoint rolled back, never a later write's), a transaction whose
write failed commits nothing and says so, a read sees the writes before it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driver.sending.group_commit import GroupCommit
from driver.store import Store
from tests.fixtures.stores import OpenStore

INSERT = "INSERT INTO stats_totals (counter, value) VALUES (?, ?)"
"""A plain INSERT: a counter written twice breaks the table's primary key, a late IntegrityError."""

_examples = itertools.count()


def inserted(store: Store, prefix: str) -> dict[str, int]:
    rows = store.db.execute(
        "SELECT counter, value FROM stats_totals WHERE counter LIKE ? ORDER BY counter", (prefix + "%",)
    ).fetchall()
    return {str(counter): int(value) for counter, value in rows}


def write_keys(store: Store, prefix: str, keys: list[int]) -> int:
    """One write of the engine's kind: only writes kept back, each key as a counter."""
    for key in keys:
        store.write_later(INSERT, (f"{prefix}{key}", key))
    return len(keys)


async def run_together(group: GroupCommit, *writes: Any) -> list[Any]:
    return await asyncio.gather(*(group.run(w) for w in writes), return_exceptions=True)


async def test_a_write_that_fails_late_fails_alone(open_store: OpenStore) -> None:
    """Three writes in one turn: the middle one's second insert breaks the key. The writes before
    and after it commit; nothing of it does."""
    store = open_store()
    group = GroupCommit.on(store)
    results = await run_together(
        group,
        lambda: write_keys(store, "late-", [1, 2]),
        lambda: write_keys(store, "late-", [3, 3]),
        lambda: write_keys(store, "late-", [4]),
    )
    assert (results[0], results[2]) == (2, 1)
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert inserted(store, "late-") == {"late-1": 1, "late-2": 2, "late-4": 4}
    assert group.commits == 1
    assert not store.in_transaction()


async def test_a_lone_write_that_fails_late_commits_nothing(open_store: OpenStore) -> None:
    store = open_store()
    group = GroupCommit.on(store)
    with pytest.raises(sqlite3.IntegrityError):
        await group.run(lambda: write_keys(store, "lone-", [1, 2, 1]))
    assert inserted(store, "lone-") == {}
    assert not store.in_transaction()
    # the session goes on: the next write commits
    assert await group.run(lambda: write_keys(store, "lone-", [5])) == 1
    assert inserted(store, "lone-") == {"lone-5": 5}


def test_a_read_sees_the_writes_kept_back_before_it(open_store: OpenStore) -> None:
    store = open_store()
    with store.transaction():
        store.write_later(INSERT, ("read-1", 7))
        assert inserted(store, "read-") == {"read-1": 7}
        store.write_later("UPDATE stats_totals SET value = ? WHERE counter = ?", (8, "read-1"))
    assert inserted(store, "read-") == {"read-1": 8}


def test_a_rolled_back_transaction_sends_nothing_it_kept_back(open_store: OpenStore) -> None:
    store = open_store()

    def change_of_mind(prefix: str) -> None:
        with store.transaction():  # nested: a savepoint
            store.write_later(INSERT, (f"{prefix}1", 1))
            raise RuntimeError("the writer changed its mind")

    with pytest.raises(RuntimeError):
        change_of_mind("gone-")
    with store.transaction():
        store.write_later(INSERT, ("kept-1", 1))
        with pytest.raises(RuntimeError):
            change_of_mind("gone-again-")
    assert inserted(store, "gone-") == {}
    assert inserted(store, "kept-") == {"kept-1": 1}


def test_outside_a_transaction_a_write_goes_at_once(open_store: OpenStore) -> None:
    store = open_store()
    store.write_later(INSERT, ("now-1", 1))
    assert inserted(store, "now-") == {"now-1": 1}
    with pytest.raises(sqlite3.IntegrityError):
        store.write_later(INSERT, ("now-1", 1))


def test_values_kept_back_are_quoted_not_run(open_store: OpenStore) -> None:
    """Kept-back writes carry their values quoted in (psycopg's ClientCursor): text that looks like
    SQL, a percent sign, a question mark and quotes arrive as written."""
    store = open_store()
    tricky = 'x\'); DROP TABLE log; -- 100% ? "q" \\ ü'
    with store.transaction():
        store.write_later("INSERT INTO settings (key, value) VALUES (?, ?)", ("tricky", tricky))
    row = store.db.execute("SELECT value FROM settings WHERE key = ?", ("tricky",)).fetchone()
    assert row[0] == tricky
    assert store.db.execute("SELECT count(*) FROM log").fetchone()[0] == 0


class ChangedItsMind(Exception):
    """A writer's own error after its writes (nothing of them may stay)."""


def write_or_raise(store: Store, prefix: str, keys: list[int], raises: bool) -> int:
    count = write_keys(store, prefix, keys)
    if raises:
        raise ChangedItsMind(prefix)
    return count


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=4), st.booleans()), min_size=1, max_size=5))
def test_one_turn_of_writes_ends_as_sqlite_would_run_it(
    open_store: OpenStore, writes: list[tuple[list[int], bool]]
) -> None:
    """Any turn of writes (a write fails when it repeats a key, its own or an earlier committed
    write's, or raises after its writes): each write's result and what the table holds after are
    the model's, on both databases. Every write's savepoint has one name: a rollback to a
    savepoint that never reached PostgreSQL must not undo the write before it."""
    store = open_store()
    prefix = f"p{next(_examples)}-"
    expected: dict[str, int] = {}
    outcomes: list[bool] = []
    for keys, raises in writes:
        names = [f"{prefix}{k}" for k in keys]
        ok = not raises and len(set(names)) == len(names) and not set(names) & expected.keys()
        outcomes.append(ok)
        if ok:
            expected.update(zip(names, keys, strict=True))
    group = GroupCommit.on(store)
    results = asyncio.run(
        run_together(group, *(lambda w=w: write_or_raise(store, prefix, w[0], w[1]) for w in writes))
    )
    if len(writes) == 1 and not outcomes[0]:
        assert isinstance(results[0], (sqlite3.IntegrityError, ChangedItsMind))
    else:
        assert [not isinstance(r, BaseException) for r in results] == outcomes
    assert inserted(store, prefix) == expected
    assert not store.in_transaction()


@pytest.fixture
def sent(pg_store: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """What the PostgreSQL store sends from now on: each statement, and whether in a pipeline."""
    pg = pg_store._session.pg
    statements: list[tuple[str, bool]] = []
    real_execute = pg.execute

    def execute(query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append((str(query), pg._pipeline is not None))
        return real_execute(query, *args, **kwargs)

    monkeypatch.setattr(pg, "execute", execute)
    return statements


@pytest.fixture
def pg_store(pg_database: str) -> Any:
    from driver.store.postgres.store import PostgresStore

    store = PostgresStore(pg_database)
    yield store
    store.close()


def test_writes_kept_back_go_with_the_commit_in_one_pipeline(
    pg_store: Any, sent: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg's pipeline: the statements go without waiting for each answer, one sync at its end
    (one round trip), each still a prepared statement once it repeats. A transaction sent whole
    needs no BEGIN and COMMIT: PostgreSQL commits at the Sync what ran since the one before."""
    pipelines: list[object] = []
    real_pipeline = pg_store._session.pg.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(object())
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(pg_store._session.pg, "pipeline", pipeline)
    with pg_store.transaction():
        for n in range(6):
            pg_store.write_later(INSERT, (f"trip-{n}", n))
    assert all(piped for _, piped in sent)
    assert (len(sent), len(pipelines)) == (6, 1)
    assert len(inserted(pg_store, "trip-")) == 6


def test_a_transaction_sent_whole_that_fails_commits_nothing_and_leaves_the_session_sound(
    pg_store: Any,
) -> None:
    """A write failing in a transaction sent as one pipeline (no BEGIN): nothing of it stands, the
    session is idle, and the statements psycopg was preparing in it (a statement's sixth run) are
    not taken for prepared afterwards (PostgreSQL skipped them: "prepared statement does not
    exist" was the next run's error)."""
    statement = "INSERT INTO stats_totals (counter, value) VALUES (?, ?) ON CONFLICT DO NOTHING"
    for n in range(5):
        with pg_store.transaction():
            pg_store.write_later(statement, (f"warm-{n}", n))

    def fails() -> None:
        with pg_store.transaction():
            pg_store.write_later(INSERT, ("twice", 1))
            pg_store.write_later(INSERT, ("twice", 1))
            pg_store.write_later(statement, ("never", 1))  # its sixth run: psycopg prepares it here

    with pytest.raises(sqlite3.IntegrityError):
        fails()
    assert not pg_store.in_transaction()
    assert inserted(pg_store, "twice") == {}
    assert inserted(pg_store, "never") == {}
    for n in range(3):
        with pg_store.transaction():
            pg_store.write_later(statement, (f"after-{n}", n))
    assert len(inserted(pg_store, "after-")) == 3


def test_a_commit_answered_rollback_raises(pg_store: Any) -> None:
    """PostgreSQL answers the COMMIT of a failed transaction with ROLLBACK and no error: the store
    raises, so a caller that swallowed the failure inside can never take the COMMIT for a commit."""

    def swallow_a_failure() -> None:
        with pg_store.transaction():
            pg_store.db.conn.execute(INSERT, ("swallowed-1", 1))
            with contextlib.suppress(sqlite3.IntegrityError):
                pg_store.db.conn.execute(INSERT, ("swallowed-1", 1))

    with pytest.raises(sqlite3.DatabaseError, match="rolled it back"):
        swallow_a_failure()
    assert inserted(pg_store, "swallowed-") == {}
    assert not pg_store.in_transaction()


def test_savepoints_go_with_the_writes_they_hold(pg_store: Any, sent: list[tuple[str, bool]]) -> None:
    """A savepoint opened with nothing waiting goes first in its writes' pipeline; one rolled back
    before it was sent costs no round trip and undoes nothing before it (the engine names every
    write's savepoint alike)."""

    def kept_write(key: str, raises: bool = False) -> None:
        with pg_store.kept_savepoint():
            pg_store.write_later(INSERT, (key, 1))
            if raises:
                raise ChangedItsMind(key)

    with pg_store.transaction():
        kept_write("sp-1")
        with pytest.raises(ChangedItsMind):
            kept_write("sp-2", raises=True)
        kept_write("sp-3")
    assert [query for query, piped in sent if not piped] == ["COMMIT"]
    assert [query for query, piped in sent if piped][0] == "BEGIN"
    assert [query for query, piped in sent if piped].count("SAVEPOINT kept") == 2
    assert not any(query.startswith("ROLLBACK") for query, _ in sent)
    assert inserted(pg_store, "sp-") == {"sp-1": 1, "sp-3": 1}


async def test_a_fenced_group_of_one_write_is_one_round_trip(
    pg_store: Any, sent: list[tuple[str, bool]]
) -> None:
    """The fence and the writes go in one pipeline, an implicit transaction (no BEGIN, no COMMIT):
    a leader's outcome or journal intent alone in its turn (the common case) waits on PostgreSQL
    once."""
    import psycopg

    from driver.store.postgres.lease import LeaseTable

    async with await psycopg.AsyncConnection.connect(pg_store.dsn, autocommit=True) as conn:
        term = (await LeaseTable(conn).claim("node-a", 30.0)).term
    pg_store.fence_writes("node-a", term)
    await GroupCommit.on(pg_store).run(lambda: write_keys(pg_store, "fenced-", [1, 2]))
    assert "driver_fence" in sent[0][0]
    assert len(sent) == 3
    assert all(piped for _, piped in sent)
    assert inserted(pg_store, "fenced-") == {"fenced-1": 1, "fenced-2": 2}
