"""The sender's lease of a pair on a real PostgreSQL (issue 22 items 2 and 3): one leader at a time,
the standby takes over once the lease lapses (or at once after a clean stop), a leader that cannot
renew stops before its lease can have expired, and a write fenced by an old term records nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import psycopg
import pytest

from driver.app.leadership import Elector, node_name
from driver.contract.schemas import LogStatus
from driver.errors import LeaseLost
from driver.model.lease import LeaseTerms
from driver.store.postgres.lease import LeaseTable, fence
from driver.store.tables import Tables
from tests.fixtures.waiting import wait_until

TERMS = LeaseTerms(lease_seconds=3.0, margin=0.5)


async def until(condition: Callable[[], Awaitable[bool]], what: str, within: float) -> float:
    """Await `condition` every 50 ms until it holds; the seconds it took. Fails naming `what`."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > within:
            pytest.fail(f"{what} within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_one_leader_and_a_standby_that_takes_over_when_the_lease_lapses(pg_database: str) -> None:
    a, b = Elector(pg_database, "node-a", TERMS), Elector(pg_database, "node-b", TERMS)
    assert (await a.beat()).leader
    state = await b.beat()
    assert (state.leader, state.holder, a.state.term) == (False, "node-a", 1)
    assert a.may_send()
    assert not b.may_send()
    # a renews: same term, still alone
    assert (await a.beat()).term == 1
    assert not (await b.beat()).leader
    # a goes silent (paused, cut off): its own clock stops it before the lease can have lapsed
    silent_at = time.monotonic()
    await until(lambda: _false(a.may_send()), "a stops sending by its stop_by", TERMS.lease_seconds)
    assert time.monotonic() - silent_at < TERMS.lease_seconds - TERMS.margin + 0.2
    b_task = asyncio.create_task(b.run())
    try:
        took = await until(lambda: _true(b.state.leader), "b takes the lapsed lease", TERMS.lease_seconds + 2)
        assert b.state.term == 2
        assert took <= TERMS.lease_seconds + TERMS.renew_every
        # a wakes: its renewal finds b's live lease, and it stays standby
        state = await a.beat()
        assert (state.leader, state.holder, state.term) == (False, "node-b", 2)
    finally:
        b_task.cancel()
        await asyncio.gather(b_task, return_exceptions=True)
        await a.stop()
        await b.stop()


async def test_a_clean_stop_hands_the_lease_on_at_once(pg_database: str) -> None:
    a, b = Elector(pg_database, node_name(), TERMS), Elector(pg_database, node_name(), TERMS)
    await a.beat()
    await b.beat()
    assert a.state.leader
    assert not b.state.leader
    await a.stop()
    state = await b.beat()
    assert state.leader
    assert state.term == 2
    await b.stop()


async def test_a_write_fenced_by_a_lost_term_records_nothing(pg_database: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
        table = LeaseTable(conn)
        await table.create()
        await conn.execute("CREATE TABLE settled (n integer)")
        first = await table.claim("node-a", 3.0)
        assert first.held_by("node-a")
        assert first.term == 1

        async def settle(node: str, term: int, n: int) -> None:
            async with conn.transaction():
                await fence(conn, node, term)
                await conn.execute("INSERT INTO settled VALUES (%s)", (n,))

        await settle("node-a", 1, 1)
        # the lease lapses and node-b takes it: term 2
        await conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp() - interval '1 second'")
        taken = await table.claim("node-b", 3.0)
        assert (taken.holder, taken.term) == ("node-b", 2)
        with pytest.raises(LeaseLost, match="term 1"):
            await settle("node-a", 1, 2)  # the zombie's write
        await settle("node-b", 2, 3)
        rows = await (await conn.execute("SELECT n FROM settled ORDER BY n")).fetchall()
        assert rows == [(1,), (3,)]


async def test_a_takeover_waits_for_a_fenced_write_in_progress(pg_database: str) -> None:
    """The fence's FOR SHARE lock: the write that passed it lands before the new term begins."""
    async with (
        await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as leader,
        await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as standby,
    ):
        await LeaseTable(leader).create()
        await LeaseTable(leader).claim("node-a", 0.5)
        order: list[str] = []
        async with leader.transaction():
            await fence(leader, "node-a", 1)  # passes: the lease is live
            await asyncio.sleep(0.7)  # the lease lapses while the write is under way
            takeover = asyncio.create_task(LeaseTable(standby).claim("node-b", 3.0))
            await asyncio.sleep(0.3)  # give the takeover every chance to overtake (it must not)
            assert not takeover.done()
            order.append("write committed")
        lease = await takeover
        order.append(f"term {lease.term} began")
        assert order == ["write committed", "term 2 began"]


async def test_an_unreachable_database_is_a_failed_renewal_not_an_error(pg_database: str) -> None:
    dead = "postgresql://driver@127.0.0.1:1/nowhere"
    elector = Elector(dead, "node-a", TERMS)
    state = await elector.beat()
    assert not state.leader
    assert not elector.may_send()
    # a leader whose database goes away keeps leading only until its stop_by
    leader = Elector(pg_database, "node-b", TERMS)
    assert (await leader.beat()).leader
    leader.dsn = dead
    await leader._drop_connection()
    assert (await leader.beat()).leader  # still within its stop_by
    await until(lambda: _false(leader.may_send()), "the leader stops by its stop_by", TERMS.lease_seconds)
    await leader.beat()
    assert not leader.state.leader


async def test_the_lease_is_set_by_the_database_clock(pg_database: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
        table = LeaseTable(conn)
        await table.create()
        lease = await table.claim("node-a", 7.5)
        row: Any = await (await conn.execute("SELECT clock_timestamp()")).fetchone()
        assert abs((lease.expires_at - row[0]).total_seconds() - 7.5) < 1.0
        assert 7.0 < lease.seconds_left <= 7.5


async def _true(value: bool) -> bool:
    return value


async def _false(value: bool) -> bool:
    return not value


@pytest.fixture
def store_backend() -> str:
    """This module's engine runs on PostgreSQL (the lease lives there)."""
    return "postgresql"


def sim_creates(sim: Any) -> int:
    import httpx

    journal = httpx.get(f"{sim.url}/_sim/journal", timeout=5).json()
    return sum(1 for e in journal if e["method"] == "POST" and e["path"].endswith("/issue"))


async def test_a_leader_that_lost_its_lease_sends_and_records_nothing_until_it_leads_again(
    engine_factory: Callable[..., Any], sim: Any
) -> None:
    from driver.store.postgres.store import PostgresStore

    h = engine_factory(sim.url)
    store = h.store
    assert isinstance(store, PostgresStore)
    dsn = h.driver.config.driver.database
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        lease = LeaseTable(conn)
        assert (await lease.claim("node-a", 30.0)).term == 1
        store.fence_writes("node-a", 1)
        await h.start()
        await h.send("Z-1|CREATE|summary;while leading|")
        await h.settle()
        assert h.statuses() == [LogStatus.OK]
        # node-b takes over (node-a paused past its lease): node-a is a zombie from here on
        await conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp()")
        assert (await lease.claim("node-b", 30.0)).term == 2
        await h.send("Z-2|CREATE|summary;after the takeover|")
        # its journal intent is fenced: the engine waits on it as on a database that refuses
        # writes, the create never leaves, and the row is not Failed
        await wait_until(
            lambda: "no longer holds the sender's lease of term 1" in h.engine.database.problem,
            "the fenced intent refused",
            10,
        )
        assert sim_creates(sim) == 1
        assert h.statuses() == [LogStatus.OK, LogStatus.PENDING]
        # node-a leads again (a new term): the row that waited goes, once
        await conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp()")
        assert (await lease.claim("node-a", 30.0)).term == 3
        store.fence_writes("node-a", 3)
        await h.settle(20)
        assert h.statuses() == [LogStatus.OK, LogStatus.OK]
        assert sim_creates(sim) == 2


@pytest.mark.parametrize("begin", ["begin-and-fence", "fence-after-begin"])
async def test_a_group_commit_of_a_stale_term_writes_nothing(pg_database: str, begin: str) -> None:
    """As the engine makes it (BEGIN and the fence kept back, sent with the write and its COMMIT),
    and with the fence as a statement of its own; a node name with a quote in it is a value, not
    SQL."""
    from driver.sending.group_commit import GroupCommit
    from driver.store.postgres.store import PostgresStore

    store = PostgresStore(pg_database)
    old, new = "node-a", "node-b's"
    try:
        async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
            await LeaseTable(conn).claim(old, 30.0)
            await conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp()")
            await LeaseTable(conn).claim(new, 30.0)
        store.fence_writes(old, 1)
        if begin == "begin-and-fence":
            group = GroupCommit.on(store)
        else:
            # the store's own fenced start before PostgreSQL's (BEGIN, then the fence alone)
            two_statements = partial(Tables.begin_fenced, store)
            group = GroupCommit(
                store.transaction, store.in_transaction, lambda: store.transaction(begin=two_statements)
            )
        with pytest.raises(LeaseLost):
            await group.run(lambda: store.put_setting("zombie", True))
        assert store.setting("zombie") is None
        assert not store.in_transaction()
        store.fence_writes(new, 1)  # the right node, a term that is not the lease's
        with pytest.raises(LeaseLost):
            await group.run(lambda: store.put_setting("zombie", True))
        assert store.setting("zombie") is None
        store.fence_writes(new, 2)
        await group.run(lambda: store.put_setting("leader", True))
        assert store.setting("leader") is True
        assert not store.in_transaction()
    finally:
        store.close()


async def test_a_stale_term_refuses_every_write_of_a_group_whatever_they_do(pg_database: str) -> None:
    """The fence goes with the group's first statement that needs an answer: every write of the
    group gets LeaseLost and nothing stands, also when a write reads (its read raises) or catches
    that and writes on; the writes after the refusal do not run; the next group of the right term
    commits."""
    from driver.sending.group_commit import GroupCommit
    from driver.store.postgres.store import PostgresStore

    store = PostgresStore(pg_database)
    ran: list[str] = []

    def writes(name: str) -> None:
        ran.append(name)
        store.put_setting(name, True)

    def reads_then_writes(name: str) -> None:
        ran.append(name)
        with pytest.raises(LeaseLost):
            store.setting("anything")
        store.put_setting(name, True)  # a write that went on: the group stays refused

    try:
        async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
            await LeaseTable(conn).claim("node-a", 30.0)
            await conn.execute("UPDATE driver_lease SET expires_at = clock_timestamp()")
            await LeaseTable(conn).claim("node-b", 30.0)
        group = GroupCommit.on(store)
        store.fence_writes("node-a", 1)
        for first in (writes, reads_then_writes):
            ran.clear()
            outcomes = await asyncio.gather(
                group.run(partial(first, "zombie-1")),
                group.run(lambda: writes("zombie-2")),
                group.run(lambda: writes("zombie-3")),
                return_exceptions=True,
            )
            assert [type(o) for o in outcomes] == [LeaseLost] * 3, outcomes
            assert ran == ["zombie-1"]  # refused with the first write: the others never ran
            assert not store.in_transaction()
            assert [store.setting(f"zombie-{n}") for n in (1, 2, 3)] == [None, None, None]
        store.fence_writes("node-b", 2)
        await asyncio.gather(group.run(lambda: writes("leader-1")), group.run(lambda: writes("leader-2")))
        assert (store.setting("leader-1"), store.setting("leader-2")) == (True, True)
    finally:
        store.close()


async def test_a_new_term_fences_on_a_session_that_ended(pg_database: str) -> None:
    """The fenced BEGIN's text is made on the session: after a restart of PostgreSQL ended it and
    a new term, the next group commit opens a new session and goes on (helper-17: it raised
    psycopg's own error, which the engine does not wait on)."""
    from driver.sending.group_commit import GroupCommit
    from driver.store.postgres.store import PostgresStore

    store = PostgresStore(pg_database)
    try:
        async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
            await LeaseTable(conn).claim("node-a", 30.0)
        group = GroupCommit.on(store)
        store.fence_writes("node-a", 1)
        await group.run(lambda: store.put_setting("first", True))
        async with await psycopg.AsyncConnection.connect(pg_database, autocommit=True) as conn:
            await conn.execute("UPDATE driver_lease SET term = 2")
        store._session.pg.close()  # as a restart of PostgreSQL ends it
        store.fence_writes("node-a", 2)
        await group.run(lambda: store.put_setting("second", True))
        assert (store.setting("first"), store.setting("second")) == (True, True)
    finally:
        store.close()


async def test_a_standby_claims_the_lease_as_it_lapses_not_a_renewal_period_later(pg_database: str) -> None:
    """Its next claim goes when the holder's lease (as last seen) lapses: the takeover after a
    leader dies is within the lease, not the lease plus up to a third of it."""
    a, b = Elector(pg_database, "node-a", TERMS), Elector(pg_database, "node-b", TERMS)
    assert (await a.beat()).leader
    renewed = time.monotonic()  # a's last renewal: then it dies
    await asyncio.sleep(TERMS.renew_every / 2)  # b's beats fall between a lapse and a period
    b_task = asyncio.create_task(b.run())
    try:
        await until(lambda: _true(b.state.leader), "b takes the lapsed lease", TERMS.lease_seconds + 2)
        assert time.monotonic() - renewed < TERMS.lease_seconds + 0.3
    finally:
        b_task.cancel()
        await asyncio.gather(b_task, return_exceptions=True)
        await a.stop()
        await b.stop()
