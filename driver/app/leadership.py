"""Which node of a pair talks to Jira: the sender's lease claimed and renewed every
lease_seconds / 3 on its own connection to PostgreSQL, and leadership given up at the moment the
lease could be lost, even while a renewal hangs (issue 22 items 2 and 3; rules: driver.model.lease,
SQL: driver.store.postgres.lease).

    elector = Elector(dsn, node_name(), LeaseTerms(10.0))
    task = asyncio.create_task(elector.run())      # until cancelled; elector.state: Leadership
    elector.may_send()                             # before a request to Jira
    await elector.stop()                           # a clean stop hands the lease on at once

A database that cannot be reached, answers slowly or errs is a failed renewal: the leader keeps
leading only until its stop_by, the standby keeps waiting; both retry on the next beat, on a new
connection when the old one broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg

from driver.model.lease import Leadership, LeaseTerms
from driver.store.postgres.lease import LeaseTable
from driver.store.postgres.sessions import close_quietly, connect_async

log = logging.getLogger("driver.leadership")


CLAIM_AFTER = 0.05
"""Seconds after the holder's lease lapses (as last seen) that a standby claims it."""


def node_name(configured: str = "") -> str:
    """This process's name in the lease: the configured [ha] node (else host:pid) and a nonce after
    '#'. Two processes given one name by mistake, or a process and its restarted successor, are
    then two holders to the lease: one leads, and a successor takes a new term (the fence of the
    old one's writes)."""
    base = configured or f"{socket.gethostname()}:{os.getpid()}"
    return f"{base}#{secrets.token_hex(3)}"


class Elector:
    """Claims and renews the sender's lease for one node; `state` says whether it leads."""

    def __init__(
        self,
        dsn: str,
        node: str,
        terms: LeaseTerms,
        *,
        clock: Callable[[], float] = time.monotonic,
        changed: Callable[[Leadership], None] = lambda state: None,
    ) -> None:
        self.dsn = dsn
        self.terms = terms
        self.clock = clock
        self.changed = changed
        """Called with the new state whenever leadership or the holder changes."""
        self.state = Leadership(node)
        self.problem = ""
        """Why the last claim or renewal failed ('' when it worked)."""
        self._free_at: float | None = None
        """A standby's monotonic moment the holder's lease lapses unless renewed (its next claim
        goes then, not up to a renewal period later: the takeover is within the lease)."""
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._wake = asyncio.Event()

    def may_send(self) -> bool:
        """Whether this node may start a request to Jira now."""
        return self.state.may_send(self.clock())

    async def run(self) -> None:
        """Claim and renew until cancelled. Never raises for the database's failures."""
        while True:
            await self.beat()
            # a leader wakes at its stop_by too: a renewal that hangs must not keep it leading
            wait = self.terms.renew_every
            if self.state.leader:
                wait = min(wait, max(0.0, self.state.stop_by - self.clock()))
            elif self._free_at is not None:
                wait = min(wait, max(CLAIM_AFTER, self._free_at - self.clock() + CLAIM_AFTER))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def beat(self) -> Leadership:
        """One claim or renewal, bounded by the time the leader has left; the state after it."""
        sent = self.clock()
        if self.state.leader and not self.state.may_send(sent):
            # past its stop_by (the process was paused, say): a standby now, whatever it finds
            self._set(self.state.unanswered(sent), "the lease was not renewed in time")
        limit = self.terms.renew_every
        if self.state.leader:
            limit = min(limit, self.state.stop_by - sent)  # above 0: it may still send
        try:
            lease = await asyncio.wait_for(self._claim(), limit)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._drop_connection()
            self.problem = f"the database did not renew the lease ({_reason(exc)})"
            self._set(self.state.unanswered(self.clock()), self.problem)
        else:
            self.problem = ""
            self._free_at = None if lease.held_by(self.state.node) else self.clock() + lease.seconds_left
            self._set(self.state.answered(lease, sent, self.terms), "")
        return self.state

    async def stop(self) -> None:
        """Give the lease up now when this node holds it (a clean stop), and close the connection."""
        state = self.state
        if state.leader and self._conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):  # else it lapses by itself
                await LeaseTable(self._conn).release(state.node, state.term)
        self._set(Leadership(state.node, False, state.term), "stopped")
        await self._drop_connection()

    async def _claim(self) -> Any:
        if self._conn is None:
            self._conn = await connect_async(self.dsn)
            await LeaseTable(self._conn).create()
        return await LeaseTable(self._conn).claim(self.state.node, self.terms.lease_seconds)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)

    def _set(self, state: Leadership, why: str) -> None:
        before, self.state = self.state, state
        if (before.leader, before.holder, before.term) == (state.leader, state.holder, state.term):
            return
        if state.leader:
            log.warning("this node leads (term %d): it sends to Jira", state.term)
        elif before.leader:
            log.warning("this node no longer leads (term %d): %s", before.term, why or "another took over")
        self.changed(state)


def _reason(exc: BaseException) -> str:
    """The error's first line, or its kind (a timeout says nothing)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
