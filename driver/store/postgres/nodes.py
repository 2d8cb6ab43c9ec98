"""The roll of the processes that use a pair's database: each node writes its lease holder's name
(its [ha] node and a nonce: driver.app.leadership.node_name) and the database's time at each
renewal, and reads who else did lately. Nothing depends on it but what the status says: the lease
alone decides who sends (driver.store.postgres.lease). It is how a third node started on the
database by mistake, or two processes given one [ha] node, are seen at all: either waits as a
standby and says nothing of itself to the others.

    driver_nodes (holder text PRIMARY KEY, seen_at timestamptz)

A node stopped cleanly takes its row out; one killed leaves it to age out: rows older than
HEARD_WITHIN are not heard, and rows an hour old are removed by the next renewal of any node.
"""

from __future__ import annotations

from typing import Any

import psycopg

CREATE = """
CREATE TABLE IF NOT EXISTS driver_nodes (
    holder text PRIMARY KEY CHECK (holder <> ''),
    seen_at timestamptz NOT NULL
)
"""

_ANSWER = """
WITH here AS (
    INSERT INTO driver_nodes (holder, seen_at) VALUES (%(node)s, clock_timestamp())
    ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at
), gone AS (
    DELETE FROM driver_nodes WHERE seen_at < clock_timestamp() - interval '1 hour'
)
SELECT holder FROM driver_nodes
WHERE holder <> %(node)s AND seen_at > clock_timestamp() - make_interval(secs => %(seconds)s)
ORDER BY holder
"""

_LEAVE = "DELETE FROM driver_nodes WHERE holder = %(node)s"

HEARD_WITHIN = 0.5
"""The part of a lease within which a node's last renewal makes it heard: a live node renews every
third of a lease, so it is always heard, and a killed one is forgotten after half a lease."""


class NodeRoll:
    """The roll, asked through one connection (autocommit: each call is its own transaction).
    Raises psycopg.Error when the database cannot answer."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def answer(self, node: str, lease_seconds: float) -> list[str]:
        """Write that `node` (a lease holder's name) is here now; the other holders heard within
        HEARD_WITHIN of a lease of `lease_seconds`, in name order."""
        seconds = lease_seconds * HEARD_WITHIN
        cursor = await self.conn.execute(_ANSWER, {"node": node, "seconds": seconds})
        return [str(holder) for (holder,) in await cursor.fetchall()]

    async def leave(self, node: str) -> None:
        """Take `node` off the roll (a clean stop)."""
        await self.conn.execute(_LEAVE, {"node": node})
