"""The store on PostgreSQL: the same table families as the SQLite store (driver.store.database),
on one PostgreSQL session through driver.store.postgres.connection (issue 22 item 1).

    store = PostgresStore("postgresql://driver@db.example.com/jira_driver")

The schema is the SQLite store's migration steps, applied by driver.store.postgres.schema. What
differs from SQLite: no file (no mode to keep, no identity marker beside it), a session that may end
(DatabaseUnavailable, a sqlite3.OperationalError: writers wait, then a new session is opened), and
a COMMIT whose answer is lost may have been applied (known limit, see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from functools import partial
from typing import Any, cast

import psycopg
from sqlite_utils import Database

from driver.clock import Clock, utc_now
from driver.errors import LeaseLost
from driver.store.database import Store
from driver.store.postgres.connection import DatabaseUnavailable, PostgresConnection
from driver.store.postgres.handoff import BARRIER
from driver.store.postgres.lease import FENCE, FENCE_REFUSED, LEASE_NAME, create_fence
from driver.store.postgres.schema import apply


class PostgresStore(Store):
    """Every table family of the store, on PostgreSQL."""

    shared = True

    def __init__(self, dsn: str, clock: Clock = utc_now, zone: tzinfo | None = None) -> None:
        self.dsn = dsn
        self._fenced_by: tuple[str, int] | None = None
        # `path` names what sits beside a SQLite database (the run-time secret's file): here, a
        # file named after the database, in the working directory
        super().__init__(dsn.rsplit("/", 1)[-1] or "postgresql", clock, zone)

    def _open(self) -> Database:
        """One session, the schema migrated on it and the lease's table there."""
        self._session = PostgresConnection(self.dsn)
        try:
            apply(self._session.pg)
            create_fence(self._session.pg)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"PostgreSQL: {exc}".splitlines()[0]) from exc
        return cast(Database, self._session)  # the families use it as sqlite-utils' Database

    def fence_writes(self, node: str, term: int | None) -> None:
        """From now on, fence the engine's writes by `node`'s lease of `term` (None: unfenced)."""
        self._fenced_by = None if term is None else (node, term)

    def begin_fenced(self) -> None:
        """BEGIN and the fence, kept back to go with the transaction's first statement that needs
        an answer, or with its writes and COMMIT: a group commit of one write is one round trip
        (driver.store.postgres.connection's `begin_later`). LeaseLost is raised there, and by every
        statement after it until the ROLLBACK; nothing of the transaction stands."""
        if self._fenced_by is None:
            self._session.execute("BEGIN")
            return
        node, term = self._fenced_by
        self._session.begin_later(
            FENCE, (LEASE_NAME, node, term), FENCE_REFUSED, partial(LeaseLost, node, term)
        )

    def fence(self) -> None:
        """Inside the engine's transaction: go on only while this node holds the lease of its term
        (driver.store.postgres.lease: FOR SHARE keeps a takeover waiting until it commits).
        Raises LeaseLost."""
        if self._fenced_by is None:
            return
        node, term = self._fenced_by
        self._session.check(FENCE, (LEASE_NAME, node, term), FENCE_REFUSED, partial(LeaseLost, node, term))

    def write_later(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """One write whose answer nobody reads, sent with the next statement that needs one
        (Tables.write_later)."""
        self._session.defer(sql, parameters)

    def write_many_later(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """`write_later` once per row of parameters."""
        for row in rows:
            self._session.defer(sql, row)

    def finish_writes(self) -> None:
        """Send the writes kept back (Tables.finish_writes)."""
        self._session.flush()

    def intake_barrier(self) -> None:
        """First in an intake's transaction: the shared side of the hand-off's lock, and the
        leader woken at commit (driver.store.postgres.handoff)."""
        self._session.script(BARRIER)

    def close(self) -> None:
        """Close the session."""
        self._session.close()
