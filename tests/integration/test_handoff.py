"""Rows a pair's standby takes reach the leader (driver.store.postgres.handoff), on a real
PostgreSQL: the watermark waits for intakes in progress, so a row whose id was taken before a
higher one committed is never skipped, and no row is read twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import psycopg
import pytest

from driver.contract.schemas import LogType
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store.postgres.connection import DatabaseUnavailable
from driver.store.postgres.handoff import listen, watermark
from driver.store.postgres.store import PostgresStore


def entry(guid: str, action: str = "CREATE") -> NewEntry:
    return NewEntry(
        LogType.AUTOMATIC, Action(action), guid, JobPayload(text=f"{guid}|{action}|summary;{guid}|")
    )


async def connect(dsn: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True)


async def test_a_lower_id_committed_after_a_higher_one_is_not_skipped(pg_database: str) -> None:
    slow, fast = PostgresStore(pg_database), PostgresStore(pg_database)
    leader = await connect(pg_database)
    try:
        assert await watermark(leader) == 0
        with slow.transaction():
            low = slow.accept([entry("slow")])[0].id  # its id is taken; not yet committed
            high = fast.accept([entry("fast")])[0].id  # committed
            assert low < high
            waiting = asyncio.create_task(watermark(leader))
            await asyncio.sleep(0.3)
            # the watermark waits for the intake in progress: reading up to `high` now would
            # skip `low` for good
            assert not waiting.done()
        mark = await waiting
        assert mark == high
        assert [job.guid for job in fast.open_jobs(0, mark)] == ["slow", "fast"]
        later = fast.accept([entry("later")])[0].id
        assert later > mark
        assert [job.guid for job in fast.open_jobs(mark, await watermark(leader))] == ["later"]
    finally:
        await leader.close()
        slow.close()
        fast.close()


async def test_an_intake_hung_in_its_transaction_delays_the_watermark_a_bounded_time(
    pg_database: str,
) -> None:
    """A node stopped inside an intake (SIGSTOP, a frozen VM) holds the shared lock: the server
    ends its idle session after 2 s, its rows are rolled back, and the watermark goes on."""
    hung = PostgresStore(pg_database)
    leader = await connect(pg_database)
    waited: list[float] = []

    async def intake_that_hangs() -> int:
        with hung.transaction():
            hung.accept([entry("hung")])
            began = time.monotonic()
            mark = await watermark(leader)
            waited.append(time.monotonic() - began)
            return mark

    try:
        with pytest.raises(DatabaseUnavailable, match="idle-in-transaction"):
            await intake_that_hangs()
        assert 1.5 <= waited[0] < 4.5
        assert await watermark(leader) == 0  # the hung row never committed
        assert hung.open_jobs() == []  # the store reconnects
        assert [job.guid for job in hung.accept([entry("next")])] == ["next"]
    finally:
        await leader.close()
        hung.close()


async def test_an_intake_wakes_the_listener_at_commit_and_not_at_rollback(pg_database: str) -> None:
    store = PostgresStore(pg_database)
    leader = await connect(pg_database)
    try:
        await listen(leader)
        with contextlib.suppress(RuntimeError), store.transaction():
            store.accept([entry("undone")])
            raise RuntimeError("rolled back")
        assert store.open_jobs() == []
        heard = [n async for n in leader.notifies(timeout=0.3)]
        assert heard == []
        store.accept([entry("done")])
        heard = [n async for n in leader.notifies(timeout=2.0, stop_after=1)]
        assert [n.channel for n in heard] == ["jira_driver_intake"]
    finally:
        await leader.close()
        store.close()
