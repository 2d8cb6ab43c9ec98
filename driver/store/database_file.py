"""Start-up checks of the database file: a missing, emptied or replaced database is not a first start.

The database carries a random id (table `identity`, migration 0004), and the driver keeps a copy
beside it in `<database>.id` (the marker). At `jira-driver run`, before the store opens:

    no marker, no database (or an empty file)   first start ever: create both
    marker, database missing or empty           refused (exit 2) unless `run --init`
    marker, database with another id            refused (exit 2) unless `run --init`
    marker, database with the same id           a normal start
    no marker, database                         a start (the marker is written again)
    not SQLite, or corrupt (quick_check)        refused (exit 2): restore from a backup

Why beside the database and not in a state directory or the config: it travels with the database's
directory (two drivers on one host with two databases have two markers, with no key to configure),
the config file may be read-only (/etc), and a replaced database file is told apart from a deleted
one by the id. Its limit: a directory lost as a whole (a volume not mounted) takes the marker too.

`run --init` takes the database as it is (a new empty one if missing) and records the id it took
over from; from then on (`[ticket] search_before_create = auto`) the first command of a GUID the
store has no ticket for searches Jira for the GUID's stamp before creating, so tickets made with
the earlier database are found instead of created twice.

One driver per database: `lock` takes `fcntl.flock(LOCK_EX | LOCK_NB)` on `<database>.lock` before
anything else touches the database and holds it for the life of the process. Two drivers on one
file would both send every queued row (comments posted twice). The kernel drops a flock when its
process ends however it ends (kill -9 included), so a crash never leaves a stale lock; the PID
written into the file is only there to name the holder in the refusal.

A database and its marker both lost (`rm driver.db*`, a reinstall) look like a first start. So a
new database (first start, no marker, `--init`) records its birth (identity.born_at), and for
`[ticket] probe_new_days` after it the same search precedes the create of every GUID it has never
seen (batched: driver.sending.engine, driver.sending.delivery.Delivery.probe_batch). See `settle`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from driver.store.database import Store
from driver.store.files import (
    FILE_MODE,
    RESTORE_HINT,
    DatabaseFileError,
    corrupt_error,
    database_files,
    is_corrupt,
)

log = logging.getLogger("driver.database_file")

SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file (https://sqlite.org/fileformat.html §1.3)."""
INIT_HINT = (
    "restore it from a backup (docs/operations.md, 'State, backups and upgrades'), or start once with"
    " `jira-driver run --init` to take this database as it is (tickets already in Jira are then"
    " looked up by their GUID stamp before any create)"
)
SearchBeforeCreate = Literal["auto", "always", "never"]


class FileState(StrEnum):
    """What lies at the database path before the store opens it."""

    MISSING = "missing"
    EMPTY = "empty"
    """A 0-byte file, or SQLite without any table: never set up by the driver."""
    READY = "ready"


@dataclass(frozen=True)
class Opening:
    """What the check found, for `settle` once the store is open.

    previous_id: the id in the marker (None: no marker). replacing: `--init` took over from an
    earlier database (or a restored copy), so GUIDs unknown to the store are looked up first.
    """

    path: Path
    marker: Path
    state: FileState
    previous_id: str | None
    replacing: bool


def marker_path(database: Path) -> Path:
    """`<database>.id`, beside the database."""
    return database.with_name(database.name + ".id")


def lock_path(database: Path) -> Path:
    """`<database>.lock`, beside the database."""
    return database.with_name(database.name + ".lock")


IN_USE_HINT = "stop it or give this one another [driver] database"


@dataclass
class DatabaseLock:
    """The held lock on a database (`lock`): an open descriptor with an exclusive flock on it."""

    path: Path
    fd: int

    def release(self) -> None:
        """Drop the lock (the process ending drops it too)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _check_folder(path: Path) -> None:
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise DatabaseFileError(
            path,
            f"cannot be created: {folder} is a file, not a folder",
            "set [driver] database to a path in a folder",
        )


def lock(path: Path) -> DatabaseLock:
    """Take the database's lock for this process: the first thing `jira-driver run` does.

    Creates the database's folder if missing. Raises DatabaseFileError naming the holder's PID
    when another process holds the lock, or when the lock file cannot be opened (permissions).
    """
    _check_folder(path)
    file = lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # not O_TRUNC: the holder's PID must survive a refused start opening the file
        fd = os.open(file, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise DatabaseFileError(
            path, f"its lock file {file.name} cannot be opened ({exc.strerror})", "fix its permissions"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        raise DatabaseFileError(
            path, f"is in use by jira-driver PID {holder} ({file.name})", IN_USE_HINT
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return DatabaseLock(file, fd)


def _holder(fd: int) -> str:
    """The PID the lock's holder wrote (or "unknown": it may be between open and write)."""
    with contextlib.suppress(OSError):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
    return "unknown"


def _read_marker(marker: Path) -> str | None:
    try:
        text = marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DatabaseFileError(
            marker, f"the database's id file cannot be read ({reason})", "fix its permissions or restore it"
        ) from None
    lines = text.splitlines()
    return lines[0].strip() if lines and lines[0].strip() else ""


def _write_marker(marker: Path, database_id: str) -> None:
    """Write the marker atomically (a crash leaves the old one or the new one)."""
    temporary = marker.with_name(marker.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            f"{database_id}\n# the id of {marker.stem}, written by jira-driver (docs/operations.md)\n"
        )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, marker)


