"""The Responses table (table `responses`): every answer the driver heard from Jira, written in the
transaction of the outcome it belongs to (no commit of its own), or a second's loose ones together;
paged newest first, kept like the log (at most `max_entries` rows, none older than N days)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from driver.model.responses import (
    HeardResponse,
    ResponseFilter,
    ResponseKind,
    ResponsePage,
    StoredResponse,
)
from driver.store.tables import Tables, iso

_COLUMNS = (
    "id, at, kind, method, path, status, duration_ms, retry_after, rate_limit_reason, request_id,"
    " body, error, log_id"
)


def _stored(row: Sequence[Any]) -> StoredResponse:
    return StoredResponse(
        row[0],
        HeardResponse(
            at=datetime.fromisoformat(row[1]),
            kind=ResponseKind(row[2]),
            method=row[3],
            path=row[4],
            status=row[5],
            duration_ms=row[6],
            retry_after=row[7],
            rate_limit_reason=row[8],
            request_id=row[9],
            body=row[10],
            error=row[11],
            log_id=row[12],
        ),
    )


def _where(query: ResponseFilter) -> tuple[str, list[Any]]:
    """The WHERE clause of a filter (without before_id) and its parameters."""
    parts: list[str] = []
    values: list[Any] = []
    status = query.status
    if status == "none":
        parts.append("status IS NULL")
    elif status is not None and status.endswith("xx"):
        low = int(status[0]) * 100
        parts.append("status BETWEEN ? AND ?")
        values += [low, low + 99]
    elif status is not None:
        parts.append("status = ?")
        values.append(int(status))
    if query.kind is not None:
        parts.append("kind = ?")
        values.append(query.kind.value)
    if query.log_id is not None:
        parts.append("log_id = ?")
        values.append(query.log_id)
    return (" WHERE " + " AND ".join(parts)) if parts else "", values


class ResponseTables(Tables):
    """The Responses table."""

    def add_responses(self, responses: Iterable[HeardResponse], log_id: int | None = None) -> None:
        """Keep these answers (inside the caller's transaction when there is one); `log_id`, when
        given, is the row they served (else each one's own)."""
        self.write_many_later(
            "INSERT INTO responses (at, kind, method, path, status, duration_ms, retry_after,"
            " rate_limit_reason, request_id, body, error, log_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    iso(r.at),
                    r.kind.value,
                    r.method,
                    r.path,
                    r.status,
                    r.duration_ms,
                    r.retry_after,
                    r.rate_limit_reason,
                    r.request_id,
                    r.body,
                    r.error,
                    log_id if log_id is not None else r.log_id,
                )
                for r in responses
            ],
        )

    def response_page(self, query: ResponseFilter) -> ResponsePage:
        """Responses matching the filter, newest first, `query.limit` of them before `before_id`."""
        where, values = _where(query)
        (total,) = self.db.execute(f"SELECT count(*) FROM responses{where}", values).fetchone()
        paged = where + (" AND " if where else " WHERE ") + "id < ?" if query.before_id else where
        params = [*values, query.before_id] if query.before_id else values
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM responses{paged} ORDER BY id DESC LIMIT ?", [*params, query.limit + 1]
        ).fetchall()
        more = len(rows) > query.limit
        page = [_stored(r) for r in rows[: query.limit]]
        return ResponsePage(page, int(total), page[-1].id if more and page else None)

    def trim_responses(self, max_entries: int, batch: int) -> int:
        """Remove the oldest responses beyond `max_entries` (0: no limit), at most `batch`; how many."""
        if max_entries <= 0:
            return 0
        with self.transaction():
            cursor = self.db.conn.execute(
                "DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE id <="
                " (SELECT max(id) FROM responses) - ? ORDER BY id LIMIT ?)",
                (max_entries, batch),
            )
        return cursor.rowcount

    def remove_responses_older_than(self, days: int, batch: int) -> int:
        """Remove responses older than `days` (0: keep them), at most `batch`; how many."""
        if days <= 0:
            return 0
        cut = iso(self.clock() - timedelta(days=days))
        # The oldest `batch` rows by id, those of them older than the cut: answers are written in
        # the order heard, so this walks the primary key, and the table needs no index on `at`
        # (one index less to write per request).
        with self.transaction():
            cursor = self.db.conn.execute(
                "DELETE FROM responses WHERE id IN (SELECT id FROM responses ORDER BY id LIMIT ?) AND at < ?",
                (batch, cut),
            )
        return cursor.rowcount
