"""The log, write side: intake (idempotency keys, rows accepted in one transaction, retention) and
the queue (open rows, settling a row). The log doubles as the queue: rows Pending or Deferred are
the work still to do, in id order; retention never removes them.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload, LoggedRequest, NewEntry, RequestKind, TicketRecord
from driver.store.tables import OPEN_STATUSES, Tables, by_name, columns, iso, mark_retried, to_json

TRIM_BATCH = 500
"""Most log rows one retention transaction removes (a few ms of the writer)."""


class AcceptedRow(NamedTuple):
    """A row as an idempotent batch's answer names it."""

    id: int
    guid: str
    action: str


class Remembered(NamedTuple):
    """An idempotency key's first batch: the digest of its body and the rows it made."""

    digest: str
    rows: list[AcceptedRow]


class OpenRows(NamedTuple):
    """Open rows by status."""

    pending: int
    deferred: int


_OPEN_COLUMNS = (
    "id, type, action, guid, time, status, attempts, payload, note,"
    " (EXISTS (SELECT 1 FROM transition_sends t WHERE t.log_id = log.id)"
    " OR EXISTS (SELECT 1 FROM call_sends c WHERE c.log_id = log.id)) AS journaled"
)


@dataclass(frozen=True)
class SentUpdate:
    """An automatic update request that went out Ok: its ticket and when it settled."""

    ticket_key: str
    at: datetime


def _epoch(moment: datetime | None) -> float | None:
    # kept as epoch seconds: a column the log's readers never show
    return None if moment is None else moment.timestamp()


@dataclass
class LogFilter:
    """Filters of GET /api/log."""

    status: LogStatus | None = None
    type: LogType | None = None
    guid: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100
    extra: dict[str, Any] = field(default_factory=dict)


ACCEPT_CHUNK = 500
"""Rows one INSERT of an intake carries (7 parameters each: far under SQLite's 32,766)."""


