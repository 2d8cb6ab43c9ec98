"""Sessions of their own (autocommit) for a pair's background work: the lease, the roll call, the
hand-off's watermark and its NOTIFYs; each opened here and dropped here when it fails or the node
stops."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg

from driver.store.postgres.connection import CONNECT_TIMEOUT


async def connect_async(dsn: str) -> psycopg.AsyncConnection[Any]:
    """A session of its own (autocommit). Raises psycopg.OperationalError when PostgreSQL cannot
    be reached within CONNECT_TIMEOUT seconds."""
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


async def close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
    """Close a session being dropped (None: there is none). Its error is not raised: it is dropped
    because it failed or the node stops, and PostgreSQL ends what it held with it."""
    if conn is not None:
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()
