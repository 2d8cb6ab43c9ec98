"""The Alarms table (table `alarms`, joined to `tickets` and the GUIDs' log rows): one row per GUID
the driver knows, newest activity first, paged by a cursor on the GUID's last row id.

`alarms` is written at intake, in the transaction that commits the rows (`note_alarms`): the GUID's
last automatic row, its action and time, and the summary its commands set. Everything else a page
shows is read when it is asked for: the ticket record, and per GUID on the page its rows' counts
(one walk of the log_guid index each).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from driver.contract.schemas import LogStatus, LogType
from driver.model.alarm_state import RowFacts, alarm_state
from driver.model.alarms import AlarmFilter, AlarmRecord, AlarmRows, RowCounts
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload, NewEntry, TicketRecord
from driver.store.tables import RETRIED, contains_pattern, iso, moment_of
from driver.store.tickets import TicketTables

_ACTIVE = ("CREATE", "UPDATE", "REOPEN")
_OPEN = (LogStatus.PENDING.value, LogStatus.DEFERRED.value)


class AlarmTables(TicketTables):
    """The Alarms table."""

    def note_alarms(self, jobs: Sequence[Job], summaries: Sequence[str | None]) -> None:
        """Record, inside the intake's transaction, what each automatic job's GUID last said."""
        rows = [
            (job.guid, iso(job.time), job.id, job.action.value, iso(job.time), summary)
            for job, summary in zip(jobs, summaries, strict=True)
            # a CALL says nothing about the alarm (its state is its last CREATE/UPDATE/RESOLVE)
            if job.type == LogType.AUTOMATIC and job.action != Action.CALL
        ]
        self.db.conn.executemany(
            "INSERT INTO alarms (guid, first_at, last_log_id, last_action, last_at, summary)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(guid) DO UPDATE SET"
            " last_log_id = excluded.last_log_id, last_action = excluded.last_action,"
            " last_at = excluded.last_at, summary = coalesce(excluded.summary, alarms.summary)",
            rows,
        )

    def note_linked(self, guid: str) -> None:
        """A GUID linked to a ticket before any command of its (driver.app.linking) is known from
        now on: its row says LINK until its first command (state unknown: the alarm said nothing)."""
        now = iso(self.clock())
        self.db.conn.execute(
            "INSERT OR IGNORE INTO alarms (guid, first_at, last_log_id, last_action, last_at)"
            " VALUES (?, ?, 0, 'LINK', ?)",
            (guid, now, now),
        )

    def alarm_page(self, query: AlarmFilter, hold_seconds: float, now: datetime) -> AlarmRows:
        """Alarms matching the filter, newest activity first (see the module docstring).

        hold_seconds: [lifecycle] resolve_hold_seconds (a RESOLVE still open within it is in its
        hold); now: an aware datetime.
        """
        where: list[str] = []
        values: list[Any] = []
        held = "(a.last_action = 'RESOLVE' AND l.status IN (?, ?) AND a.last_at > ?)"
        hold_values = [*_OPEN, iso(now - timedelta(seconds=hold_seconds))] if hold_seconds > 0 else None
        if query.state == "active":
            where.append(f"a.last_action IN {_ACTIVE!r}")
        elif query.state == "resolve_hold":
            if hold_values is None:
                where.append("1 = 0")
            else:
                where.append(held)
                values += hold_values
        elif query.state == "cleared":
            where.append("a.last_action = 'RESOLVE'")
            if hold_values is not None:
                where.append(f"NOT coalesce({held}, FALSE)")  # FALSE: a boolean on PostgreSQL too
                values += hold_values
        elif query.state == "unknown":
            where.append(f"a.last_action NOT IN {_ACTIVE + ('RESOLVE',)!r}")
        if query.category:
            where.append("t.status_category = ?")
            values.append(query.category)
        if query.text:
            # the keys are searched once, as a set, not joined row by row: half the time at 100,000
            where.append(
                "(a.guid LIKE ? ESCAPE '\\' OR a.summary LIKE ? ESCAPE '\\'"
                " OR a.guid IN (SELECT guid FROM tickets WHERE ticket_key LIKE ? ESCAPE '\\'))"
            )
            values += [contains_pattern(query.text)] * 3
        joins = (
            " FROM alarms a LEFT JOIN tickets t ON t.guid = a.guid LEFT JOIN log l ON l.id = a.last_log_id"
        )
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        # The count joins only what its filter reads: over 100,000 alarms each join costs tens of ms.
        counted = " FROM alarms a"
        if query.category:
            counted += " LEFT JOIN tickets t ON t.guid = a.guid"
        if hold_values is not None and query.state in ("resolve_hold", "cleared"):
            counted += " LEFT JOIN log l ON l.id = a.last_log_id"
        (total,) = self.db.execute(f"SELECT count(*){counted}{clause}", values).fetchone()
        if query.before is not None:
            clause += (" AND " if clause else " WHERE ") + "a.last_log_id < ?"
            values = [*values, query.before]
        found = self.db.execute(
            f"SELECT a.guid, a.summary, a.last_action, a.last_at, a.last_log_id, l.status, l.type,"
            f" a.first_at, t.guid IS NOT NULL, {self._TICKET_COLUMNS_OF_T}{joins}{clause}"
            " ORDER BY a.last_log_id DESC LIMIT ?",
            [*values, query.limit + 1],
        ).fetchall()
        page = found[: query.limit]
        counts = self._row_counts([str(r[0]) for r in page])
        rows = [self._record(r, counts.get(str(r[0]), RowCounts()), hold_seconds, now) for r in page]
        more = len(found) > query.limit and page
        return AlarmRows(rows, int(total), int(page[-1][4]) if more else None)

    def _record(
        self, row: Sequence[Any], counts: RowCounts, hold_seconds: float, now: datetime
    ) -> AlarmRecord:
        guid, summary, action, last_at, last_id, status, kind, first_at, has_ticket = row[:9]
        at = datetime.fromisoformat(last_at)
        last_status = LogStatus(status) if status is not None else None
        facts = RowFacts(
            last_id, LogType(kind or LogType.AUTOMATIC.value), action, last_status or LogStatus.OK, at
        )
        return AlarmRecord(
            guid=guid,
            summary=summary,
            last_action=action,
            last_at=at,
            last_log_id=int(last_id),
            last_status=last_status,
            alarm=alarm_state(facts, hold_seconds, now),
            ticket=self._ticket(row[9:]) if has_ticket else None,
            counts=counts,
            first_at=moment_of(first_at) or at,
        )

    def _row_counts(self, guids: list[str]) -> dict[str, RowCounts]:
        """Per GUID, its rows' counts (RowCounts); one index walk of log_guid per GUID."""
        if not guids:
            return {}
        marks = ", ".join("?" for _ in guids)
        found = self.db.execute(
            # count(*) FILTER: both databases speak it (SQLite >= 3.30); sum() of a comparison is
            # SQLite's alone
            "SELECT guid,"
            " count(*) FILTER (WHERE action = 'UPDATE' AND status = 'Ok' AND merged_into IS NULL),"
            " count(*) FILTER (WHERE action = 'UPDATE' AND status = 'Ok' AND merged_into IS NOT NULL),"
            " count(*) FILTER (WHERE action = 'UPDATE' AND status IN ('Pending', 'Deferred')),"
            " count(*) FILTER (WHERE status = 'Failed'),"
            " max(CASE WHEN status = 'Ok' AND merged_into IS NULL THEN settled_at END)"
            f" FROM log WHERE guid IN ({marks}) GROUP BY guid",
            guids,
        ).fetchall()
        return {
            str(r[0]): RowCounts(
                int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), moment_of(r[5])
            )
            for r in found
        }

    # --- the actions --------------------------------------------------------------------------

    def failed_entries(self, guid: str, limit: int) -> list[NewEntry]:
        """The GUID's Failed rows not retried yet (oldest first, at most the newest `limit`) as new
        entries to accept again: the same type, action and payload, noting which row each retries."""
        found = self.db.execute(
            "SELECT id, type, action, payload FROM log WHERE guid = ? AND status = ?"
            f" AND note NOT LIKE '%{RETRIED}%' ORDER BY id DESC LIMIT ?",
            (guid, LogStatus.FAILED.value, limit),
        ).fetchall()
        return [
            NewEntry(
                LogType(kind),
                Action(action),
                guid,
                JobPayload.from_json(payload),
                note=f"retry of log #{row_id}",
                retries=row_id,
            )
            for row_id, kind, action, payload in reversed(found)
        ]

    def unlink_ticket(self, guid: str) -> TicketRecord | None:
        """End the GUID's ticket (it stays in the history, `ended` = 'unlinked'); the GUID's next
        CREATE makes the next generation's ticket. The ticket ended, or None if it had none."""
        with self.transaction():
            record = self.ticket(guid)
            if record is None:
                return None
            self.db.conn.execute(
                "UPDATE ticket_history SET ended = 'unlinked', ended_at = ?"
                " WHERE guid = ? AND generation = ?",
                (iso(self.clock()), guid, record.generation),
            )
            self.db.conn.execute("DELETE FROM tickets WHERE guid = ?", (guid,))
        return record
