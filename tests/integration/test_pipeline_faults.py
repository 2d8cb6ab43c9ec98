"""Faults against PostgresConnection's kept-back BEGIN, fence and pipelines (a helper session's
attempt to break 66f1ffc and bf74150: the first three groups below failed before the mends).

Invariants: (1) a fenced write of a stale term never commits and raises LeaseLost; (2) a write that
fails late fails alone in a group, a lone write's failure commits nothing; (3) a COMMIT reported
successful committed, a failure never reads as a commit; (4) after any error (a killed session
included) the connection is usable for the next transaction; (5) reads see the writes before them,
the rowcount of an UPDATE sent last in a pipeline is right."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driver.errors import LeaseLost
from driver.sending.group_commit import GroupCommit

INSERT = "INSERT INTO stats_totals (counter, value) VALUES (?, ?)"
UPSERT = "INSERT INTO stats_totals (counter, value) VALUES (?, ?) ON CONFLICT DO NOTHING"
SLOW_INSERT = "INSERT INTO stats_totals (counter, value) SELECT ?, 1 FROM pg_sleep(0.3)"
UPDATE = "UPDATE stats_totals SET value = value + 1 WHERE counter LIKE ?"


class ChangedItsMind(Exception):
    """A writer's own error."""


@pytest.fixture
def store(pg_database: str) -> Iterator[Any]:
    from driver.store.postgres.store import PostgresStore

    s = PostgresStore(pg_database)
    yield s
    s.close()


def rows(store: Any, prefix: str) -> dict[str, int]:
    found = store.db.execute(
        "SELECT counter, value FROM stats_totals WHERE counter LIKE ? ORDER BY counter", (prefix + "%",)
    ).fetchall()
    return {str(c): int(v) for c, v in found}


def kill(store: Any) -> None:
    """pg_terminate_backend of the store's session, from another session (psycopg does not know yet)."""
    pid = store._session.pg.info.backend_pid
    with psycopg.connect(store.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 5
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the backend outlived pg_terminate_backend"
            time.sleep(0.02)


def claim(dsn: str, node: str) -> int:
    """LeaseTable.claim's statement, on a session of its own (sync: tests may run in a loop)."""
    from driver.store.postgres.lease import _CLAIM, LEASE_NAME

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(_CLAIM, {"name": LEASE_NAME, "node": node, "seconds": 30.0}).fetchone()
        assert row is not None, "another node's lease is live"
        return int(row[1])


def stale(store: Any) -> None:
    """The store fenced by node-a's term 1, while node-b holds term 2."""
    claim(store.dsn, "node-a")
    with psycopg.connect(store.dsn, autocommit=True) as conn:
        conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp()")
    assert claim(store.dsn, "node-b") == 2
    store.fence_writes("node-a", 1)


def fresh(store: Any) -> int:
    """The store fenced by the live lease of node-a."""
    term = claim(store.dsn, "node-a")
    store.fence_writes("node-a", term)
    return term


def usable(store: Any, key: str) -> None:
    """Invariant 4: nothing stuck, the next transaction (and a fenced group) commits."""
    assert not store.in_transaction()
    with store.transaction():
        store.write_later(INSERT, (key, 1))
    assert rows(store, key) == {key: 1}


# ---- (2)/(3) a value psycopg refuses to send, in a transaction sent whole (implicit) ----


@pytest.mark.parametrize("fenced", [False, True])
def test_a_lone_transaction_with_an_unsendable_value_commits_nothing(store: Any, fenced: bool) -> None:
    """A text with NUL is refused by psycopg client-side (DataError) while the pipeline is being
    queued: the statements before it are already queued and the pipeline's exit sends the Sync, which
    commits an implicit transaction. Nothing of a failed transaction may stand."""
    if fenced:
        fresh(store)

    def transaction() -> None:
        with store.transaction(begin=store.begin_fenced if fenced else None):
            store.write_later(INSERT, ("nul-a", 1))
            store.write_later("INSERT INTO settings (key, value) VALUES (?, ?)", ("nul-b", "a\x00b"))

    with pytest.raises(sqlite3.DatabaseError, match="NUL"):
        transaction()
    assert rows(store, "nul-") == {}
    usable(store, "nul-after")


async def test_a_lone_group_write_with_an_unsendable_value_commits_nothing(store: Any) -> None:
    fresh(store)
    group = GroupCommit.on(store)

    def write() -> None:
        store.write_later(INSERT, ("nulg-a", 1))
        store.write_later("INSERT INTO settings (key, value) VALUES (?, ?)", ("nulg-b", "a\x00b"))

    with pytest.raises(sqlite3.Error):
        await group.run(write)
    assert rows(store, "nulg-") == {}


async def test_an_unsendable_value_fails_alone_in_a_group(store: Any) -> None:
    fresh(store)
    group = GroupCommit.on(store)

    def bad() -> None:
        store.write_later(INSERT, ("nulm-bad", 1))
        store.write_later("INSERT INTO settings (key, value) VALUES (?, ?)", ("x", "a\x00b"))

    results = await asyncio.gather(
        group.run(lambda: store.write_later(INSERT, ("nulm-1", 1))),
        group.run(bad),
        group.run(lambda: store.write_later(INSERT, ("nulm-3", 3))),
        return_exceptions=True,
    )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], sqlite3.Error)
    assert rows(store, "nulm-") == {"nulm-1": 1, "nulm-3": 3}


