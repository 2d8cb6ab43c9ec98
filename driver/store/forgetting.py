"""Forgotten GUIDs (table `forgotten_guids`): what is kept of a GUID idle for `[ticket]
forget_after_days` once its ticket record, history, Alarms row and alert notice are removed (which
GUIDs qualify: driver.model.forgetting; who removes them and when: driver.sending.forgetting).

    idle_guids(after, limit)   the Alarms table's GUIDs in the order of their last row's id, after
                               the cursor `after` (that id and the GUID), each with what decides
                               whether it may go
    forget_guids(guids)        remove them, keeping each one's highest generation and ticket key
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from driver.model.forgetting import ForgottenGuid, IdleGuid
from driver.model.jobs import TicketState
from driver.store.tables import Tables, moment_of
from driver.store.tickets import EARLIER_GENERATION

IDLE_GUIDS = (
    "SELECT a.guid, a.last_log_id, a.last_at, t.state, t.status_category,"
    " coalesce(t.deleted_at, t.resolved_at), t.deleted_at IS NOT NULL, t.generation, t.ticket_key,"
    f" {EARLIER_GENERATION.format(guid='a.guid')},"
    " EXISTS (SELECT 1 FROM log o INDEXED BY log_open WHERE o.guid = a.guid"
    " AND o.status IN ('Pending', 'Deferred')),"
    # a CALL's row is not the Alarms table's last row, but a command of the GUID all the same
    " (SELECT n.time FROM log n INDEXED BY log_guid WHERE n.guid = a.guid ORDER BY n.id DESC LIMIT 1),"
    # an alert still firing is sent again unchanged for as long as it fires: its notice must stay
    " EXISTS (SELECT 1 FROM alert_notices w WHERE w.guid = a.guid AND w.state = 'firing'),"
    " a.last_action IN ('CREATE', 'UPDATE', 'REOPEN')"
    " FROM alarms a LEFT JOIN tickets t ON t.guid = a.guid"
    # GUIDs linked before any command share last_log_id 0: the GUID breaks the tie. The
    # range on last_log_id alone is what lets SQLite start at the cursor in alarms_last (an
    # OR of the two walked the index from its start: a pass over n GUIDs read n^2 / 1,000)
    " WHERE a.last_log_id >= ? AND (a.last_log_id > ? OR a.guid > ?)"
    " ORDER BY a.last_log_id, a.guid LIMIT ?"
)
"""`idle_guids`' statement; parameters: the cursor's row id twice, its GUID, the batch's size."""


_STILL_IDLE = (
    " AND NOT EXISTS (SELECT 1 FROM log o INDEXED BY log_open WHERE o.guid = alarms.guid"
    " AND o.status IN ('Pending', 'Deferred'))"
    " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.guid = alarms.guid AND (t.state <> 'created'"
    " OR (t.deleted_at IS NULL AND coalesce(t.status_category, '') <> 'done')))"
)
"""What `forget_guids` checks again of each GUID as it deletes its Alarms row (its last row is
the one read, checked with it): nothing open, no ticket or one resolved or deleted."""


def forget_alarms(count: int) -> str:
    """The statement that deletes the Alarms rows of `count` GUIDs still as read, returning their
    GUIDs; parameters: the GUIDs, then each GUID and its last row's id. The list of GUIDs is what
    lets the database find the rows by key (the pairs alone made SQLite scan the table: a pass
    over n GUIDs read n^2 / 500 rows)."""
    return (
        f"DELETE FROM alarms WHERE guid IN ({', '.join('?' * count)})"
        f" AND (guid, last_log_id) IN (VALUES {', '.join('(?, ?)' for _ in range(count))})"
        f"{_STILL_IDLE} RETURNING guid"
    )


class ForgetTables(Tables):
    """The forgotten GUIDs."""

    def idle_guids(self, after: tuple[int, str], limit: int) -> list[IdleGuid]:
        """Up to `limit` GUIDs of the Alarms table after the cursor `after` (a last row's id and a
        GUID), in the order of their last row's id, with their ticket record's state and whether a
        row of theirs is still open."""
        rows = self.db.execute(IDLE_GUIDS, (after[0], after[0], after[1], limit)).fetchall()
        return [_idle(row) for row in rows]

    def forget_guids(self, guids: Sequence[IdleGuid]) -> list[IdleGuid]:
        """Remove these GUIDs' ticket records, history, Alarms rows and alert notices, keeping the
        highest generation and ticket key of each that had a ticket (inside the caller's
        transaction); the GUIDs removed. Their log rows are the log's retention's to remove.

        A GUID is removed only if it is still as `idle_guids` read it: the same last row, nothing
        open, no ticket or one resolved or deleted. Another node of a pair commits rows (and
        webhooks) into the same database between that read and this transaction: a GUID it gave
        a command meanwhile is kept."""
        if not guids:
            return []
        # a day, not a moment: the row is what a forgotten GUID costs, 1,000,000 of them a year
        today = self.clock().astimezone(UTC).date().isoformat()
        read = [idle.guid for idle in guids] + [v for idle in guids for v in (idle.guid, idle.last_log_id)]
        still = {str(row[0]) for row in self.db.execute(forget_alarms(len(guids)), read).fetchall()}
        gone = [idle for idle in guids if idle.guid in still]
        names = [(idle.guid,) for idle in gone]
        for table in ("tickets", "ticket_history", "alert_notices"):
            self.db.conn.executemany(f"DELETE FROM {table} WHERE guid = ?", names)
        self.db.conn.executemany(
            "INSERT INTO forgotten_guids (guid, generation, ticket_key, forgotten_on) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(guid) DO UPDATE SET generation = excluded.generation,"
            " ticket_key = excluded.ticket_key, forgotten_on = excluded.forgotten_on",
            [(idle.guid, idle.generation, idle.ticket_key, today) for idle in gone if idle.generation > 0],
        )
        return gone

    def forgotten(self, guid: str) -> ForgottenGuid | None:
        """What is kept of the GUID, if it was forgotten."""
        row = self.db.execute(
            "SELECT generation, ticket_key, forgotten_on FROM forgotten_guids WHERE guid = ?", (guid,)
        ).fetchone()
        if row is None:
            return None
        return ForgottenGuid(guid, int(row[0]), row[1], date.fromisoformat(str(row[2])))

    def forgotten_count(self) -> int:
        """How many GUIDs were forgotten (each at most once counted: a GUID that came back and was
        forgotten again is one row)."""
        return int(self.db.execute("SELECT count(*) FROM forgotten_guids").fetchone()[0])


_LONG_AGO = datetime.min.replace(tzinfo=UTC)


def _idle(row: Sequence[Any]) -> IdleGuid:
    """An IdleGuid of a row of `idle_guids`' statement."""
    (
        guid,
        last_id,
        last_at,
        state,
        category,
        ended_at,
        deleted,
        current,
        key,
        earlier,
        open_rows,
        newest,
        firing,
        active,
    ) = row
    return IdleGuid(
        guid=str(guid),
        last_log_id=int(last_id),
        # an Alarms row filled from a ticket record without times (0012's backfill) is long quiet
        last_at=moment_of(last_at) or _LONG_AGO,
        state=None if state is None else TicketState(state),
        status_category=category,
        ended_at=moment_of(ended_at),
        deleted=bool(deleted),
        generation=max(int(current or 0), int(earlier or 0)),
        ticket_key=key,
        open_rows=bool(open_rows),
        last_row_at=moment_of(newest),
        firing=bool(firing),
        alarm_active=bool(active),
    )
