"""The journals that make a non-idempotent request happen once: transitions (`transition_sends`),
comments (`comment_sends`), and the webhook deliveries already handled (`webhook_deliveries`); and
the one that makes a non-idempotent CALL happen at most once (`call_sends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from driver.store.tables import OPEN_STATUSES, Tables, iso


class CommentState(StrEnum):
    """Where a journaled comment stands (`comment_sends.state`)."""

    SENDING = "sending"
    """Written before its POST: the comment may or may not be on the ticket."""
    SENT = "sent"
    """On the ticket: Jira answered 201 with its id, or it was found there."""


@dataclass(frozen=True)
class TransitionIntent:
    """A transition journaled before its POST (store.transition_sends)."""

    ticket_key: str
    transition_id: str
    target: str
    """The name of the status the transition leads to."""
    intent_at: datetime
    attempt: str
    """The attempt's marker, sent with the transition as an issue property ('' for an entry written
    before markers existed: no evidence can settle it)."""


class Journals(Tables):
    """Each entry is written before its request goes out and settled after Jira answers."""

    # --- the transition journal ---------------------------------------------------------------

    def transition_intent(self, log_id: int) -> TransitionIntent | None:
        """The journaled transition of a log row, if any."""
        row = self.db.execute(
            "SELECT ticket_key, transition_id, target, intent_at, attempt FROM transition_sends"
            " WHERE log_id = ?",
            (log_id,),
        ).fetchone()
        if row is None:
            return None
        return TransitionIntent(
            str(row[0]), str(row[1]), str(row[2]), datetime.fromisoformat(row[3]), str(row[4])
        )

    def journal_transition(
        self, log_id: int, ticket_key: str, transition_id: str, target: str, attempt: str = ""
    ) -> None:
        """Commit, before the POST, that log row `log_id` moves `ticket_key` by `transition_id` to the
        status named `target`, in the attempt whose marker is `attempt` (driver.model.transitions.marker)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO transition_sends (log_id, ticket_key, transition_id, target, intent_at, attempt)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(log_id) DO UPDATE SET"
                " ticket_key = excluded.ticket_key, transition_id = excluded.transition_id,"
                " target = excluded.target, intent_at = excluded.intent_at, attempt = excluded.attempt",
                (log_id, ticket_key, transition_id, target, iso(self.clock()), attempt),
            )

    def forget_transition_in(self, log_id: int) -> None:
        """forget_transition inside the caller's transaction (a settled row)."""
        self.db.conn.execute("DELETE FROM transition_sends WHERE log_id = ?", (log_id,))

    def forget_transition(self, log_id: int) -> None:
        """The journaled transition of this row is settled (done, refused, or surely not sent)."""
        with self.transaction():
            self.db.conn.execute("DELETE FROM transition_sends WHERE log_id = ?", (log_id,))

    # --- the call journal -----------------------------------------------------------------------

    def journal_call(self, log_id: int, guid: str) -> None:
        """Record, before its request, that log row `log_id` (a CALL of a non-idempotent endpoint)
        may reach Jira; inside the caller's transaction (the engine's group commit)."""
        self.db.conn.execute(
            "INSERT INTO call_sends (log_id, guid, intent_at) VALUES (?, ?, ?)"
            " ON CONFLICT (log_id) DO UPDATE SET guid = excluded.guid, intent_at = excluded.intent_at",
            (log_id, guid, iso(self.clock())),
        )

    def forget_call_in(self, log_id: int) -> None:
        """The CALL of this row is settled, or surely did not go out; inside the caller's transaction."""
        self.db.conn.execute("DELETE FROM call_sends WHERE log_id = ?", (log_id,))

    # --- webhook deliveries -------------------------------------------------------------------

    def webhook_seen(self, identifier: str) -> bool:
        """Record a webhook delivery's identifier; False if it was recorded before (a retry)."""
        cursor = self.db.conn.execute(
            "INSERT OR IGNORE INTO webhook_deliveries (identifier, received_at) VALUES (?, ?)",
            (identifier, iso(self.clock())),
        )
        return cursor.rowcount == 1

    def prune_webhook_deliveries(self, keep: timedelta) -> int:
        """Forget delivery identifiers older than `keep`; returns how many."""
        with self.transaction():
            cursor = self.db.conn.execute(
                "DELETE FROM webhook_deliveries WHERE received_at < ?", (iso(self.clock() - keep),)
            )
            return max(0, cursor.rowcount)

    # --- the comment journal ------------------------------------------------------------------

    def comment_journal(self, log_ids: Sequence[int]) -> dict[tuple[int, int], CommentState]:
        """State of the journaled comments of these log rows, by (row, comment index)."""
        if not log_ids:
            return {}
        marks = ", ".join("?" for _ in log_ids)
        rows = self.db.execute(
            f"SELECT log_id, idx, state FROM comment_sends WHERE log_id IN ({marks})", tuple(log_ids)
        ).fetchall()
        return {(int(r[0]), int(r[1])): CommentState(r[2]) for r in rows}

    def journal_comment(self, log_id: int, idx: int, ticket_key: str) -> None:
        """Record, before the POST goes out, that comment `idx` of this row is being sent."""
        self.db.conn.execute(
            "INSERT INTO comment_sends (log_id, idx, ticket_key, state, intent_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(log_id, idx) DO UPDATE SET state = excluded.state,"
            " ticket_key = excluded.ticket_key, comment_id = NULL, intent_at = excluded.intent_at",
            (log_id, idx, ticket_key, CommentState.SENDING.value, iso(self.clock())),
        )

    def comment_sent(self, log_id: int, idx: int, ticket_key: str, comment_id: str | None) -> None:
        """Comment `idx` of this row is on the ticket (Jira's 201, or found there)."""
        self.db.conn.execute(
            "INSERT INTO comment_sends (log_id, idx, ticket_key, state, comment_id, intent_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(log_id, idx) DO UPDATE SET state = excluded.state,"
            " comment_id = excluded.comment_id",
            (log_id, idx, ticket_key, CommentState.SENT.value, comment_id, iso(self.clock())),
        )

    def forget_comment(self, log_id: int, idx: int) -> None:
        """Comment `idx` of this row is known not to be on the ticket: it may be sent afresh."""
        self.db.conn.execute("DELETE FROM comment_sends WHERE log_id = ? AND idx = ?", (log_id, idx))

    def our_comment_ids(self, ticket_key: str) -> set[str]:
        """Jira ids of the comments the driver knows it put on this ticket."""
        rows = self.db.execute(
            "SELECT comment_id FROM comment_sends WHERE ticket_key = ? AND comment_id IS NOT NULL",
            (ticket_key,),
        ).fetchall()
        return {str(r[0]) for r in rows}

    def prune_comment_journal(self, keep: timedelta) -> int:
        """Forget journaled comments of settled rows older than `keep` (and than the oldest open row).

        An in-doubt comment is matched only against comments created after its row's intake, so
        the ids of older comments are no longer needed to tell ours apart.
        """
        (oldest,) = self.db.execute(
            "SELECT min(time) FROM log WHERE status IN (?, ?)", OPEN_STATUSES
        ).fetchone()
        edge = self.clock() - keep
        if oldest is not None:
            edge = min(edge, datetime.fromisoformat(oldest) - keep)
        with self.transaction():
            cursor = self.db.conn.execute(
                "DELETE FROM comment_sends WHERE intent_at < ?"
                " AND log_id NOT IN (SELECT id FROM log WHERE status IN (?, ?))",
                (iso(edge), *OPEN_STATUSES),
            )
            return max(0, cursor.rowcount)