# ---- (4) statements psycopg prepares inside an aborted pipeline ----


def _fail_once(
    store: Any, explicit: bool, key: str, extra: tuple[str, tuple[Any, ...]] | None = None
) -> None:
    """One transaction whose deferred write breaks a key (pipeline aborted), `extra` after it."""

    def transaction() -> None:
        with store.transaction():
            if explicit:
                with store.kept_savepoint():  # a savepoint: the transaction goes with BEGIN and COMMIT
                    pass
            # the key broken after 0.3 s: every statement is queued (and psycopg's prepare
            # recorded) before the error comes back, as when PostgreSQL is a little slow
            store.write_later(SLOW_INSERT, (key,))
            if extra is not None:
                store.write_later(*extra)

    with pytest.raises(sqlite3.IntegrityError):
        transaction()
    assert not store.in_transaction()


@pytest.mark.parametrize("explicit", [False, True], ids=["implicit", "explicit"])
def test_a_statement_prepared_in_an_aborted_pipeline_after_earlier_rollbacks(
    store: Any, explicit: bool
) -> None:
    """psycopg forgets what it prepared in an aborted pipeline only when it validates a ROLLBACK's
    answer, which it does only the first time it sees the text 'ROLLBACK' since its cache was last
    cleared. Two failures before anything is prepared again leave 'ROLLBACK' counted, not
    validated: the third failure's ROLLBACK no longer clears the statement PostgreSQL skipped."""
    store.write_later(INSERT, ("dup", 1))
    _fail_once(store, explicit, "dup")  # clears psycopg's cache (the migrations' statements)
    _fail_once(store, explicit, "dup")  # nothing prepared now: 'ROLLBACK' only counted
    for n in range(5):
        with store.transaction():
            store.write_later(UPSERT, (f"warm-{n}", n))
    _fail_once(store, explicit, "dup", (UPSERT, ("never", 1)))  # the sixth run: prepared, skipped
    assert rows(store, "never") == {}
    with store.transaction():
        store.write_later(UPSERT, ("after-1", 1))
    assert rows(store, "after-") == {"after-1": 1}