def examine(path: Path) -> tuple[FileState, str | None]:
    """The state of the database file and its id (None before migration 0004), read without changing it.

    Raises DatabaseFileError when the file is not SQLite, is corrupt (PRAGMA quick_check), cannot be
    opened, or holds tables that are not the driver's.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return FileState.MISSING, None
    except OSError as exc:
        raise DatabaseFileError(path, f"cannot be read ({exc.strerror})", "fix its permissions") from None
    if not header:
        return FileState.EMPTY, None
    if header != SQLITE_HEADER:
        raise DatabaseFileError(path, "is not an SQLite database", RESTORE_HINT)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseFileError(path, f"cannot be opened ({exc})", "fix its permissions") from None
    try:
        tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return FileState.EMPTY, None
        if "log" not in tables:
            raise DatabaseFileError(
                path, "holds tables that are not jira-driver's", "point [driver] database at another file"
            )
        # quick_check: the structure without the slower index-content checks (0.1 s for 20 MB)
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(2)")]
        if problems != ["ok"]:
            first = " ".join(" ".join(problems).split())
            first = first if len(first) <= 160 else first[:157] + "..."
            raise DatabaseFileError(path, f"is corrupt (quick_check: {first})", RESTORE_HINT)
        if "identity" not in tables:
            return FileState.READY, None
        row = conn.execute("SELECT id FROM identity").fetchone()
        return FileState.READY, None if row is None else str(row[0])
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc):
            raise corrupt_error(path, exc) from None
        raise DatabaseFileError(
            path, f"cannot be read ({exc})", "make sure no other program holds it"
        ) from None
    finally:
        conn.close()


def check(path: Path, *, init: bool) -> Opening:
    """Decide, before the store opens, whether the driver may start on this database file.

    Raises DatabaseFileError (one line: the file, what is wrong, what to do) when the database is
    missing, empty or another one while the marker says the driver ran before, and `init` is off;
    or when the file is corrupt, not SQLite or unreadable (whatever `init` says).
    """
    marker = marker_path(path)
    _check_folder(path)
    previous = _read_marker(marker)
    state, database_id = examine(path)
    if state != FileState.READY:
        if previous is not None and not init:
            what = "is missing" if state == FileState.MISSING else "is empty"
            raise DatabaseFileError(
                path, f"{what}, but jira-driver has run on a database here before ({marker.name})", INIT_HINT
            )
        if state == FileState.MISSING:
            _remove_stale_companions(path)
        return Opening(path, marker, state, previous, replacing=previous is not None)
    if previous is not None and database_id != previous and not init:
        raise DatabaseFileError(
            path,
            f"is not the database jira-driver last ran on (its id differs from {marker.name})",
            INIT_HINT,
        )
    # --init on an existing file (a restored backup, another installation's database): the store may
    # not know every ticket in Jira.
    return Opening(path, marker, state, previous, replacing=init)


def _remove_stale_companions(path: Path) -> None:
    # A -wal left by a killed driver would be replayed into the new database by SQLite.
    for file in database_files(path)[1:]:
        if file.exists():
            log.warning("removing %s: its database is gone", file)
            file.unlink()


PROBE_ALWAYS = datetime.max.replace(tzinfo=UTC)
"""settle's answer when every GUID unknown to the store is searched for, with no end."""


def settle(
    store: Store,
    opening: Opening,
    search_before_create: SearchBeforeCreate,
    *,
    probe_new_days: float = 7.0,
    now: datetime | None = None,
) -> datetime | None:
    """Once the store is open: record a take-over or a birth, write the marker.

    Returns until when (UTC, compared with the engine's wall clock) the first command of a GUID
    the store has never seen searches Jira for its stamp before creating; None: never.
      always   PROBE_ALWAYS
      never    None
      auto     PROBE_ALWAYS on a database taken over with `run --init` (as before), else the
               database's birth + `probe_new_days` (0: None). A database is born at its first
               start (also after `rm driver.db*`, which takes the marker too), when found without
               its marker, or at `run --init`; one made before migration 0008 has no recorded
               birth and is old.
    """
    moment = now or datetime.now(UTC)
    if opening.replacing:
        store.record_replaced(opening.previous_id or "unknown")
        log.warning(
            "--init: taking %s as it is; the first command of each GUID it has no ticket for"
            " searches Jira for the GUID's stamp before creating",
            opening.path,
        )
    if opening.replacing or opening.previous_id is None:
        # No marker: a first start, a lost database with its marker (rm driver.db*), or a database
        # that lost its marker. Tickets of an earlier database may be in Jira: a new database.
        store.record_birth(moment)
        if not opening.replacing and opening.state == FileState.READY:
            # moved, copied or restored without it: said, as it changes what the first commands do
            log.warning(
                "%s has no id file %s: it counts as a new database (moved, copied or restored"
                " without it?), so a GUID it has no ticket for is searched for in Jira before its"
                " create; a restored backup wants `run --init` (docs/operations.md)",
                opening.path,
                opening.marker,
            )
    identity = store.identity()
    if opening.previous_id != identity.id:
        _write_marker(opening.marker, identity.id)
        if opening.state != FileState.READY:
            log.info("new database %s (its id is kept in %s)", opening.path, opening.marker)
    if search_before_create == "always":
        return PROBE_ALWAYS
    if search_before_create == "never":
        return None
    if identity.replaces is not None:
        if not opening.replacing:
            log.info(
                "this database took over another's (run --init): a GUID it has no ticket for is"
                " searched for in Jira before its create, for as long as it runs"
            )
        return PROBE_ALWAYS
    if identity.born_at is None or probe_new_days <= 0:
        return None
    until = identity.born_at + timedelta(days=probe_new_days)
    if until > moment:
        log.info(
            "a new database: until %s, GUIDs it has never seen are searched for in Jira before"
            " their ticket is created ([ticket] probe_new_days)",
            until.isoformat(timespec="seconds"),
        )
        return until
    return None
