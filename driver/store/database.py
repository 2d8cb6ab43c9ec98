"""The driver's SQLite store: intake, the queue, the create/update log, tickets by GUID, settings
and daily statistics.

One Store owns the one write connection (WAL, synchronous=NORMAL: a commit is durable against a
process crash, which is what kill -9 tests; an OS crash may lose the last few hundred ms). Every
write runs in a transaction; the engine groups its writes with `with store.transaction():` so one
wake-up costs one commit. All calls happen on the event loop thread: a commit in WAL mode without
fsync takes microseconds, far less than a thread hop.

The log doubles as the queue: rows with status Pending or Deferred are the work still to do, in
id order. Retention never removes them.

Ticket states (table `tickets`, one row per GUID):
    creating   the intent to create is journaled; the request may or may not have gone out
    in_doubt   a create went out and its outcome is unknown; a JQL probe settles it
    created    Jira answered 201 (or a probe found the stamped ticket)

On disk: the database and its -wal/-shm files hold credentials set at run time, so a new database
is created 0600 (SQLite gives its -wal/-shm the database file's mode) and wider modes found on
existing files are tightened with a warning. A file that is not SQLite or is corrupt raises
DatabaseFileError (one line naming the file and what to do), never a raw sqlite3 error.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from driver.clock import Clock, utc_now
from driver.contract.schemas import LogEntry, LogPage, LogStatus, LogType, Statistics, StatsReset
from driver.errors import DriverError
from driver.model.alarm_state import GuidRows, RowFacts
from driver.model.commands import Action
from driver.model.jobs import HistoryEntry, Job, JobPayload, NewEntry, TicketRecord
from driver.model.statistics import day_of, reset_plan, summarize
from driver.store import migrations

if TYPE_CHECKING:
    from driver.model.creation_table import TicketTable
    from driver.model.fields import FieldCatalog

log = logging.getLogger("driver.store")

OPEN_STATUSES = (LogStatus.PENDING.value, LogStatus.DEFERRED.value)

# Settings keys.
S_TICKET_TABLE = "ticket_table"
S_CATALOG = "catalog"
S_UPDATE = "update"
S_LOG = "log"
S_TICKET_LOCATION = "ticket_location"
S_AUTH = "auth"


def iso(moment: datetime) -> str:
    """A UTC ISO 8601 text that sorts like the moment it names."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DatabaseIdentity:
    """Who a database is: its random id (hex), and the id of the database it replaced, if any."""

    id: str
    replaces: str | None = None
    born_at: datetime | None = None
    """When this database was born (first start, found without its marker, `run --init`); None:
    before migration 0008, i.e. long ago."""


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


def _moment(value: Any) -> datetime | None:
    """A time stored by `iso`, or None for NULL or ''."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


RESTORE_HINT = (
    "stop the driver and restore it from a backup (docs/operations.md, 'State, backups and upgrades'),"
    " or move it away and start once with `jira-driver run --init` to begin an empty one"
)
FILE_MODE = 0o600
"""The mode of the database and its -wal/-shm files: they hold credentials set at run time."""
TRIM_BATCH = 500
"""Most log rows one retention transaction removes (a few ms of the writer)."""
# SQLITE_CORRUPT and SQLITE_NOTADB (primary result codes, https://sqlite.org/rescode.html)
_CORRUPT_CODES = (11, 26)


class DatabaseFileError(DriverError):
    """The database file cannot be used as it is; the message is one line for the operator.

    path is the file, problem what is wrong with it, remedy what to do (restore, --init).
    """

    def __init__(self, path: Path, problem: str, remedy: str = RESTORE_HINT) -> None:
        self.path = path
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"database {path}: {problem}; {remedy}")


def is_corrupt(exc: sqlite3.Error) -> bool:
    """True for "file is not a database" and "database disk image is malformed" (not for locks)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc)
    return "not a database" in text or "malformed" in text


def corrupt_error(path: Path, exc: sqlite3.Error) -> DatabaseFileError:
    """The one-line error for a database SQLite refuses as corrupt."""
    reason = str(exc)
    shown = reason if "corrupt" in reason or "not a database" in reason else f"corrupt: {reason}"
    return DatabaseFileError(path, f"not a usable SQLite database ({shown})")