async def test_a_statement_prepared_in_a_failed_write_of_a_group_does_not_fail_the_next(store: Any) -> None:
    """Explicit transaction, late failure rolled back with ROLLBACK TO kept (its tag is ROLLBACK):
    the next write of the same group runs the statement psycopg believes prepared."""
    fresh(store)
    group = GroupCommit.on(store)
    store.write_later(INSERT, ("gdup", 1))

    def dup() -> None:
        store.write_later(SLOW_INSERT, ("gdup",))

    def upsert(key: str) -> None:
        store.write_later(UPSERT, (key, 1))

    for _ in range(2):  # 'ROLLBACK TO kept' seen once with psycopg's cache emptied
        results = await asyncio.gather(
            group.run(lambda: upsert("g-ok")), group.run(dup), return_exceptions=True
        )
        assert isinstance(results[1], sqlite3.IntegrityError)
    for n in range(3):  # with group 2's g-ok (group 1's was cleared) and g-first: 5 runs
        await group.run(partial(upsert, f"gwarm-{n}"))

    def dup_then_upsert() -> None:
        store.write_later(SLOW_INSERT, ("gdup",))
        store.write_later(UPSERT, ("gnever", 1))  # its sixth run: prepared in the aborted pipeline

    three = await asyncio.gather(
        group.run(lambda: upsert("g-first")),
        group.run(dup_then_upsert),
        group.run(lambda: upsert("g-third")),
        return_exceptions=True,
    )
    assert isinstance(three[1], sqlite3.IntegrityError)
    assert three[0] is None, three
    assert three[2] is None, three
    assert rows(store, "g-third") == {"g-third": 1}


# ---- (4) the session killed ----


def test_killed_mid_transaction_then_the_writer_raises(store: Any) -> None:
    """The session ends after the transaction's first statement went, and the writer's own error
    makes the families' ROLLBACK the first statement to meet the dead session."""

    def transaction() -> None:
        with store.transaction():
            store.setting("anything")  # BEGIN and this read go
            kill(store)
            raise RuntimeError("the writer's own error")

    with pytest.raises(RuntimeError, match="the writer's own error"):
        transaction()
    usable(store, "kill-mid-after")


async def test_killed_after_a_fence_refusal_before_the_rollback(store: Any) -> None:
    """Refused (explicit: a read), the write catches LeaseLost, the session dies, the write re-raises:
    the caller must see LeaseLost and the store must go on."""
    stale(store)
    group = GroupCommit.on(store)

    def write() -> None:
        try:
            store.setting("x")
        except LeaseLost:
            kill(store)
            raise

    with pytest.raises(LeaseLost):
        await group.run(write)
    store.fence_writes("node-b", 2)
    usable(store, "kill-refused-after")


@pytest.mark.parametrize("first", ["commit", "read", "executemany", "native", "script", "savepoint"])
def test_killed_before_the_kept_back_begin_went(store: Any, first: str) -> None:
    """The session dies between transactions; the next transaction's BEGIN waits; its first
    statement sent meets the dead session."""
    fresh(store)
    store.setting("warm")
    kill(store)
    with contextlib.suppress(sqlite3.OperationalError), store.transaction(begin=store.begin_fenced):
        store.write_later(INSERT, (f"kb-{first}", 1))
        if first == "read":
            store.setting("x")
        elif first == "executemany":
            store.db.conn.executemany(INSERT, [(f"kb-m-{first}", 1)])
        elif first == "native":
            store._session.native("SELECT %(a)s::int", {"a": 1})
        elif first == "script":
            store.intake_barrier()
        elif first == "savepoint":
            with store.transaction():
                store.write_later(INSERT, (f"kb-s-{first}", 1))
    assert not store.in_transaction()
    # it either committed whole on a new session or not at all
    got = rows(store, "kb-")
    assert got in ({}, {f"kb-{first}": 1}) or len(got) == 2
    usable(store, f"kb-after-{first}")


def test_killed_between_begin_and_commit_of_writes_only(store: Any) -> None:
    """Only kept-back writes: the COMMIT sends all of it (implicit) onto the dead session."""
    store.setting("warm")

    def transaction() -> None:
        with store.transaction():
            store.write_later(INSERT, ("kbc-1", 1))
            kill(store)

    with pytest.raises(sqlite3.OperationalError):  # psycopg learns of the end as it sends
        transaction()
    assert rows(store, "kbc-") == {}
    usable(store, "kbc-after")


def test_killed_mid_transaction_commit_fails_and_reads_as_failure(store: Any) -> None:

    def transaction() -> None:
        with store.transaction():
            store.write_later(INSERT, ("kmc-1", 1))
            store.setting("x")  # sent
            store.write_later(INSERT, ("kmc-2", 1))
            kill(store)

    with pytest.raises(sqlite3.OperationalError):
        transaction()
    assert rows(store, "kmc-") == {}
    usable(store, "kmc-after")


