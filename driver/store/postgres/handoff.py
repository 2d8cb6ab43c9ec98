"""How rows a pair's standby takes reach the leader's queue (issue 22 item 2): both nodes commit
commands into one log, and only the leader's engine sends them.

PostgreSQL hands out a row's id (its identity sequence) when the row is inserted, not when its
transaction commits, so a row with a lower id can become visible after a higher one: a leader
that read "every open row above the highest id I saw" would miss it for good. The barrier closes
that gap. Every intake takes a shared advisory lock (BARRIER) as its transaction's first statement,
before its rows take ids; the leader's `watermark` takes the same lock exclusively, which waits for
every intake in progress to commit or roll back, and reads the highest id then. Every id up to that
watermark is final: an intake that starts later takes the lock after the leader's, hence ids
above it (a sequence is increasing across sessions). The leader then reads the open rows in
(last watermark, new watermark]: none is missed and none is read twice.

The lock and the read run server-side in one round trip (one simple-query string): between them,
the leader's own event loop may be inside a synchronous intake that waits for the shared lock, so
the exclusive one must never wait on the client. `lock_timeout` bounds the wait when an intake's
session hangs inside its transaction (its node stopped): the watermark is then taken later.

A NOTIFY in each intake's transaction (delivered at its commit, dropped at a rollback) wakes the
leader at once; the leader also looks on its own every few seconds, which covers notifications
sent while its listening session was down.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

KEY = 0x4A495241_0001
"""The advisory lock's key ("JIRA" and 1): one per database, shared by every node."""

CHANNEL = "jira_driver_intake"
"""The NOTIFY channel intakes wake the leader on."""

BARRIER = f"SELECT pg_advisory_xact_lock_shared({KEY}); NOTIFY {CHANNEL}"
"""First in an intake's transaction (the store's `intake_barrier`)."""

LOCK_TIMEOUT = "5s"
"""Longest the watermark waits for intakes in progress. An intake whose process stopped inside its
transaction is ended by the server sooner (driver.store.postgres.connection.IDLE_IN_TRANSACTION,
2 s); this bounds the rest (the watermark is then taken at the next look)."""

WATERMARK = (
    f"BEGIN; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SELECT pg_advisory_xact_lock({KEY});"
    " SELECT coalesce(max(id), 0) AS watermark FROM log; COMMIT"
)
"""The highest id below which every log row is final. Separate statements: in READ COMMITTED each
takes its own snapshot, so the read sees every intake the lock waited for."""

Connection = psycopg.AsyncConnection[Any]


async def watermark(conn: Connection) -> int:
    """The log's final-id watermark, read on `conn` (autocommit). Raises psycopg.Error (a lock
    wait past LOCK_TIMEOUT is psycopg.errors.LockNotAvailable), OSError when the session broke."""
    cursor = conn.cursor()
    try:
        await cursor.execute(WATERMARK.encode())  # no parameters: one simple query, many statements
    except psycopg.Error:
        # the string's own BEGIN is left open and failed (a lock wait past the timeout)
        if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.execute(b"ROLLBACK")
        raise
    found: int | None = None
    while True:
        if cursor.description is not None and cursor.description[0].name == "watermark":
            row = await cursor.fetchone()
            found = int(row[0]) if row is not None else 0
        if not cursor.nextset():
            break
    if found is None:
        raise psycopg.InterfaceError("the watermark query returned no watermark")
    return found


async def listen(conn: Connection) -> None:
    """Subscribe `conn` (autocommit) to the intakes' notifications."""
    await conn.execute(f"LISTEN {CHANNEL}".encode())
