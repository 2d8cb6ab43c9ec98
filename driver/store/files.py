"""The database file on disk: its mode (it holds credentials set at run time), and a corrupt or
foreign file told apart from other SQLite errors.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from driver.errors import DriverError

log = logging.getLogger("driver.store")

RESTORE_HINT = (
    "stop the driver and restore it from a backup (docs/operations.md, 'State, backups and upgrades'),"
    " or move it away and start once with `jira-driver run --init` to begin an empty one"
)
FILE_MODE = 0o600
"""The mode of the database and its -wal/-shm files: they hold credentials set at run time."""
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


def create_private(path: Path) -> None:
    """Create an empty database file 0600 unless it exists (an empty file is an empty database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: the store is only used from the event loop thread, but uvicorn
    # and tests may build it on another thread before the loop starts.
    conn = sqlite3.connect(str(path), check_same_thread=False)
    # Autocommit outside explicit transactions: a lone write must never sit in an implicit,
    # uncommitted transaction (the legacy sqlite3 default).
    conn.isolation_level = None
    return conn