class LogTables(Tables):
    """The log and the queue (table `log`, `idempotency`)."""

    _rows: int | None
    _trim_idle: bool
    on_settle: Callable[[], None] | None

    # --- intake ---------------------------------------------------------------------------------

    def remembered(self, key: str) -> Remembered | None:
        """What an idempotency key was first accepted with, or None for a new key."""
        row = self.db.execute("SELECT body, answer FROM idempotency WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        rows = [AcceptedRow(int(i), str(g), str(a)) for i, g, a in json.loads(row[1])]
        return Remembered(str(row[0]), rows)

    def prune_idempotency(self, keep: timedelta) -> int:
        """Forget idempotency keys older than `keep`; returns how many."""
        with self.transaction():
            cursor = self.db.conn.execute(
                "DELETE FROM idempotency WHERE created_at < ?", (iso(self.clock() - keep),)
            )
            return max(0, cursor.rowcount)

    def accept(
        self,
        entries: Sequence[NewEntry],
        max_entries: int = 0,
        idempotency: tuple[str, str] | None = None,
    ) -> list[Job]:
        """Commit new log rows (status Pending) in one transaction and return them as jobs.

        idempotency: (key, body digest) recorded in the same transaction, so a batch and its key
        are committed together or not at all (sqlite3.IntegrityError when the key is taken).
        """
        now = self.clock()
        stamp = iso(now)
        jobs: list[Job] = []
        conn = self.db.conn
        with self._keeping_count():
            for first in range(0, len(entries), ACCEPT_CHUNK):
                chunk = entries[first : first + ACCEPT_CHUNK]
                values = [
                    (
                        entry.type.value,
                        entry.shown_action,
                        entry.guid,
                        stamp,
                        LogStatus.PENDING.value,
                        entry.note,
                        to_json(entry.payload.to_json()),
                    )
                    for entry in chunk
                ]
                # one statement a chunk (a 20,000-line batch is 40 statements, not 20,000: on
                # PostgreSQL each is a round trip on the event loop). RETURNING's order is not
                # promised, but ids are handed out in the order the rows are inserted: sorted, the
                # n-th is the n-th entry's.
                cursor = conn.execute(
                    "INSERT INTO log (type, action, guid, time, status, note, payload) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    + " RETURNING id",
                    [value for row in values for value in row],
                )
                ids = sorted(int(row[0]) for row in cursor.fetchall())
                jobs.extend(
                    Job(
                        id=row_id,
                        type=entry.type,
                        action=entry.action,
                        guid=entry.guid,
                        time=now,
                        status=LogStatus.PENDING,
                        attempts=0,
                        payload=entry.payload,
                        note=entry.note,
                    )
                    for row_id, entry in zip(ids, chunk, strict=True)
                )
            for job, entry in zip(jobs, entries, strict=True):
                if entry.retries is not None and not mark_retried(conn, entry.retries, job.id):
                    raise sqlite3.IntegrityError(f"log #{entry.retries} was retried meanwhile")
            if idempotency is not None:
                # as the log shows the action (`CALL NAME`): a replay answers as the first time did
                answer = [
                    [job.id, job.guid, entry.shown_action] for job, entry in zip(jobs, entries, strict=True)
                ]
                conn.execute(
                    "INSERT INTO idempotency (key, body, answer, created_at) VALUES (?, ?, ?, ?)",
                    (idempotency[0], idempotency[1], to_json(answer), stamp),
                )
            if self._rows is not None:
                self._rows += len(jobs)
            if max_entries > 0:
                # bounded: a big backlog of settled rows is left to the retention timer's batches
                self._trim(max_entries, TRIM_BATCH)
        return jobs

    @contextmanager
    def _keeping_count(self) -> Iterator[None]:
        """A transaction that changes the row count; a rollback makes the count unknown again."""
        try:
            with self.transaction():
                yield
        except BaseException:
            self._rows = None
            self._trim_idle = False
            raise

    def _row_count(self) -> int:
        if self._rows is None:
            (count,) = self.db.execute("SELECT count(*) FROM log").fetchone()
            self._rows = int(count)
        return self._rows

    def _trim(self, max_entries: int, limit: int) -> int:
        excess = self._row_count() - max_entries
        if excess <= 0 or self._trim_idle:
            return 0
        wanted = min(excess, limit)
        cursor = self.db.conn.execute(
            "DELETE FROM log WHERE id IN (SELECT id FROM log WHERE status NOT IN (?, ?) ORDER BY id LIMIT ?)",
            (*OPEN_STATUSES, wanted),
        )
        removed = max(0, cursor.rowcount)
        self._rows = self._row_count() - removed
        # fewer than asked: no settled row is left to remove until one settles
        self._trim_idle = removed < wanted
        return removed

    def trim(self, max_entries: int, limit: int = sys.maxsize) -> int:
        """Remove the oldest settled rows beyond max_entries (0: no limit); returns how many.

        limit: at most this many rows in this transaction (the retention timer trims in batches so
        the writer is never held long). Pending and Deferred rows are never removed.
        """
        if max_entries <= 0:
            return 0
        with self._keeping_count():
            return self._trim(max_entries, limit)

    def over_limit(self, max_entries: int) -> bool:
        """True when the log holds more than max_entries rows and one may be removable (0: no limit)."""
        return max_entries > 0 and not self._trim_idle and self._row_count() > max_entries

    def remove_older_than(self, days: int, limit: int = sys.maxsize) -> int:
        """Remove settled rows older than `days` days (0: keep all), at most `limit` of them, oldest
        first; returns how many."""
        if days <= 0:
            return 0
        edge = iso(self.clock() - timedelta(days=days))
        with self._keeping_count():
            cursor = self.db.conn.execute(
                "DELETE FROM log WHERE id IN (SELECT id FROM log WHERE time < ? AND status NOT IN (?, ?)"
                " ORDER BY id LIMIT ?)",
                (edge, *OPEN_STATUSES, limit),
            )
            removed = max(0, cursor.rowcount)
            if self._rows is not None:
                self._rows -= removed
            return removed

    # --- the queue ------------------------------------------------------------------------------

    def open_jobs(self, after: int = 0, through: int | None = None) -> list[Job]:
        """Every Pending and Deferred row with an id in (after, through], oldest first (through
        None: no upper bound). When each may go is planned anew by the engine (`next_attempt_at` is
        a wall time, kept for people)."""
        names = columns(_OPEN_COLUMNS)
        upper = "" if through is None else " AND id <= ?"
        bounds = (after,) if through is None else (after, through)
        rows = self.db.execute(
            f"SELECT {_OPEN_COLUMNS} FROM log WHERE status IN (?, ?) AND id > ?{upper} ORDER BY id",
            (*OPEN_STATUSES, *bounds),
        ).fetchall()
        jobs = []
        for values in rows:
            row = by_name(names, values)
            jobs.append(
                Job(
                    id=row["id"],
                    type=LogType(row["type"]),
                    # `CALL NAME`: the action is the first word
                    action=Action(row["action"].partition(" ")[0]),
                    guid=row["guid"],
                    time=datetime.fromisoformat(row["time"]),
                    status=LogStatus(row["status"]),
                    attempts=row["attempts"],
                    payload=JobPayload.from_json(row["payload"]),
                    note=row["note"],
                    transition_journaled=bool(row["journaled"]),
                )
            )
        return jobs

    def recent_updates(self, since: datetime) -> list[SentUpdate]:
        """The automatic update requests that went out Ok since then, oldest first.

        One per request: rows merged into another row's request are not counted; a repeated CREATE
        that became an update is (its kind is `update`), and so is a RESOLVE or REOPEN that made a
        transition (`transition`).
        """
        rows = self.db.execute(
            "SELECT ticket_key, settled_at FROM log"
            # `+status`: the planner would otherwise walk every Ok row by log_status, not the
            # few recent ones by log_settled.
            " WHERE settled_at >= ? AND +status = ? AND type = ? AND merged_into IS NULL"
            " AND ticket_key IS NOT NULL AND request_kind IN (?, ?, ?)"
            " ORDER BY settled_at",
            (
                iso(since),
                LogStatus.OK.value,
                LogType.AUTOMATIC.value,
                RequestKind.UPDATE.value,
                RequestKind.TRANSITION.value,
                RequestKind.CALL.value,
            ),
        ).fetchall()
        return [SentUpdate(str(key), datetime.fromisoformat(at)) for key, at in rows]

    def on_settled(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` (on the writer's thread, inside its transaction; it must not touch the
        store) whenever a row settles; None stops. The log's trimmer wakes by it."""
        self.on_settle = callback

    def _set(self, log_id: int, values: dict[str, Any]) -> None:
        columns = ", ".join(f"{key} = ?" for key in values)
        self.write_later(f"UPDATE log SET {columns} WHERE id = ?", (*values.values(), log_id))

    def note_error(self, log_id: int, error: str) -> None:
        """Show why an open row waits or failed to go out (it stays open)."""
        self._set(log_id, {"error": error})

    def retry_later(self, log_id: int, attempts: int, at: datetime | None, error: str) -> None:
        """An open row's attempt failed: its attempt count, when it goes again (None: when Jira is
        back), and why."""
        self._set(log_id, {"attempts": attempts, "next_attempt_at": _epoch(at), "error": error})

    def defer(self, log_id: int, until: datetime) -> None:
        """An open row waits for the update limit until `until` (status Deferred; its error column
        says when it goes, to the second, in UTC)."""
        when = until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        values = {"status": LogStatus.DEFERRED.value, "next_attempt_at": _epoch(until)}
        self._set(log_id, {**values, "error": f"deferred by the update limit: goes out at {when}"})

    def settle(
        self,
        log_id: int,
        status: LogStatus,
        *,
        ticket: TicketRecord | None = None,
        error: str = "",
        note: str | None = None,
        attempts: int | None = None,
        duration_ms: float | None = None,
        request: LoggedRequest | None = None,
        response: Any = None,
        merged_into: int | None = None,
    ) -> None:
        """Mark a row Ok or Failed with its outcome."""
        # A settled row is one retention may remove.
        self._trim_idle = False
        if self.on_settle is not None:
            self.on_settle()
        values: dict[str, Any] = {
            "status": status.value,
            "error": error,
            "settled_at": iso(self.clock()),
            "next_attempt_at": None,
        }
        if ticket is not None:
            values.update(
                ticket_id=ticket.ticket_id, ticket_key=ticket.ticket_key, ticket_url=ticket.ticket_url
            )
        if note is not None:
            values["note"] = note
        if attempts is not None:
            values["attempts"] = attempts
        if duration_ms is not None:
            values["duration_ms"] = duration_ms
        if request is not None:
            values["request"] = to_json(request.body)
            values["request_kind"] = request.kind.value
        if response is not None:
            values["response"] = to_json(response)
        if merged_into is not None:
            values["merged_into"] = merged_into
        self._set(log_id, values)

    def counts(self) -> OpenRows:
        """How many rows are open, by status."""
        rows = dict(
            self.db.execute(
                "SELECT status, count(*) FROM log WHERE status IN (?, ?) GROUP BY status",
                OPEN_STATUSES,
            ).fetchall()
        )
        return OpenRows(rows.get(LogStatus.PENDING.value, 0), rows.get(LogStatus.DEFERRED.value, 0))

    def failed_today(self) -> int:
        """Rows that failed since local midnight."""
        now = self.clock()
        local = now.astimezone(self.zone) if self.zone is not None else now.astimezone()
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        (count,) = self.db.execute(
            "SELECT count(*) FROM log WHERE status = ? AND settled_at >= ?",
            (LogStatus.FAILED.value, iso(midnight)),
        ).fetchone()
        return int(count)