# ---- (1) fence refusals in every shape ----


def test_refused_with_a_nested_transaction_and_rollback_to_before_anything_went(store: Any) -> None:
    stale(store)

    def nested() -> None:
        with store.transaction():  # SAVEPOINT kept back, rolled back
            store.write_later(INSERT, ("nest-0", 1))
            raise ChangedItsMind

    def transaction() -> None:
        with store.transaction(begin=store.begin_fenced):
            with pytest.raises(ChangedItsMind):
                nested()
            with store.transaction():  # kept back again, then its writes
                store.write_later(INSERT, ("nest-1", 1))
            store.write_later(INSERT, ("nest-2", 1))

    with pytest.raises(LeaseLost):
        transaction()
    assert rows(store, "nest-") == {}
    assert not store.in_transaction()


def test_refused_with_kept_savepoints_only_rolled_back(store: Any) -> None:
    """Nothing of the transaction ever needed an answer: the COMMIT carries BEGIN, fence and
    a savepoint rolled back before it was sent."""
    stale(store)

    def kept() -> None:
        with store.kept_savepoint():
            store.write_later(INSERT, ("ksp-0", 1))
            raise ChangedItsMind

    def transaction() -> None:
        with store.transaction(begin=store.begin_fenced), pytest.raises(ChangedItsMind):
            kept()

    with pytest.raises(LeaseLost):
        transaction()
    assert rows(store, "ksp-") == {}
    assert not store.in_transaction()


@pytest.mark.parametrize("call", ["executemany", "native", "script", "read"])
def test_refused_at_the_first_statement_after_the_kept_back_begin(store: Any, call: str) -> None:
    stale(store)

    def transaction() -> None:
        with store.transaction(begin=store.begin_fenced):
            if call == "executemany":
                store.db.conn.executemany(INSERT, [("first-a", 1), ("first-b", 2)])
            elif call == "native":
                store._session.native("SELECT %(a)s::int", {"a": 1})
            elif call == "script":
                store.intake_barrier()
            else:
                store.setting("x")
            store.write_later(INSERT, ("first-c", 1))

    with pytest.raises(LeaseLost):
        transaction()
    assert rows(store, "first-") == {}
    assert not store.in_transaction()
    store.fence_writes("node-b", 2)
    usable(store, f"first-after-{call}")


async def test_a_lone_write_swallowing_the_refusal_still_commits_nothing(store: Any) -> None:
    stale(store)
    group = GroupCommit.on(store)

    def write() -> str:
        with contextlib.suppress(LeaseLost):
            store.setting("x")
        with contextlib.suppress(sqlite3.Error):
            store.db.conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", ("swallow", "1"))
        with contextlib.suppress(sqlite3.Error):
            store.write_later(INSERT, ("swallow-1", 1))
        return "done"

    with pytest.raises(LeaseLost):
        await group.run(write)
    assert rows(store, "swallow-") == {}
    assert store.setting("swallow") is None
    assert not store.in_transaction()


async def test_a_swallowing_write_in_a_group_cannot_make_the_group_commit(store: Any) -> None:
    stale(store)
    group = GroupCommit.on(store)

    def swallow_all() -> None:
        with contextlib.suppress(Exception):
            store.setting("x")
        with contextlib.suppress(Exception):
            store.write_later(INSERT, ("sg-1", 1))

    def plain() -> None:
        store.write_later(INSERT, ("sg-2", 1))

    for order in ((swallow_all, plain), (plain, swallow_all), (swallow_all,) * 2):
        results = await asyncio.gather(*(group.run(w) for w in order), return_exceptions=True)
        assert all(isinstance(r, LeaseLost) for r in results), results
    assert rows(store, "sg-") == {}


