"""The driver's SQLite store: intake, the queue, the create/update log, tickets by GUID, the
journals, settings and daily statistics, one module per table family (see driver.store).

One Store owns the one write connection (WAL, synchronous=NORMAL: a commit is durable against a
process crash, which is what kill -9 tests; an OS crash may lose the last few hundred ms). Every
write runs in a transaction; the engine groups its writes with `with store.transaction():` so one
wake-up costs one commit. All calls happen on the event loop thread: a commit in WAL mode without
fsync takes microseconds, far less than a thread hop.

The log doubles as the queue: rows with status Pending or Deferred are the work still to do, in
id order. Retention never removes them.

On disk: the database and its -wal/-shm files hold credentials set at run time, so a new database
is created 0600 (SQLite gives its -wal/-shm the database file's mode) and wider modes found on
existing files are tightened with a warning. A file that is not SQLite or is corrupt raises
DatabaseFileError (one line naming the file and what to do), never a raw sqlite3 error.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from driver.clock import Clock, utc_now
from driver.database_url import is_postgresql
from driver.model.alert_intake import Notice
from driver.store import migrations
from driver.store.alarms import AlarmTables
from driver.store.alert_notices import AlertNoticeTables
from driver.store.counters import S_CATALOG, S_TICKET_TABLE, Counters
from driver.store.files import (
    DatabaseFileError,
    connect,
    corrupt_error,
    create_private,
    is_corrupt,
    tighten_modes,
)
from driver.store.forgetting import ForgetTables
from driver.store.journals import Journals
from driver.store.log import LogTables
from driver.store.log_read import LogReads
from driver.store.responses import ResponseTables

if TYPE_CHECKING:
    from driver.model.creation_table import TicketTable
    from driver.model.fields import FieldCatalog
    from driver.model.jobs import Job, NewEntry


log = logging.getLogger("driver.store")

MIN_SQLITE = (3, 35, 0)
"""The oldest SQLite whose SQL the store speaks: RETURNING (3.35), which PostgreSQL shares."""


class Store(
    LogTables, LogReads, AlarmTables, Journals, Counters, ResponseTables, AlertNoticeTables, ForgetTables
):
    """The single owner of the driver's database: every table family on one connection."""

    def __init__(self, path: Path | str, clock: Clock = utc_now, zone: tzinfo | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.zone = zone
        self.db = self._open()
        # Retention needs the log's row count on every intake; counting a big log each time costs
        # a full index scan, so it is counted once and then kept by the writes that change it.
        self._rows: int | None = None
        # The last trim found no settled row to remove, and nothing has settled since: with only
        # open rows over the limit, every intake would otherwise scan them all for nothing.
        self._trim_idle = False
        self.on_settle: Callable[[], None] | None = None
        """Called (on the writer's thread, inside its transaction) when a row settles: the service
        wakes its retention trimmer with it. Must not touch the store."""

    def _open(self) -> Database:
        """The SQLite file at self.path, made private, in WAL mode and migrated."""
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseFileError(
                self.path,
                f"this Python's SQLite is {sqlite3.sqlite_version}, the driver needs"
                f" {'.'.join(map(str, MIN_SQLITE))} or newer (RETURNING, count(*) FILTER)",
                "run it with a Python built on a newer SQLite (python.org's builds, Debian 12, Ubuntu 22.04)",
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Created before SQLite opens it, so it never exists with the umask's mode (0644), and
        # SQLite creates the -wal and -shm files with the database file's mode.
        create_private(self.path)
        tighten_modes(self.path)
        db = Database(connect(self.path))
        try:
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=250")
            migrations.ON_SQLITE.ensure_migrations_table(db)
            done = len(list(migrations.ON_SQLITE.applied(db)))
            pending = [step.name for step in migrations.ON_SQLITE.pending(db)]
            migrations.ON_SQLITE.apply(db)
            if done and pending:  # an upgrade (a new database takes every step, unsaid)
                log.info("%s upgraded: schema steps %s to %s applied", self.path, pending[0], pending[-1])
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            db.close()
            raise corrupt_error(self.path, exc) from None
        return db

    def accept(
        self,
        entries: Sequence[NewEntry],
        max_entries: int = 0,
        idempotency: tuple[str, str] | None = None,
        notices: Sequence[Notice] = (),
    ) -> list[Job]:
        """LogTables.accept, with the Alarms table told and an alert notification's notices
        recorded in the same transaction (one commit)."""
        with self.transaction():
            self.intake_barrier()
            jobs = super().accept(entries, max_entries, idempotency)
            self.note_alarms(jobs, [entry.summary for entry in entries])
            if notices:
                self.note_notices(notices)
        return jobs

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.db.close()


def open_store(database: str, clock: Clock = utc_now, zone: tzinfo | None = None) -> Store:
    """The store [driver] database names: a postgresql:// URL opens the PostgreSQL store
    (driver.store.postgres.store), anything else is the SQLite file's path."""
    if is_postgresql(database):
        from driver.store.postgres.store import PostgresStore  # psycopg only for a pair

        return PostgresStore(database, clock=clock, zone=zone)
    return Store(Path(database), clock=clock, zone=zone)


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
