"""Secrets set at run time (PUT /api/settings/auth, the TUI's Authentication dialog), kept out of
the database: in `<database>.secret` beside it, mode 0600, replaced atomically.

Why not in SQLite: the database is what operators copy, back up and attach to bug reports; a
password in it travels with every copy (and freed pages keep old values). Why not encrypted
inside it: the key would have to live somewhere the driver can read unattended, beside the
database in practice, which protects nothing a 0600 file does not. The database keeps the mode
and the user name (`auth` setting); this file only the secret. Back it up with the database when
credentials are set at run time (docs/operations.md); credentials from the config file or the
environment (JIRA_DRIVER_JIRA_PASSWORD ...) never reach either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def secret_path(database: Path) -> Path:
    """`<database>.secret`, beside the database."""
    return database.with_name(database.name + ".secret")


def read_secret(database: Path) -> str | None:
    """The run-time secret, or None when none was set (no file). OSError/ValueError if unreadable."""
    path = secret_path(database)
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    data = json.loads(path.read_text(encoding="utf-8"))
    secret = data.get("auth_secret") if isinstance(data, dict) else None
    if not isinstance(secret, str):
        raise ValueError(f"{path}: no auth_secret in it")
    return secret


def write_secret(database: Path, secret: str) -> None:
    """Replace the run-time secret (created 0600, written to a temporary file, fsynced, renamed)."""
    path = secret_path(database)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps({"auth_secret": secret}).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
