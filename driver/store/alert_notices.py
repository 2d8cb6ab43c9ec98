"""What the driver last did for each alert's GUID (table `alert_notices`): firing or resolved, and
the digest of the alert's content then. Written in the transaction that commits the alert's
command (Store.accept), so a notification and its record are one fact: a retry or a cluster
peer's copy that arrives after finds it and makes nothing. No retention yet (one short row per
alert ever seen)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from driver.model.alert_intake import Notice
from driver.store.tables import Tables, iso

_CHUNK = 500
"""GUIDs per lookup (SQLite's variable limit is far above; the statement stays small)."""


class AlertNoticeTables(Tables):
    """The alert notices."""

    def notices(self, guids: Iterable[str]) -> dict[str, Notice]:
        """The recorded notice of each of these GUIDs that has one."""
        wanted = list(dict.fromkeys(guids))
        found: dict[str, Notice] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for guid, state, digest in self.db.execute(
                f"SELECT guid, state, digest FROM alert_notices WHERE guid IN ({marks})", chunk
            ):
                found[guid] = Notice(guid, state, digest)
        return found

    def note_notices(self, notices: Sequence[Notice]) -> None:
        """Record these notices (inside the caller's transaction)."""
        now = iso(self.clock())
        self.db.conn.executemany(
            "INSERT INTO alert_notices (guid, state, digest, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(guid) DO UPDATE SET state = excluded.state, digest = excluded.digest,"
            " at = excluded.at",
            [(n.guid, n.state, n.digest, now) for n in notices],
        )
