"""A node of a pair of drivers on one PostgreSQL database (issue 22): both take commands and serve
reads; only the node holding the sender's lease (driver.app.leadership) talks to Jira.

    node = PairNode(driver, dsn, LeaseTerms.of(10.0), node_name("driver-a"), lost=restart)
    driver.pair = node                      # what this node's API commits goes to node.submit
    await node.start()                      # the Elector; sending starts when this node leads
    node.status()                           # GET /api/status's `pair`
    await node.stop()                       # gives a held lease up (the other claims it next)

Both nodes read the stored settings again every renewal period (a change made through either
node's API is in force on both within seconds). Becoming the leader: the engine's writes are
fenced by the new term (a write after the lease was lost is refused by the database), the
settings are read again, the hand-off's watermark is taken (driver.store.postgres.handoff), the
open rows up to it are loaded, and the driver starts sending. From then on the rows any node
commits reach the queue by the same path, in id order, each read once: a look up to the next
watermark, woken by this node's own intake at once, by the other's NOTIFY, and every LOOK_EVERY
seconds regardless.

Losing the lease: `lost` is called, once. The engine's memory (queues, ticket records, pacing)
describes a past that another node has since moved on, so the node does not go back to standby in
place: `run` stops cleanly and starts again as a standby (driver.service.process). Meanwhile
nothing it does lands: its requests stop before they go (Engine.send_while) and its writes fail the
fence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import psycopg

from driver.app.leadership import Elector
from driver.app.roll_call import RollCall
from driver.contract.schemas import PairStatus
from driver.model.jobs import Job
from driver.model.lease import Leadership, LeaseTerms, shown
from driver.store.postgres.handoff import listen, watermark
from driver.store.postgres.sessions import close_quietly, connect_async
from driver.store.postgres.store import PostgresStore

if TYPE_CHECKING:
    from driver.app.driver import Driver

log = logging.getLogger("driver.pair")

LOOK_EVERY = 5.0
"""Seconds between the leader's own looks for rows the other node committed (a NOTIFY wakes it
sooner; this covers one sent while its listening session was down)."""

RETRY = 1.0
"""Seconds before the leader's start or a look is tried again after the database failed it."""


class PairNode:
    """One node's part in the pair: leadership, the hand-off of rows, what the status says."""

    def __init__(
        self,
        driver: Driver,
        dsn: str,
        terms: LeaseTerms,
        node: str,
        *,
        lost: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver = driver
        self.dsn = dsn
        self.elector = Elector(dsn, node, terms, clock=clock, changed=self._changed)
        self.roll_call = RollCall(dsn, lambda: self.elector.state.node, terms, clock=clock)
        self._lost = lost
        self._since = driver.clock()
        self._seen: int | None = None
        """The watermark the queue holds every row up to; None until this node leads and loaded."""
        self._looked = asyncio.Condition()
        """Notified after each look (`queued` waits on it)."""
        self._led = False
        self._gone = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def start(self) -> None:
        """Claim the lease now (a free one is taken before the API answers), then keep at it."""
        await self.elector.beat()
        self._spawn(self.elector.run(), "elector")
        self._spawn(self.roll_call.run(), "roll-call")
        self._spawn(self._follow_settings(), "settings")

    async def stop(self) -> None:
        """Stop the hand-off and the Elector; a held lease is given up, so the other node takes
        over at its next claim (within a third of the lease). The driver is stopped by its owner."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._close()
        await self.roll_call.leave()
        await self.elector.stop()

    def submit(self, jobs: list[Job]) -> None:
        """Rows this node's API committed: the leader's next look queues them (woken now here, by
        their NOTIFY elsewhere). Never straight into the queue: a row the other node committed
        earlier for the same GUID may not be queued yet, and a GUID's rows go in id order."""
        if self._seen is not None:
            self._wake.set()

    async def queued(self, log_id: int, seconds: float) -> bool:
        """Wait until the row is in this leader's queue (or settled), at most `seconds`; whether
        it got there (a standby: False at once, it queues nothing)."""
        if not self._led:
            return False
        async with self._looked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._looked.wait_for(lambda: self._seen is not None and self._seen >= log_id), seconds
                )
            return self._seen is not None and self._seen >= log_id

    def status(self) -> PairStatus:
        """This node's role, the lease's holder and term, the nodes heard on the database."""
        state = self.elector.state
        return PairStatus(
            node=shown(state.node),
            role="leader" if state.leader else "standby",
            leader=shown(state.holder),
            term=state.term,
            since=self._since,
            lease_seconds=self.elector.terms.lease_seconds,
            lease_problem=self.elector.problem,
            nodes=[shown(state.node), *map(shown, self.roll_call.roll.others)],
            nodes_problem=self.roll_call.roll.problem,
        )

    # --- leading --------------------------------------------------------------------------------

    def _changed(self, state: Leadership) -> None:
        if state.leader and not self._led:
            self._led = True
            self._since = self.driver.clock()
            self._spawn(self._lead(state.term), "lead")
        elif not state.leader and self._led and not self._gone:
            self._gone = True
            self._lost(f"this node lost the sender's lease (term {state.term})")

    async def _lead(self, term: int) -> None:
        driver = self.driver
        store = driver.store
        assert isinstance(store, PostgresStore)
        store.fence_writes(self.elector.state.node, term)
        driver.engine.send_while(self.elector.may_send)
        while True:
            try:
                driver.settings.reread()
                mark = await watermark(await self._connection())
                pending = driver.prepare(None, through=mark)
            except (psycopg.Error, OSError, sqlite3.OperationalError) as exc:
                log.warning("taking over as leader: the database failed (%s); trying again", exc)
                await self._close()
                await asyncio.sleep(RETRY)
                continue
            break
        self._seen = mark
        log.warning("leading (term %d): %d open commands to send", term, pending)
        await driver.start()
        self._spawn(self._listen(), "listen")
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), LOOK_EVERY)
            self._wake.clear()
            await self._look()

    async def _look(self) -> None:
        """Queue the rows committed up to the new watermark that are not queued yet."""
        assert self._seen is not None
        try:
            mark = await watermark(await self._connection())
            jobs = self.driver.store.open_jobs(self._seen, mark)
        except (psycopg.Error, OSError, sqlite3.OperationalError) as exc:
            log.info("looking for commands the other node took: the database failed (%s)", exc)
            await self._close()
            await asyncio.sleep(RETRY)
            self._wake.set()
            return
        self._seen = mark
        if jobs:
            self.driver.engine.submit(jobs)
        async with self._looked:
            self._looked.notify_all()

    async def _follow_settings(self) -> None:
        """Read the stored settings again every renewal period: a change made through the other
        node's API (the Ticket Creation Table, the update limit, retention, the ticket location,
        the field catalog the leader loaded) is in force here within seconds, so an Execute on
        the standby sends the table in force and the leader sends with the limit set anywhere."""
        while True:
            await asyncio.sleep(self.elector.terms.renew_every)
            with contextlib.suppress(sqlite3.OperationalError):  # the database away: next time
                self.driver.settings.reread()

    async def _listen(self) -> None:
        """Wake the look at every intake's NOTIFY, on a session of its own (reconnected)."""
        while True:
            try:
                async with await connect_async(self.dsn) as conn:
                    await listen(conn)
                    self._wake.set()  # what was committed while no session listened
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                await asyncio.sleep(RETRY)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.broken or self._conn.closed:
            self._conn = await connect_async(self.dsn)
        return self._conn

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work, name=f"pair-{name}"))
