"""The log, read side: one row with its detail, and pages of rows (domain records: the API turns
them into its bodies)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from driver.contract.schemas import LogStatus, LogType
from driver.model.jobs import LogRow, LogRows
from driver.store.log import LogFilter
from driver.store.tables import Tables, by_name, columns, contains_pattern, from_json, iso


class LogReads(Tables):
    """Reading the log (table `log`)."""

    # --- the log, read side ---------------------------------------------------------------------

    _COLUMNS = (
        "id, type, action, guid, time, status, ticket_id, ticket_key, ticket_url, error, attempts,"
        " duration_ms, note"
    )
    _NAMES = columns(_COLUMNS)

    @classmethod
    def _row(cls, values: Sequence[Any], request: Any = None, response: Any = None) -> LogRow:
        row = by_name(cls._NAMES, values[: len(cls._NAMES)])
        return LogRow(
            id=row["id"],
            type=LogType(row["type"]),
            action=row["action"],
            guid=row["guid"],
            time=datetime.fromisoformat(row["time"]),
            status=LogStatus(row["status"]),
            ticket_id=row["ticket_id"],
            ticket_key=row["ticket_key"],
            ticket_url=row["ticket_url"],
            error=row["error"] or "",
            attempts=row["attempts"],
            duration_ms=row["duration_ms"],
            note=row["note"] or "",
            request=request,
            response=response,
        )

    def log_entry(self, log_id: int) -> LogRow | None:
        """One log row with its request and response detail."""
        found = self.db.execute(
            f"SELECT {self._COLUMNS}, request, response, payload FROM log WHERE id = ?", (log_id,)
        ).fetchone()
        if found is None:
            return None
        detail = by_name((*self._NAMES, "request", "response", "payload"), found)
        # Not sent yet: show what will be sent.
        request = (
            from_json(detail["request"]) if detail["request"] is not None else from_json(detail["payload"])
        )
        return self._row(found, request, from_json(detail["response"]))

    def log_page(self, flt: LogFilter) -> LogRows:
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
            pattern = contains_pattern(flt.q)
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
        found = [self._row(row) for row in rows]
        return LogRows(found, int(total), found[-1].id if more and found else None)

    def oldest_open_at(self) -> datetime | None:
        """When the oldest row not yet settled (Pending or Deferred) was accepted; None: none."""
        found = self.db.execute(
            "SELECT time FROM log WHERE id = (SELECT min(id) FROM log WHERE status IN (?, ?))",
            (LogStatus.PENDING.value, LogStatus.DEFERRED.value),
        ).fetchone()
        return datetime.fromisoformat(found[0]) if found else None
