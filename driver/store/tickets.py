"""Tickets by GUID (table `tickets`) and their history (`ticket_history`).

Ticket states, one row per GUID:
    creating   the intent to create is journaled; the request may or may not have gone out
    in_doubt   a create went out and its outcome is unknown; a JQL probe settles it
    created    Jira answered 201 (or a probe found the stamped ticket)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from driver.contract.schemas import LogStatus, LogType
from driver.model.alarm_state import GuidRows, RowFacts
from driver.model.commands import Action
from driver.model.jobs import HistoryEntry, TicketRecord, TicketState
from driver.store.tables import Tables, by_name, columns, iso, moment_of

EARLIER_GENERATION = (
    "(SELECT max(g) FROM (SELECT generation AS g FROM ticket_history h WHERE h.guid = {guid}"
    " UNION ALL SELECT generation FROM forgotten_guids f WHERE f.guid = {guid}) AS generations)"
)
"""The highest generation of a ticket the GUID had besides its current record (its history, and
what a forgetting kept: driver.store.forgetting), as a subquery of a statement that names the GUID
as `{guid}`."""


class TicketTables(Tables):
    """A GUID's ticket record and its earlier tickets."""

    # --- tickets --------------------------------------------------------------------------------

    _TICKET_COLUMNS = (
        "guid, state, ticket_id, ticket_key, ticket_url, create_log_id, probes, generation, project,"
        " issuetype, jira_status, status_category, resolution, assignee, changed_by, changed_by_driver,"
        " resolved_at, resolved_by_driver, deleted_at, jira_updated, synced_at, created_at, driver_values"
    )
    _TICKET_NAMES = columns(_TICKET_COLUMNS)
    _TICKET_COLUMNS_OF_T = ", ".join(f"t.{c}" for c in _TICKET_NAMES)
    """The same columns of `tickets t` in a join."""

    @classmethod
    def _ticket(cls, values: Sequence[Any]) -> TicketRecord:
        def flag(value: Any) -> bool | None:
            return None if value is None else bool(value)

        row = by_name(cls._TICKET_NAMES, values)
        return TicketRecord(
            guid=row["guid"],
            state=TicketState(row["state"]),
            ticket_id=row["ticket_id"],
            ticket_key=row["ticket_key"],
            ticket_url=row["ticket_url"],
            create_log_id=row["create_log_id"],
            probes=row["probes"],
            generation=int(row["generation"] or 1),
            project=row["project"],
            issuetype=row["issuetype"],
            jira_status=row["jira_status"],
            status_category=row["status_category"],
            resolution=row["resolution"],
            assignee=row["assignee"],
            changed_by=row["changed_by"],
            changed_by_driver=flag(row["changed_by_driver"]),
            resolved_at=moment_of(row["resolved_at"]),
            resolved_by_driver=flag(row["resolved_by_driver"]),
            deleted_at=moment_of(row["deleted_at"]),
            jira_updated=moment_of(row["jira_updated"]),
            synced_at=moment_of(row["synced_at"]),
            created_at=moment_of(row["created_at"]),
            driver_values=_values(row["driver_values"]),
        )

    def ticket(self, guid: str) -> TicketRecord | None:
        """The ticket record of a GUID, if any."""
        row = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS} FROM tickets WHERE guid = ?", (guid,)
        ).fetchone()
        return None if row is None else self._ticket(row)

    def ticket_or_generation(self, guid: str) -> tuple[TicketRecord | None, int]:
        """The GUID's ticket record, or None and the highest generation of a ticket it has had (0:
        none yet): one read where `ticket` and `max_generation` are two (the engine asks both of a
        GUID it holds no record of, which is every new alarm's first command)."""
        row = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS_OF_T}, {EARLIER_GENERATION.format(guid='k.guid')}"
            " FROM (SELECT ? AS guid) AS k LEFT JOIN tickets t ON t.guid = k.guid",
            (guid,),
        ).fetchone()
        if row[0] is not None:
            return self._ticket(row[:-1]), 0
        return None, int(row[-1] or 0)

    def ticket_by_key(self, key: str) -> TicketRecord | None:
        """The record whose current ticket has this key (or id), if any."""
        row = self.db.execute(
            f"SELECT {self._TICKET_COLUMNS} FROM tickets WHERE ticket_key = ? OR ticket_id = ?"
            " ORDER BY ticket_key = ? DESC LIMIT 1",
            (key, key, key),
        ).fetchone()
        return None if row is None else self._ticket(row)

    def tickets_in(self, states: Sequence[TicketState]) -> list[TicketRecord]:
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
        """The highest generation of a ticket the GUID has had (0: none yet), forgotten ones too."""
        row = self.db.execute(
            "SELECT max(g) FROM (SELECT generation AS g FROM tickets WHERE guid = ?"
            f" UNION ALL SELECT {EARLIER_GENERATION.format(guid='?')}) AS generations",
            (guid, guid, guid),
        ).fetchone()
        return int(row[0] or 0)

    def journal_intent(self, guid: str, log_id: int, generation: int = 1) -> None:
        """Record, before the create goes out, that this GUID's ticket (of `generation`) is being made.

        A new generation replaces the GUID's earlier ticket (which ticket_history keeps).
        """
        now = iso(self.clock())
        if generation > 1:
            # a first ticket has no earlier one to end: one write (one commit) less per create
            self.write_later(
                "UPDATE ticket_history SET ended = 'superseded', ended_at = ?"
                " WHERE guid = ? AND generation < ? AND ended IS NULL",
                (now, guid, generation),
            )
        self.write_later(
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

    def set_ticket_state(self, guid: str, state: TicketState, probes: int | None = None) -> None:
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
        self.write_later(
            "INSERT INTO tickets (guid, state, ticket_id, ticket_key, ticket_url, create_log_id, probes,"
            " generation, project, issuetype, jira_status, status_category, created_at, driver_values)"
            " VALUES (?, 'created', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(guid) DO UPDATE SET state = 'created', ticket_id = excluded.ticket_id,"
            " ticket_key = excluded.ticket_key, ticket_url = excluded.ticket_url, probes = 0,"
            " generation = excluded.generation, project = excluded.project,"
            " issuetype = excluded.issuetype, jira_status = excluded.jira_status,"
            " status_category = excluded.status_category, resolution = NULL, assignee = NULL,"
            " changed_by = NULL, changed_by_driver = NULL, resolved_at = NULL,"
            " resolved_by_driver = NULL, deleted_at = NULL, jira_updated = NULL, synced_at = NULL,"
            " created_at = excluded.created_at, driver_values = excluded.driver_values",
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
                json.dumps(record.driver_values) if record.driver_values else None,
            ),
        )
        self.write_later(
            "INSERT INTO ticket_history (guid, generation, ticket_id, ticket_key, ticket_url, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(guid, generation) DO UPDATE SET"
            " ticket_id = excluded.ticket_id, ticket_key = excluded.ticket_key,"
            " ticket_url = excluded.ticket_url, ended = NULL, ended_at = NULL",
            (record.guid, record.generation, record.ticket_id, record.ticket_key, record.ticket_url, created),
        )

    def record_driver_values(self, guid: str, values: Mapping[str, Sequence[Any]]) -> None:
        """Store what the driver set on the GUID's ticket last, per multi-value field
        (TicketRecord.driver_values)."""
        self.db.conn.execute(
            "UPDATE tickets SET driver_values = ? WHERE guid = ?",
            (json.dumps(dict(values)) if values else None, guid),
        )

    def record_jira_state(self, record: TicketRecord) -> None:
        """Store what is known of the GUID's ticket in Jira (the lifecycle columns of `record`, and
        its key and link, which follow a ticket a person moved: TicketRecord.moved_to)."""

        def at(value: datetime | None) -> str | None:
            return iso(value) if value is not None else None

        def flag(value: bool | None) -> int | None:
            return None if value is None else int(value)

        self.db.conn.execute(
            "UPDATE tickets SET ticket_key = coalesce(?, ticket_key), ticket_url = coalesce(?, ticket_url),"
            " project = ?, issuetype = ?,"
            " jira_status = ?, status_category = ?,"
            " resolution = ?, assignee = ?, changed_by = ?, changed_by_driver = ?, resolved_at = ?,"
            " resolved_by_driver = ?, deleted_at = ?, jira_updated = ?, synced_at = ?"
            " WHERE guid = ? AND generation = ?",
            (
                record.ticket_key,
                record.ticket_url,
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
        if record.ticket_key:
            self.db.conn.execute(
                "UPDATE ticket_history SET ticket_key = ?, ticket_url = ? WHERE guid = ? AND generation = ?"
                " AND ticket_key IS NOT ?",
                (record.ticket_key, record.ticket_url, record.guid, record.generation, record.ticket_key),
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
            HistoryEntry(r[0], int(r[1]), r[2], r[3], r[4], moment_of(r[5]), moment_of(r[6]), r[7])
            for r in rows
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

        Its newest row, its newest automatic row that is not Cancelled nor a CALL (what the alarm
        last did: driver.model.alarm_state.speaks_for_the_alarm),
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
            # a CALL's action is 'CALL <endpoint>'
            f"SELECT {columns} FROM log WHERE guid = ? AND type = ? AND status != ? AND action NOT LIKE ?"
            " ORDER BY id DESC LIMIT 1",
            (guid, LogType.AUTOMATIC.value, LogStatus.CANCELLED.value, f"{Action.CALL.value}%"),
        ).fetchone()
        # Unasked, SQLite counts through log_guid, every row the GUID ever had; the statuses are
        # literals so that it can prove the partial index applies.
        (open_rows,) = self.db.execute(
            "SELECT count(*) FROM log INDEXED BY log_open"
            " WHERE guid = ? AND status IN ('Pending', 'Deferred')",
            (guid,),
        ).fetchone()
        return GuidRows(latest=facts(latest), alarm=facts(alarm), open_rows=int(open_rows))


def _values(text: str | None) -> dict[str, list[Any]]:
    """A driver_values column: {} for NULL or anything but an object of lists (a hand-edited row)."""
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(fid): list(values) for fid, values in loaded.items() if isinstance(values, list)}
