"""The sender's lease in PostgreSQL: one row, claimed and renewed by one statement, its expiry and
every comparison on the database's clock; and the fence a write that settles a request runs in its
own transaction (issue 22 items 2 and 3; the rules are driver.model.lease's).

    driver_lease (name text PRIMARY KEY, holder text, term bigint, expires_at timestamptz)

Why one statement: `INSERT ... ON CONFLICT DO UPDATE ... WHERE` takes the row's lock, so two nodes
claiming at once are serialised by PostgreSQL and the second sees the first's outcome (READ
COMMITTED re-evaluates the WHERE on the newest row version). Why `clock_timestamp()`: `now()` is
the transaction's start, which a long transaction would hold in the past.

Why the fence takes `FOR SHARE`: a takeover is an UPDATE of that row, so it waits until every
fenced transaction that passed the check has committed or rolled back; a write either lands
before the new term begins or is refused. Sources: docs/wire-facts.md §14 (how River and Zabbix
fence a stale leader).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from driver.errors import LeaseLost
from driver.model.lease import Lease
from driver.store.postgres import nodes

LEASE_NAME = "sender"

CREATE = """
CREATE TABLE IF NOT EXISTS driver_lease (
    name text PRIMARY KEY,
    holder text NOT NULL CHECK (holder <> ''),
    term bigint NOT NULL CHECK (term > 0),
    expires_at timestamptz NOT NULL
)
"""

_CLAIM = """
INSERT INTO driver_lease AS lease (name, holder, term, expires_at)
VALUES (%(name)s, %(node)s, 1, clock_timestamp() + make_interval(secs => %(seconds)s))
ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    term = CASE
        WHEN lease.holder = excluded.holder AND lease.expires_at > clock_timestamp() THEN lease.term
        ELSE lease.term + 1
    END,
    expires_at = clock_timestamp() + make_interval(secs => %(seconds)s)
WHERE lease.holder = excluded.holder OR lease.expires_at <= clock_timestamp()
RETURNING holder, term, expires_at, clock_timestamp()
"""
"""Renew the node's own lease (same term while it had not lapsed), or take a lapsed one (term + 1);
no row when another node's lease is live."""

_READ = "SELECT holder, term, expires_at, clock_timestamp() FROM driver_lease WHERE name = %(name)s"

_RELEASE = """
UPDATE driver_lease SET expires_at = clock_timestamp()
WHERE name = %(name)s AND holder = %(node)s AND term = %(term)s
"""

FENCE_REFUSED = "JD001"
"""The SQLSTATE `driver_fence` raises: this transaction's node does not hold the lease of its term."""

_FENCE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION driver_fence(lease_name text, node text, lease_term bigint) RETURNS void
LANGUAGE plpgsql AS $fence$
BEGIN
    PERFORM 1 FROM driver_lease
    WHERE name = lease_name AND holder = node AND term = lease_term AND expires_at > clock_timestamp()
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the sender''s lease of term % is not %''s', lease_term, node
            USING ERRCODE = '{FENCE_REFUSED}';
    END IF;
END
$fence$
"""

FENCE = "SELECT driver_fence(%s, %s, %s)"
"""The fence, the one place that says what holding the lease is: it fails its transaction (SQLSTATE
FENCE_REFUSED) rather than answering no row, so it can go in one pipeline with the writes it fences
and their COMMIT, which PostgreSQL then skips (driver.store.postgres.connection's `begin_later`).
Parameters: name, node, term."""

Connection = psycopg.AsyncConnection[Any]


_CREATE_ALL = (
    # two nodes starting at once take turns: PostgreSQL refuses two CREATE OR REPLACE of one
    # function at once ("tuple concurrently updated")
    "SELECT pg_advisory_xact_lock(hashtext('driver_fence'))",
    CREATE,
    nodes.CREATE,
    _FENCE_FUNCTION,
)


def create_fence(conn: psycopg.Connection[Any]) -> None:
    """Create the lease's table, the nodes' roll (driver.store.postgres.nodes) and `driver_fence`
    when missing, in one transaction (`conn` in
    autocommit mode). Raises psycopg.Error."""
    with conn.transaction():
        for statement in _CREATE_ALL:
            conn.execute(statement)


class LeaseTable:
    """The lease row of one database, asked through one connection (autocommit: each call is its
    own transaction). Raises psycopg.Error when the database cannot answer."""

    def __init__(self, conn: Connection, name: str = LEASE_NAME) -> None:
        self.conn = conn
        self.name = name

    async def create(self) -> None:
        """Create the table and the fence when missing (`create_fence`'s, on this connection)."""
        async with self.conn.transaction():
            for statement in _CREATE_ALL:
                await self.conn.execute(statement)

    async def claim(self, node: str, seconds: float) -> Lease:
        """Renew `node`'s lease, or take it when it has lapsed, for `seconds` of the database's
        clock; the lease as it now stands (another node's, when that one's is live)."""
        cursor = await self.conn.execute(_CLAIM, {"name": self.name, "node": node, "seconds": seconds})
        row = await cursor.fetchone()
        if row is None:
            row = await (await self.conn.execute(_READ, {"name": self.name})).fetchone()
            assert row is not None  # the row exists: the claim met it
        return _lease(row)

    async def read(self) -> Lease | None:
        """The lease as it stands, or None before any node has claimed it."""
        row = await (await self.conn.execute(_READ, {"name": self.name})).fetchone()
        return None if row is None else _lease(row)

    async def release(self, node: str, term: int) -> bool:
        """End `node`'s lease of `term` now (a clean stop: the standby need not wait it out);
        whether it still held it."""
        cursor = await self.conn.execute(_RELEASE, {"name": self.name, "node": node, "term": term})
        return cursor.rowcount == 1


async def fence(conn: Connection, node: str, term: int, name: str = LEASE_NAME) -> None:
    """Inside a write's transaction: go on only while `node` holds the lease of `term`, and keep any
    takeover waiting until this transaction ends. Raises LeaseLost otherwise."""
    try:
        await conn.execute(FENCE, (name, node, term))
    except psycopg.Error as exc:
        if exc.sqlstate == FENCE_REFUSED:
            raise LeaseLost(node, term) from exc
        raise


def _lease(row: tuple[Any, ...]) -> Lease:
    holder, term, expires_at, db_now = row
    assert isinstance(expires_at, datetime)
    assert isinstance(db_now, datetime)
    return Lease(str(holder), int(term), expires_at, db_now)
