"""A person's OAuth consent ([jira] auth = oauth_3lo), kept in `<database>.oauth` beside the database:
mode 0600, replaced atomically (a temporary file written and fsynced, renamed over the kept one, the
directory fsynced), like the run-time secret (driver.store.secret_file) and for the same reasons: the
database is what people copy and attach to bug reports.

Why the atomic replace matters: the refresh token is disabled by its own use (docs/wire-facts.md
§14), so its successor must be on disk before the new access token is used, and a crash must leave
either the old pair (which the token endpoint takes again within its 10-minute leeway) or the new
one, never neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from driver.failpoints import failpoint
from driver.model.consent import Grant


def grant_path(database: Path) -> Path:
    """`<database>.oauth`, beside the database."""
    return database.with_name(database.name + ".oauth")


class GrantFile:
    """The consent of one database's driver (a driver.jira.oauth.GrantKeeper)."""

    def __init__(
        self,
        database: Path,
        written: Callable[[], None] | None = None,
        renamed: Callable[[], None] | None = None,
    ) -> None:
        self.path = grant_path(database)
        self._written = written or failpoint("oauth-grant-written")
        self._renamed = renamed or failpoint("oauth-grant-renamed")

    def read(self) -> Grant | None:
        """The kept consent, or None when there is none. ValueError when the file is not one."""
        if not self.path.exists():
            return None
        if self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Grant(
                str(data["site"]),
                str(data["refresh_token"]),
                str(data.get("access_token", "")),
                str(data.get("scope", "")),
                str(data.get("user", "")),
                datetime.fromisoformat(data["consented_at"]),
                datetime.fromisoformat(data["refreshed_at"]),
                datetime.fromisoformat(data["access_expires"]) if data.get("access_expires") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.path} does not hold an OAuth consent ({exc.__class__.__name__})"
            ) from None

    def write(self, grant: Grant) -> None:
        """Replace the kept consent (created 0600; written, fsynced, renamed, directory fsynced)."""
        data = {
            "site": grant.site,
            "refresh_token": grant.refresh_token,
            "access_token": grant.access_token,
            "scope": grant.scope,
            "user": grant.user,
            "consented_at": grant.consented_at.isoformat(),
            "refreshed_at": grant.refreshed_at.isoformat(),
            "access_expires": grant.access_expires.isoformat() if grant.access_expires else None,
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(data).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._written()
        os.replace(temporary, self.path)
        self._renamed()
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def forget(self) -> bool:
        """Remove the kept consent (`auth logout`); whether there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