def database_files(path: Path) -> tuple[Path, Path, Path]:
    """The database file and its WAL and shared-memory files."""
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def tighten_modes(path: Path) -> list[Path]:
    """chmod 0600 the database and its -wal/-shm files where group or others may read them.

    Returns the files changed (each also logged as a warning). Raises OSError if one cannot be changed.
    """
    changed: list[Path] = []
    for file in database_files(path):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning(
                "%s was readable or writable by others (mode %03o): changed to 600 (it may hold credentials)",
                file,
                mode,
            )
            file.chmod(FILE_MODE)
            changed.append(file)
    return changed


def _create_private(path: Path) -> None:
    """Create an empty database file 0600 unless it exists (an empty file is an empty database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: the store is only used from the event loop thread, but uvicorn
    # and tests may build it on another thread before the loop starts.
    conn = sqlite3.connect(str(path), check_same_thread=False)
    # Autocommit outside explicit transactions: a lone write must never sit in an implicit,
    # uncommitted transaction (the legacy sqlite3 default).
    conn.isolation_level = None
    return conn


class Store:
    """The single owner of the driver's database."""

    def __init__(self, path: Path | str, clock: Clock = utc_now, zone: tzinfo | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.zone = zone
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Created before SQLite opens it, so it never exists with the umask's mode (0644), and
        # SQLite creates the -wal and -shm files with the database file's mode.
        _create_private(self.path)
        tighten_modes(self.path)
        self.db = Database(_connect(self.path))
        try:
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=250")
            migrations.apply(self.db)
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self.db.close()
            raise corrupt_error(self.path, exc) from None
        # Retention needs the log's row count on every intake; counting a big log each time costs
        # a full index scan, so it is counted once and then kept by the writes that change it.
        self._rows: int | None = None
        # The last trim found no settled row to remove, and nothing has settled since: with only
        # open rows over the limit, every intake would otherwise scan them all for nothing.
        self._trim_idle = False
        self.on_settle: Callable[[], None] | None = None
        """Called (on the writer's thread, inside its transaction) when a row settles: the service
        wakes its retention trimmer with it. Must not touch the store."""

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit; nested uses become savepoints."""
        with self.db.atomic():
            yield

    # --- intake ---------------------------------------------------------------------------------

    def remembered(self, key: str) -> tuple[str, list[tuple[int, str, str]]] | None:
        """What an idempotency key was first accepted with: (body digest, [(id, guid, action)])."""
        row = self.db.execute("SELECT body, answer FROM idempotency WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return str(row[0]), [(int(i), str(g), str(a)) for i, g, a in json.loads(row[1])]

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
            for entry in entries:
                cursor = conn.execute(
                    "INSERT INTO log (type, action, guid, time, status, note, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.type.value,
                        entry.action.value,
                        entry.guid,
                        stamp,
                        LogStatus.PENDING.value,
                        entry.note,
                        _dumps(entry.payload.to_json()),
                    ),
                )
                row_id = cursor.lastrowid
                assert row_id is not None
                jobs.append(
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
                )
            if idempotency is not None:
                answer = [[job.id, job.guid, job.action.value] for job in jobs]
                conn.execute(
                    "INSERT INTO idempotency (key, body, answer, created_at) VALUES (?, ?, ?, ?)",
                    (idempotency[0], idempotency[1], _dumps(answer), stamp),
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

    def open_jobs(self) -> list[Job]:
        """Every Pending and Deferred row, oldest first."""
        rows = self.db.execute(
            "SELECT id, type, action, guid, time, status, attempts, payload, next_attempt_at, note,"
            " EXISTS (SELECT 1 FROM transition_sends t WHERE t.log_id = log.id)"
            " FROM log WHERE status IN (?, ?) ORDER BY id",
            OPEN_STATUSES,
        ).fetchall()
        return [
            Job(
                id=r[0],
                type=LogType(r[1]),
                action=Action(r[2]),
                guid=r[3],
                time=datetime.fromisoformat(r[4]),
                status=LogStatus(r[5]),
                attempts=r[6],
                payload=JobPayload.model_validate_json(r[7]),
                next_attempt_at=None if r[8] is None else datetime.fromtimestamp(r[8], UTC),
                note=r[9],
                transition_journaled=bool(r[10]),
            )
            for r in rows
        ]

    def recent_updates(self, since: datetime) -> list[tuple[str, datetime]]:
        """(ticket key, settled time) of the automatic update requests that went out Ok since then.

        One per request: rows merged into another row's request are not counted, and a repeated
        CREATE that became an update is (its request has an `edit` part, a real create's has not);
        so is a RESOLVE or REOPEN that made a transition (its request has a `transition` part).
        """
        rows = self.db.execute(
            "SELECT ticket_key, settled_at FROM log"
            # `+status`: the planner would otherwise walk every Ok row by log_status, not the
            # few recent ones by log_settled.
            " WHERE settled_at >= ? AND +status = ? AND type = ? AND merged_into IS NULL"
            " AND ticket_key IS NOT NULL"
            " AND (json_type(request, '$.edit') IS NOT NULL"
            " OR json_type(request, '$.transition') IS NOT NULL)"
            " ORDER BY settled_at",
            (iso(since), LogStatus.OK.value, LogType.AUTOMATIC.value),
        ).fetchall()
        return [(str(key), datetime.fromisoformat(at)) for key, at in rows]

    def update_row(self, log_id: int, **values: Any) -> None:
        """Set columns of one log row (status, attempts, error, note, next_attempt_at, ...)."""
        if not values:
            return
        for key in ("request", "response"):
            if key in values and values[key] is not None and not isinstance(values[key], str):
                values[key] = _dumps(values[key])
        if isinstance(values.get("status"), LogStatus):
            values["status"] = values["status"].value
        if isinstance(values.get("next_attempt_at"), datetime):
            # kept as epoch seconds: a column the log's readers never show
            values["next_attempt_at"] = values["next_attempt_at"].timestamp()
        columns = ", ".join(f"{key} = ?" for key in values)
        self.db.conn.execute(f"UPDATE log SET {columns} WHERE id = ?", (*values.values(), log_id))

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
        request: Any = None,
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
            values["request"] = request
        if response is not None:
            values["response"] = response
        if merged_into is not None:
            values["merged_into"] = merged_into
        self.update_row(log_id, **values)

    def counts(self) -> tuple[int, int]:
        """(pending, deferred) row counts."""
        rows = dict(
            self.db.execute(
                "SELECT status, count(*) FROM log WHERE status IN (?, ?) GROUP BY status",
                OPEN_STATUSES,
            ).fetchall()
        )
        return rows.get(LogStatus.PENDING.value, 0), rows.get(LogStatus.DEFERRED.value, 0)

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

    # --- tickets --------------------------------------------------------------------------------

    _TICKET_COLUMNS = (
        "guid, state, ticket_id, ticket_key, ticket_url, create_log_id, probes, generation, project,"
        " issuetype, jira_status, status_category, resolution, assignee, changed_by, changed_by_driver,"
        " resolved_at, resolved_by_driver, deleted_at, jira_updated, synced_at, created_at"
    )

    @staticmethod
    def _ticket(row: Sequence[Any]) -> TicketRecord:
        def flag(value: Any) -> bool | None:
            return None if value is None else bool(value)

        return TicketRecord(
            guid=row[0],
            state=row[1],
            ticket_id=row[2],
            ticket_key=row[3],
            ticket_url=row[4],
            create_log_id=row[5],
            probes=row[6],
            generation=int(row[7] or 1),
            project=row[8],
            issuetype=row[9],
            jira_status=row[10],
            status_category=row[11],
            resolution=row[12],
            assignee=row[13],
            changed_by=row[14],
            changed_by_driver=flag(row[15]),
            resolved_at=_moment(row[16]),
            resolved_by_driver=flag(row[17]),
            deleted_at=_moment(row[18]),
            jira_updated=_moment(row[19]),
            synced_at=_moment(row[20]),
            created_at=_moment(row[21]),
        )

    def ticket(self, guid: str) -> TicketRecord | None:
        """The ticket record of a GUID, if any."""
        row = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS} FROM tickets WHERE guid = ?", (guid,)
        ).fetchone()
        return None if row is None else self._ticket(row)

    def ticket_by_key(self, key: str) -> TicketRecord | None:
        """The record whose current ticket has this key (or id), if any."""
        row = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS} FROM tickets WHERE ticket_key = ? OR ticket_id = ?"
            " ORDER BY ticket_key = ? DESC LIMIT 1",
            (key, key, key),
        ).fetchone()
        return None if row is None else self._ticket(row)

    def tickets_in(self, states: Sequence[str]) -> list[TicketRecord]:
        """Ticket records in any of these states."""
        marks = ", ".join("?" for _ in states)
        rows = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS} FROM tickets WHERE state IN ({marks})",
            tuple(states),
        ).fetchall()
        return [self._ticket(row) for row in rows]

    def live_ticket_projects(self) -> list[str]:
        """The project keys of the GUIDs' live tickets (what polling searches), sorted."""
        rows = self.db.execute(
            "SELECT DISTINCT coalesce(project, substr(ticket_key, 1, instr(ticket_key, '-') - 1))"
            " FROM tickets WHERE state = 'created' AND deleted_at IS NULL AND ticket_key IS NOT NULL"
        ).fetchall()
        return sorted(str(r[0]) for r in rows if r[0])

    def live_ticket_ids(self) -> list[str]:
        """The Jira ids of the GUIDs' live tickets (what a poll by id searches), sorted."""
        rows = self.db.execute(
            "SELECT ticket_id FROM tickets WHERE state = 'created' AND deleted_at IS NULL"
            " AND ticket_id IS NOT NULL AND ticket_id != ''"
        ).fetchall()
        return sorted((str(r[0]) for r in rows), key=lambda i: (len(i), i))

    def max_generation(self, guid: str) -> int:
        """The highest generation of a ticket the GUID has had (0: none yet)."""
        row = self.db.execute(
            "SELECT max(g) FROM (SELECT generation AS g FROM tickets WHERE guid = ?"
            " UNION ALL SELECT generation FROM ticket_history WHERE guid = ?)",
            (guid, guid),
        ).fetchone()
        return int(row[0] or 0)

    def journal_intent(self, guid: str, log_id: int, generation: int = 1) -> None:
        """Record, before the create goes out, that this GUID's ticket (of `generation`) is being made.

        A new generation replaces the GUID's earlier ticket (which ticket_history keeps).
        """
        now = iso(self.clock())
        conn = self.db.conn
        conn.execute(
            "UPDATE ticket_history SET ended = 'superseded', ended_at = ?"
            " WHERE guid = ? AND generation < ? AND ended IS NULL",
            (now, guid, generation),
        )
        conn.execute(
            "INSERT INTO tickets (guid, state, create_log_id, intent_at, probes, generation)"
            " VALUES (?, 'creating', ?, ?, 0, ?)"
            " ON CONFLICT(guid) DO UPDATE SET state = 'creating', create_log_id = excluded.create_log_id,"
            " intent_at = excluded.intent_at,"
            " probes = CASE WHEN tickets.generation = excluded.generation THEN tickets.probes ELSE 0 END,"
            " ticket_id = CASE WHEN tickets.generation = excluded.generation THEN tickets.ticket_id END,"
            " ticket_key = CASE WHEN tickets.generation = excluded.generation THEN tickets.ticket_key END,"
            " ticket_url = CASE WHEN tickets.generation = excluded.generation THEN tickets.ticket_url END,"
            " generation = excluded.generation",
            (guid, log_id, now, generation),
        )

    def set_ticket_state(self, guid: str, state: str, probes: int | None = None) -> None:
        """Change the state (and probe count) of a GUID's ticket record."""
        if probes is None:
            self.db.conn.execute("UPDATE tickets SET state = ? WHERE guid = ?", (state, guid))
        else:
            self.db.conn.execute(
                "UPDATE tickets SET state = ?, probes = ? WHERE guid = ?", (state, probes, guid)
            )

    def ticket_created(self, record: TicketRecord) -> None:
        """Store the created (or found) ticket against its GUID, and in the GUID's history.

        The Jira state known of an earlier ticket of the GUID is cleared; `record`'s own (a new
        ticket is in its workflow's initial status, which the caller may not know) is kept.
        """
        now = iso(self.clock())
        created = iso(record.created_at) if record.created_at else now
        conn = self.db.conn
        conn.execute(
            "INSERT INTO tickets (guid, state, ticket_id, ticket_key, ticket_url, create_log_id, probes,"
            " generation, project, issuetype, jira_status, status_category, created_at)"
            " VALUES (?, 'created', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(guid) DO UPDATE SET state = 'created', ticket_id = excluded.ticket_id,"
            " ticket_key = excluded.ticket_key, ticket_url = excluded.ticket_url, probes = 0,"
            " generation = excluded.generation, project = excluded.project,"
            " issuetype = excluded.issuetype, jira_status = excluded.jira_status,"
            " status_category = excluded.status_category, resolution = NULL, assignee = NULL,"
            " changed_by = NULL, changed_by_driver = NULL, resolved_at = NULL,"
            " resolved_by_driver = NULL, deleted_at = NULL, jira_updated = NULL, synced_at = NULL,"
            " created_at = excluded.created_at",
            (
                record.guid,
                record.ticket_id,
                record.ticket_key,
                record.ticket_url,
                record.create_log_id,
                record.generation,
                record.project,
                record.issuetype,
                record.jira_status,
                record.status_category,
                created,
            ),
        )
        conn.execute(
            "INSERT INTO ticket_history (guid, generation, ticket_id, ticket_key, ticket_url, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(guid, generation) DO UPDATE SET"
            " ticket_id = excluded.ticket_id, ticket_key = excluded.ticket_key,"
            " ticket_url = excluded.ticket_url, ended = NULL, ended_at = NULL",
            (record.guid, record.generation, record.ticket_id, record.ticket_key, record.ticket_url, created),
        )

    def record_jira_state(self, record: TicketRecord) -> None:
        """Store what is known of the GUID's ticket in Jira (the lifecycle columns of `record`)."""

        def at(value: datetime | None) -> str | None:
            return iso(value) if value is not None else None

        def flag(value: bool | None) -> int | None:
            return None if value is None else int(value)

        self.db.conn.execute(
            "UPDATE tickets SET project = ?, issuetype = ?, jira_status = ?, status_category = ?,"
            " resolution = ?, assignee = ?, changed_by = ?, changed_by_driver = ?, resolved_at = ?,"
            " resolved_by_driver = ?, deleted_at = ?, jira_updated = ?, synced_at = ?"
            " WHERE guid = ? AND generation = ?",
            (
                record.project,
                record.issuetype,
                record.jira_status,
                record.status_category,
                record.resolution,
                record.assignee,
                record.changed_by,
                flag(record.changed_by_driver),
                at(record.resolved_at),
                flag(record.resolved_by_driver),
                at(record.deleted_at),
                at(record.jira_updated),
                at(record.synced_at),
                record.guid,
                record.generation,
            ),
        )
        if record.deleted_at is not None:
            self.db.conn.execute(
                "UPDATE ticket_history SET ended = 'deleted', ended_at = ?"
                " WHERE guid = ? AND generation = ? AND ended IS NULL",
                (iso(record.deleted_at), record.guid, record.generation),
            )

    def ticket_history(self, guid: str) -> list[HistoryEntry]:
        """Every ticket the GUID has had, oldest first."""

        rows = self.db.execute(
            "SELECT guid, generation, ticket_id, ticket_key, ticket_url, created_at, ended_at, ended"
            " FROM ticket_history WHERE guid = ? ORDER BY generation",
            (guid,),
        ).fetchall()
        return [
            HistoryEntry(r[0], int(r[1]), r[2], r[3], r[4], _moment(r[5]), _moment(r[6]), r[7]) for r in rows
        ]

    def guid_of_old_ticket(self, key: str) -> str | None:
        """The GUID an earlier (superseded or deleted) ticket with this key or id belonged to."""
        row = self.db.execute(
            "SELECT guid FROM ticket_history WHERE (ticket_key = ? OR ticket_id = ?) AND ended IS NOT NULL"
            " LIMIT 1",
            (key, key),
        ).fetchone()
        return None if row is None else str(row[0])

    def forget_ticket(self, guid: str) -> None:
        """Drop a GUID's record: its create was refused, so no ticket exists."""
        self.db.conn.execute("DELETE FROM tickets WHERE guid = ? AND state != 'created'", (guid,))

    def guid_rows(self, guid: str) -> GuidRows:
        """What a GUID's ticket view needs of its log rows (driver.model.alarm_state.GuidRows).

        Its newest row, its newest automatic row that is not Cancelled (what the alarm last did),
        and how many of its rows are Pending or Deferred. Each is a walk of one index (log_guid
        from its newest row, the partial log_open), not of the whole log.
        """

        def facts(row: Sequence[Any] | None) -> RowFacts | None:
            if row is None:
                return None
            return RowFacts(
                id=int(row[0]),
                type=LogType(row[1]),
                action=str(row[2]),
                status=LogStatus(row[3]),
                time=datetime.fromisoformat(row[4]),
                error=row[5] or "",
            )

        columns = "id, type, action, status, time, error"
        latest = self.db.execute(
            f"SELECT {columns} FROM log WHERE guid = ? ORDER BY id DESC LIMIT 1", (guid,)
        ).fetchone()
        alarm = self.db.execute(
            f"SELECT {columns} FROM log WHERE guid = ? AND type = ? AND status != ? ORDER BY id DESC LIMIT 1",
            (guid, LogType.AUTOMATIC.value, LogStatus.CANCELLED.value),
        ).fetchone()
        # Unasked, SQLite counts through log_guid, every row the GUID ever had; the statuses are
        # literals so that it can prove the partial index applies.
        (open_rows,) = self.db.execute(
            "SELECT count(*) FROM log INDEXED BY log_open"
            " WHERE guid = ? AND status IN ('Pending', 'Deferred')",
            (guid,),
        ).fetchone()
        return GuidRows(latest=facts(latest), alarm=facts(alarm), open_rows=int(open_rows))

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

    def count_total(self, counter: str, n: int = 1) -> None:
        """Add n to a running total other than the daily create/update statistics."""
        self.db.conn.execute(
            "INSERT INTO stats_totals (counter, value) VALUES (?, ?)"
            " ON CONFLICT(counter) DO UPDATE SET value = value + excluded.value",
            (counter, n),
        )

    def total(self, counter: str) -> int:
        """A running total (0 when never counted)."""
        row = self.db.execute("SELECT value FROM stats_totals WHERE counter = ?", (counter,)).fetchone()
        return int(row[0]) if row else 0

    # --- the comment journal ------------------------------------------------------------------

    def comment_journal(self, log_ids: Sequence[int]) -> dict[tuple[int, int], str]:
        """State ('sending' or 'sent') of the journaled comments of these log rows, by (row, index)."""
        if not log_ids:
            return {}
        marks = ", ".join("?" for _ in log_ids)
        rows = self.db.execute(
            f"SELECT log_id, idx, state FROM comment_sends WHERE log_id IN ({marks})", tuple(log_ids)
        ).fetchall()
        return {(int(r[0]), int(r[1])): str(r[2]) for r in rows}

    def journal_comment(self, log_id: int, idx: int, ticket_key: str) -> None:
        """Record, before the POST goes out, that comment `idx` of this row is being sent."""
        self.db.conn.execute(
            "INSERT INTO comment_sends (log_id, idx, ticket_key, state, intent_at)"
            " VALUES (?, ?, ?, 'sending', ?)"
            " ON CONFLICT(log_id, idx) DO UPDATE SET state = 'sending', ticket_key = excluded.ticket_key,"
            " comment_id = NULL, intent_at = excluded.intent_at",
            (log_id, idx, ticket_key, iso(self.clock())),
        )

    def comment_sent(self, log_id: int, idx: int, ticket_key: str, comment_id: str | None) -> None:
        """Comment `idx` of this row is on the ticket (Jira's 201, or found there)."""
        self.db.conn.execute(
            "INSERT INTO comment_sends (log_id, idx, ticket_key, state, comment_id, intent_at)"
            " VALUES (?, ?, ?, 'sent', ?, ?)"
            " ON CONFLICT(log_id, idx) DO UPDATE SET state = 'sent', comment_id = excluded.comment_id",
            (log_id, idx, ticket_key, comment_id, iso(self.clock())),
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

    # --- statistics -----------------------------------------------------------------------------

    def count(self, counter: str, n: int = 1) -> None:
        """Add n to today's and the running total of 'create' or 'update'."""
        day = day_of(self.clock(), self.zone)
        column = "created" if counter == "create" else "updated"
        conn = self.db.conn
        conn.execute(
            f"INSERT INTO stats_days (day, {column}) VALUES (?, ?)"
            f" ON CONFLICT(day) DO UPDATE SET {column} = {column} + excluded.{column}",
            (day, n),
        )
        conn.execute("UPDATE stats_totals SET value = value + ? WHERE counter = ?", (n, counter))

    def statistics(self) -> Statistics:
        """The Statistics page as of the clock's now."""
        days = {
            row[0]: (int(row[1]), int(row[2]))
            for row in self.db.execute("SELECT day, created, updated FROM stats_days").fetchall()
        }
        totals = dict(self.db.execute("SELECT counter, value FROM stats_totals").fetchall())
        return summarize(days, totals, self.clock(), self.zone)

    def reset_statistics(self, reset: StatsReset) -> Statistics:
        """Clear totals and/or today's and yesterday's counts of one or both counters."""
        plan = reset_plan(reset, self.clock(), self.zone)
        with self.transaction():
            for counter in plan.counters:
                if plan.totals:
                    self.db.conn.execute("UPDATE stats_totals SET value = 0 WHERE counter = ?", (counter,))
                column = "created" if counter == "create" else "updated"
                for day in plan.days:
                    self.db.conn.execute(f"UPDATE stats_days SET {column} = 0 WHERE day = ?", (day,))
        return self.statistics()

    # --- identity -------------------------------------------------------------------------------

    def identity(self) -> DatabaseIdentity:
        """The database's random id, the id of the one it replaced (`run --init`), if any, and its birth."""
        row = self.db.execute("SELECT id, replaces, born_at FROM identity").fetchone()
        born = None if row[2] is None else datetime.fromisoformat(str(row[2]))
        return DatabaseIdentity(str(row[0]), None if row[1] is None else str(row[1]), born)

    def record_birth(self, moment: datetime) -> None:
        """Record that this database is new as of `moment` (UTC; committed at once)."""
        with self.transaction():
            self.db.conn.execute("UPDATE identity SET born_at = ?", (iso(moment),))

    def record_replaced(self, previous: str) -> None:
        """Record that this database took over from the one with id `previous` (committed at once)."""
        with self.transaction():
            self.db.conn.execute("UPDATE identity SET replaces = ?", (previous,))

    # --- settings -------------------------------------------------------------------------------

    def setting(self, key: str) -> Any:
        """A stored setting's JSON value, or None."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def forget_secret_setting(self, key: str, value: Any) -> None:
        """Replace a setting that held a secret so that no copy of it stays in the file.

        secure_delete zeroes the freed bytes, and a truncating checkpoint drops the WAL's copy.
        """
        self.db.execute("PRAGMA secure_delete = ON")
        try:
            self.put_setting(key, value)
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.execute("PRAGMA secure_delete = OFF")

    def put_setting(self, key: str, value: Any) -> None:
        """Store a setting (committed at once unless inside a transaction)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, _dumps(value)),
            )

    # --- the log, read side ---------------------------------------------------------------------

    _COLUMNS = (
        "id, type, action, guid, time, status, ticket_id, ticket_key, ticket_url, error, attempts,"
        " duration_ms, note"
    )

    @staticmethod
    def _entry(row: Sequence[Any], request: Any = None, response: Any = None) -> LogEntry:
        return LogEntry(
            id=row[0],
            type=LogType(row[1]),
            action=row[2],
            guid=row[3],
            time=datetime.fromisoformat(row[4]),
            status=LogStatus(row[5]),
            ticket_id=row[6],
            ticket_key=row[7],
            ticket_url=row[8],
            error=row[9] or "",
            attempts=row[10],
            duration_ms=row[11],
            note=row[12] or "",
            request=request,
            response=response,
        )

    def log_entry(self, log_id: int) -> LogEntry | None:
        """One log row with its request and response detail."""
        row = self.db.execute(
            f"SELECT {self._COLUMNS}, request, response, payload FROM log WHERE id = ?", (log_id,)
        ).fetchone()
        if row is None:
            return None
        request = _loads(row[13])
        if request is None:
            # Not sent yet: show what will be sent.
            request = _loads(row[15])
        return self._entry(row, request, _loads(row[14]))

    def log_page(self, flt: LogFilter) -> LogPage:
        """Rows matching the filter, newest first, paged by before_id."""
        where: list[str] = []
        args: list[Any] = []
        if flt.status is not None:
            where.append("status = ?")
            args.append(flt.status.value)
        if flt.type is not None:
            where.append("type = ?")
            args.append(flt.type.value)
        if flt.guid:
            where.append("guid = ?")
            args.append(flt.guid)
        if flt.q:
            where.append(
                "(guid LIKE ? ESCAPE '\\' OR ticket_key LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\'"
                " OR note LIKE ? ESCAPE '\\' OR action LIKE ? ESCAPE '\\')"
            )
            # the operator's text as typed: % and _ are not wildcards
            typed = flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{typed}%"
            args.extend([pattern] * 5)
        if flt.since is not None:
            where.append("time >= ?")
            args.append(iso(flt.since))
        if flt.until is not None:
            where.append("time <= ?")
            args.append(iso(flt.until))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        (total,) = self.db.execute(f"SELECT count(*) FROM log{clause}", args).fetchone()
        page_where = list(where)
        page_args = list(args)
        if flt.before_id is not None:
            page_where.append("id < ?")
            page_args.append(flt.before_id)
        page_clause = (" WHERE " + " AND ".join(page_where)) if page_where else ""
        limit = max(1, min(flt.limit, 1000))
        rows = self.db.execute(
            f"SELECT {self._COLUMNS} FROM log{page_clause} ORDER BY id DESC LIMIT ?",
            (*page_args, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        entries = [self._entry(row) for row in rows]
        return LogPage(
            rows=entries, total=int(total), next_before_id=entries[-1].id if more and entries else None
        )


def read_ticket_state(path: Path | str) -> tuple[TicketTable, FieldCatalog] | None:
    """The stored Ticket Creation Table and field catalog, read-only; None if there is none yet.

    Raises DatabaseFileError when the file is not SQLite or is corrupt, sqlite3.Error when it
    cannot be read now (locked), and ValueError when the stored table or catalog is not one this
    version reads. A database from before the settings table holds no ticket state yet: None.
    """
    from driver.model.creation_table import TicketTable
    from driver.model.fields import FieldCatalog

    db_path = Path(path)
    if not db_path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows: Mapping[str, str] = dict(
            conn.execute(
                "SELECT key, value FROM settings WHERE key IN (?, ?)", (S_TICKET_TABLE, S_CATALOG)
            ).fetchall()
        )
    except sqlite3.Error as exc:
        if is_corrupt(exc):
            raise corrupt_error(db_path, exc) from None
        # an empty file, or a database from before the settings table, holds no ticket state yet
        if isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("no such table"):
            return None
        raise
    finally:
        conn.close()
    if S_TICKET_TABLE not in rows:
        return None
    table = TicketTable.model_validate(json.loads(rows[S_TICKET_TABLE]))
    catalog = (
        FieldCatalog.from_list(json.loads(rows[S_CATALOG])) if S_CATALOG in rows else FieldCatalog.system()
    )
    return table, catalog
