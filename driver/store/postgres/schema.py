"""The store's schema on PostgreSQL: driver.store.migrations' steps, translated by
driver.store.dialect, each applied in one transaction with its record in `_migrations`, so a crash
mid-step leaves the previous schema whole (issue 22 item 1).

    apply(conn)   brings an empty or older database up to this driver's schema; raises SchemaTooNew
                  when the database holds a step this driver does not know (a newer driver wrote
                  it: running on would misread its tables), naming it

Two drivers starting at once on an empty database both try the first step; the second waits on the
migrations table's lock (`LOCK TABLE ... IN EXCLUSIVE MODE` at the start of each step) and then
finds the step applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg

from driver.errors import DriverError
from driver.store.dialect import to_postgresql
from driver.store.migrations import STEPS

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS _migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""

log = logging.getLogger("driver.store")


class SchemaTooNew(DriverError):
    """The database holds migration steps this driver does not have: a newer driver's schema."""

    def __init__(self, unknown: Sequence[str]) -> None:
        self.unknown = list(unknown)
        super().__init__(
            f"the database's schema is newer than this driver's (it has {', '.join(self.unknown)}):"
            " run the newer driver, or upgrade this one"
        )


class PostgresSchema:
    """A step's database on PostgreSQL: each statement in PostgreSQL's words (driver.migrations'
    Schema)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any:
        """Run one of the store's SQLite statements, translated."""
        return self.conn.execute(to_postgresql(sql, bool(parameters)), parameters or None)


def applied(conn: psycopg.Connection[Any]) -> list[str]:
    """The names of the steps applied, in the order they were."""
    conn.execute(MIGRATIONS_TABLE)
    return [str(row[0]) for row in conn.execute("SELECT name FROM _migrations ORDER BY applied_at, name")]


def apply(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply the steps this database lacks, each in its own transaction; the names applied now.
    `conn` must be in autocommit mode (each step opens its own transaction). Raises SchemaTooNew."""
    with conn.transaction():
        known = {name for name, _ in STEPS}
        before = applied(conn)
        unknown = [name for name in before if name not in known]
    if unknown:
        raise SchemaTooNew(unknown)
    done: list[str] = []
    schema = PostgresSchema(conn)
    for name, function in STEPS:
        with conn.transaction():
            conn.execute("LOCK TABLE _migrations IN EXCLUSIVE MODE")
            if conn.execute("SELECT 1 FROM _migrations WHERE name = %s", (name,)).fetchone():
                continue  # applied before, or by the other node of a pair meanwhile
            function(schema)
            conn.execute("INSERT INTO _migrations (name) VALUES (%s)", (name,))
            done.append(name)
    if before and done:  # an upgrade (a new database takes every step, unsaid)
        log.info("the PostgreSQL database upgraded: schema steps %s to %s applied", done[0], done[-1])
    return done
