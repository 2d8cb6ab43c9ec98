"""Group commit: the writes the engine's workers make within one event-loop turn go to the database
in one transaction, and each worker goes on only once that transaction has committed.

Why: with Jira tens of milliseconds away, the answers of several requests in flight land in the
same turn of the event loop, and the next creates' journal intents follow them. Committing each on
its own costs a WAL write of the same few pages (the log's newest leaf, the ticket records, the day's
statistics) once per write; one transaction writes them once. No guarantee weakens: a worker's
write is committed before its `run` returns, so a journal intent is still committed before its
POST, and an outcome before memory follows it.

Each write of a group runs in a savepoint of its own, which the COMMIT ends (not released: one
statement, not two; a write alone needs none, the transaction is all of it): one that raises is
rolled back alone and its worker gets the exception, while the others commit. Transactions nested
in a write (the recorder opens one) take no savepoint (the store's `flat`): an exception leaving
one leaves the write too, and the write's own savepoint rolls it back. A write that catches such an
exception and goes on would keep half its writes, so it is rolled back whole and fails with
CaughtInside. No write is ever run twice: writes may change memory too (a retry's pause, an
outage's notes). Savepoints cost a statement each, a round trip on PostgreSQL.
A COMMIT that fails (disk full, I/O error) fails every write of the group, and nothing of it is
committed; each worker retries as it would have alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from driver.errors import LeaseLost

if TYPE_CHECKING:
    from driver.store import Store

T = TypeVar("T")


class _Flat(Protocol):
    tainted: bool


class CaughtInside(RuntimeError):
    """A write went on after an exception left a transaction nested in it, which, flat, had no
    savepoint to roll back to: the write is rolled back whole and fails with this."""


def _no_flat() -> AbstractContextManager[Any]:
    return nullcontext(None)


@dataclass
class _Write:
    write: Callable[[], Any]
    future: asyncio.Future[Any]


@dataclass
class GroupCommit:
    """Batches writes into one transaction per event-loop turn.

    transaction: the store's transaction context (nested uses become savepoints).
    active: whether the connection is inside a transaction now (SQLite ends the whole transaction
        itself on some errors, e.g. a full disk: the writes after one must not run on their own).
    """

    transaction: Callable[[], AbstractContextManager[None]]
    active: Callable[[], bool]
    fenced: Callable[[], AbstractContextManager[None]] | None = None
    """The store's `fenced_transaction`, each group's transaction: its start is the fence, and when
    that refuses (a pair's node that lost its lease: LeaseLost) nothing of the group stands and each
    write gets the exception. On PostgreSQL the fence goes with the group's first statement that
    needs an answer, or with its writes and COMMIT (one round trip): the writes that ran before it
    answered are rolled back, as after a COMMIT that fails. Without it, `transaction`."""
    savepoint: Callable[[], AbstractContextManager[None]] | None = None
    """The store's `kept_savepoint` (one statement a write, ended by the COMMIT); without it, each
    write of a group runs in a nested `transaction` (a savepoint and its release)."""
    flat: Callable[[], AbstractContextManager[_Flat | None]] = _no_flat
    """The store's `flat`: nested transactions without savepoints, an exception through one
    marked (driver.store.tables). Without it, nested transactions keep their savepoints."""
    commits: int = 0
    """Transactions this group has committed (the benchmark prints commits per ticket)."""
    writes: int = 0
    """Writes committed through it."""
    _waiting: list[_Write] = field(default_factory=list)

    @classmethod
    def on(cls, store: Store) -> GroupCommit:
        """A group commit on the store's fenced transactions, kept savepoints and flat writes."""
        return cls(
            store.transaction,
            store.in_transaction,
            store.fenced_transaction,
            store.kept_savepoint,
            store.flat,
        )

    async def run(self, write: Callable[[], T]) -> T:
        """Run `write` (synchronous, on the event loop's thread) in this turn's shared transaction
        and return its value once that transaction has committed.

        Raises what `write` raised (nothing of it committed), or the COMMIT's sqlite3.Error (nothing
        of the group committed). A caller cancelled before the turn ends has nothing written.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)
        self._waiting.append(_Write(write, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        waiting = [w for w in waiting if not w.future.cancelled()]
        if not waiting:
            return
        try:
            results = self._commit(waiting)
        except Exception as exc:
            for item in waiting:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self.commits += 1
        for item, value, error in results:
            if item.future.done():
                continue  # cancelled meanwhile: its write stands, like a write made before a cancel
            if error is None:
                self.writes += 1
                item.future.set_result(value)
            else:
                item.future.set_exception(error)

    def _commit(self, waiting: list[_Write]) -> list[tuple[_Write, Any, BaseException | None]]:
        """The writes in one transaction; each write's exception kept as its result (its writes
        rolled back) unless it ends the whole transaction, which is raised."""
        # A write alone needs no savepoint of its own: the transaction is all of it, and its
        # failure rolls back exactly what a savepoint would have (most turns hold one write)
        alone = len(waiting) == 1
        results: list[tuple[_Write, Any, BaseException | None]] = []
        with (self.fenced or self.transaction)():
            for item in waiting:
                try:
                    # the savepoint's end may raise too (PostgreSQL sends the writes kept back
                    # there): the write has succeeded only once it is out
                    with nullcontext() if alone else (self.savepoint or self.transaction)():
                        value = self._run(item)
                    results.append((item, value, None))
                except Exception as exc:  # the writer's own: it decides what it means
                    if alone or not self.active() or isinstance(exc, LeaseLost):
                        # alone: it was all of it; else SQLite ended the transaction itself, or the
                        # fence (sent with the first write on PostgreSQL) refused all of it
                        raise
                    results.append((item, None, exc))
        return results

    def _run(self, item: _Write) -> Any:
        """One write, its nested transactions flat (no savepoints). Raises what it raised, or
        CaughtInside when it went on after an exception left one of them."""
        with self.flat() as flat:
            value = item.write()
        if flat is not None and flat.tainted:
            raise CaughtInside(
                "a write of the engine's group commit caught an exception that left a nested"
                " transaction: nothing of it is kept (a bug: such a write must let it through)"
            )
        return value
