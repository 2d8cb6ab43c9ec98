"""The roll call of a pair's node: every renewal period it answers the nodes' roll on the database
(driver.store.postgres.nodes) and hears who else uses it, on a session of its own, so a slow or
failing roll changes nothing of the lease (driver.app.leadership). What it hears is only said
(driver.model.lease.Roll: a third node, two processes of one [ha] node): the status, the TUI's
status line, /metrics and the log.

    calls = RollCall(dsn, lambda: elector.state.node, terms)
    task = asyncio.create_task(calls.run())       # until cancelled; calls.roll: Roll
    await calls.leave()                           # a clean stop: off the roll at once
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg

from driver.model.lease import LeaseTerms, Roll, shown
from driver.store.postgres.nodes import NodeRoll
from driver.store.postgres.sessions import close_quietly, connect_async

log = logging.getLogger("driver.leadership")


class RollCall:
    """Answers the roll for one node every renewal period; `roll` is what it last heard."""

    def __init__(
        self,
        dsn: str,
        node: Callable[[], str],
        terms: LeaseTerms,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn = dsn
        self.node = node
        """This process's lease holder's name (the Elector's: the [ha] node and a nonce)."""
        self.terms = terms
        self.clock = clock
        self.roll = Roll()
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def run(self) -> None:
        """Answer every renewal period until cancelled. Never raises for the database's failures."""
        while True:
            await self.answer()
            await asyncio.sleep(self.terms.renew_every)

    async def answer(self) -> Roll:
        """One answer, bounded by a renewal period; the roll as heard (unchanged when the database
        did not answer: the next call asks again, on a new session)."""
        try:
            others = await asyncio.wait_for(self._answer(), self.terms.renew_every)
        except (psycopg.Error, OSError, TimeoutError):
            await self._close()
            return self.roll
        before = self.roll
        self.roll = before.heard(self.node(), others, self.clock(), self.terms.lease_seconds)
        if self.roll.problem and not before.problem:
            log.error("%s", self.roll.problem)
        elif before.problem and not self.roll.problem:
            names = " and ".join(sorted([shown(self.node()), *map(shown, self.roll.others)]))
            log.warning("the pair's database is back to %s: the extra process is gone", names)
        return self.roll

    async def leave(self) -> None:
        """Off the roll now (a clean stop; else the row ages out in half a lease), and close."""
        with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
            if self._conn is not None:
                await asyncio.wait_for(NodeRoll(self._conn).leave(self.node()), self.terms.renew_every)
        await self._close()

    async def _answer(self) -> list[str]:
        if self._conn is None:
            self._conn = await connect_async(self.dsn)
        return await NodeRoll(self._conn).answer(self.node(), self.terms.lease_seconds)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)