async def test_a_live_fence_with_a_failing_read_first_fails_that_write_alone(store: Any) -> None:
    fresh(store)
    group = GroupCommit.on(store)

    def bad_read() -> None:
        store.write_later(INSERT, ("br-0", 1))
        store.db.execute("SELECT no_such_column FROM stats_totals")

    results = await asyncio.gather(
        group.run(bad_read),
        group.run(lambda: store.write_later(INSERT, ("br-1", 1))),
        return_exceptions=True,
    )
    assert isinstance(results[0], sqlite3.DatabaseError), results
    assert results[1] is None, results
    assert rows(store, "br-") == {"br-1": 1}


# ---- (5) reads and rowcounts ----


@pytest.mark.parametrize("fenced", [False, True])
def test_rowcount_of_an_update_sent_last_in_a_pipeline(store: Any, fenced: bool) -> None:
    if fenced:
        fresh(store)
    for n in range(8):  # past psycopg's preparing (the sixth run)
        with store.transaction(begin=store.begin_fenced if fenced else None):
            store.write_later(INSERT, (f"rc{n}-a", 1))
            store.write_later(INSERT, (f"rc{n}-b", 1))
            cursor = store.db.conn.execute(UPDATE, (f"rc{n}-%",))
            assert cursor.rowcount == 2
            cursor = store.db.conn.execute(UPDATE, (f"rc{n}-%",))
            assert cursor.rowcount == 2
        with store.transaction(begin=store.begin_fenced if fenced else None):
            cursor = store.db.conn.execute(UPDATE, (f"rc{n}-%",))  # first after the kept-back BEGIN
            assert cursor.rowcount == 2
        assert rows(store, f"rc{n}-") == {f"rc{n}-a": 4, f"rc{n}-b": 4}


_examples = itertools.count()

op = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 4)),
    st.tuples(st.just("read"), st.just(0)),
    st.tuples(st.just("nested"), st.lists(st.integers(0, 4), max_size=3), st.booleans()),
    st.tuples(st.just("kept"), st.lists(st.integers(0, 4), max_size=3), st.booleans()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, max_size=6), end_raises=st.booleans(), fenced=st.booleans())
def test_any_transaction_ends_as_its_model(
    store: Any, ops: list[Any], end_raises: bool, fenced: bool
) -> None:
    """Writes (a key repeated breaks the primary key: the error surfaces at the next statement that
    needs an answer or the COMMIT), reads, nested transactions and kept savepoints, each maybe
    raising: the table and the reads as a model says, the session always usable after."""
    if fenced and store._fenced_by is None:
        fresh(store)
    elif not fenced:
        store.fence_writes("", None)
    prefix = f"h{next(_examples)}-"
    model: dict[str, int] = {}
    pending: dict[str, int] = {}
    failed = False

    class Own(Exception):
        pass

    def write(k: int, into: dict[str, int]) -> None:
        nonlocal failed
        key = f"{prefix}{k}"
        store.write_later(INSERT, (key, k))
        if key in into:
            failed = True  # the transaction's own writes broke: it fails at the latest at COMMIT
        into[key] = k

    try:
        with store.transaction(begin=store.begin_fenced if fenced else None):
            for o in ops:
                if failed:
                    break
                if o[0] == "write":
                    write(o[1], pending)
                elif o[0] == "read":
                    try:
                        got = rows(store, prefix)
                    except sqlite3.IntegrityError:
                        assert failed
                        raise
                    assert got == pending
                else:
                    _, keys, raises = o
                    inner = dict(pending)
                    ctx = store.transaction if o[0] == "nested" else store.kept_savepoint
                    try:
                        with ctx():
                            for k in keys:
                                key = f"{prefix}{k}"
                                store.write_later(INSERT, (key, k))
                                if key in inner:
                                    raises = True  # fails at the savepoint's end: rolled back
                                inner[key] = k
                            if (
                                raises
                                and all(f"{prefix}{k}" not in pending for k in keys)
                                and len(set(keys)) == len(keys)
                            ):
                                raise Own
                    except (Own, sqlite3.IntegrityError):
                        pass
                    else:
                        pending = inner
            if end_raises:
                raise Own
    except (Own, sqlite3.IntegrityError):
        pass
    else:
        assert not failed
        model = pending
    assert rows(store, prefix) == model
    assert not store.in_transaction()
