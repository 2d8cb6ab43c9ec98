"""Group commit: the writes the engine's workers make within one event-loop turn go to the database
in one transaction, and each worker goes on only once that transaction has committed.

Why: with Jira tens of milliseconds away, the answers of several requests in flight land in the
same turn of the event loop, and the next creates' journal intents follow them. Committing each on
its own costs a WAL write of the same few pages (the log's newest leaf, the ticket records, the day's
statistics) once per write; one transaction writes them once. No guarantee weakens: a worker's
write is committed before its `run` returns, so a journal intent is still committed before its
POST, and an outcome before memory follows it.

The writes first run one after the other with no savepoint (the store's `flat`): a savepoint and its
release are two statements a write, two round trips on PostgreSQL, spent against a failure that
almost never comes. When a write raises (or an exception left a transaction nested inside one), the
whole transaction is rolled back and the group runs again with a savepoint for each write: the one
that raises is rolled back alone and its worker gets the exception, while the others commit. A
write may therefore run twice, the first time rolled back; writes change only the database (what
memory does is returned, to run after the commit), as they must anyway for a COMMIT that fails.
A COMMIT that fails (disk full, I/O error) fails every write of the group, and nothing of it is
committed; each worker retries as it would have alone (it is not run again here: on PostgreSQL a
COMMIT whose answer was lost may have been applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class _Flat(Protocol):
    tainted: bool


class _Redo(Exception):
    """The flat attempt saw an exception: roll it back and run the group with savepoints."""


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
    fence: Callable[[], None] = lambda: None
    """Run first in each transaction (the store's fence): when it raises, no write of the group
    runs and each gets its exception (a pair's node that lost its lease: LeaseLost)."""
    flat: Callable[[], AbstractContextManager[_Flat | None]] = _no_flat
    """The store's `flat`: nested transactions without savepoints, an exception through one
    marked (driver.store.tables). Without it, the first attempt's nested transactions keep theirs."""
    commits: int = 0
    """Transactions this group has committed (the benchmark prints commits per ticket)."""
    writes: int = 0
    """Writes committed through it."""
    redone: int = 0
    """Groups run again with savepoints after the first attempt saw an exception."""
    _waiting: list[_Write] = field(default_factory=list)

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
            try:
                results = self._flat_attempt(waiting)
            except _Redo:
                self.redone += 1
                results = self._careful_attempt(waiting)
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

    def _flat_attempt(self, waiting: list[_Write]) -> list[tuple[_Write, Any, BaseException | None]]:
        """Every write in one transaction, no savepoints. Raises _Redo (rolled back) when a write
        raised or left a nested transaction by an exception, unless it was alone: a write alone is
        the whole transaction, and its exception, everything rolled back, is its answer."""
        alone = len(waiting) == 1
        with self.transaction():
            self.fence()
            with self.flat() as flat:
                values: list[Any] = []
                for item in waiting:
                    try:
                        values.append(item.write())
                    except Exception as exc:  # the writer's own: it decides what it means
                        if alone:
                            raise
                        raise _Redo from exc
            if flat is not None and flat.tainted:
                raise _Redo
        return [(item, value, None) for item, value in zip(waiting, values, strict=True)]

    def _careful_attempt(self, waiting: list[_Write]) -> list[tuple[_Write, Any, BaseException | None]]:
        """Every write in one transaction, each in a savepoint of its own: one that raises is rolled
        back alone and keeps its exception. Raises what ends the whole transaction."""
        results: list[tuple[_Write, Any, BaseException | None]] = []
        with self.transaction():
            self.fence()
            for item in waiting:
                try:
                    with self.transaction():
                        results.append((item, item.write(), None))
                except Exception as exc:  # the writer's own: it decides what it means
                    if not self.active():
                        raise  # SQLite ended the transaction itself: the later writes must not run alone
                    results.append((item, None, exc))
        return results
