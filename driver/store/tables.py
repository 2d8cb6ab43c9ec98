"""What every table family of the store shares: the one connection, the clock, and how values are
written (moments as sortable UTC ISO text, JSON without spaces).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from driver.clock import Clock
from driver.contract.schemas import LogStatus

OPEN_STATUSES = (LogStatus.PENDING.value, LogStatus.DEFERRED.value)


def iso(moment: datetime) -> str:
    """A UTC ISO 8601 text that sorts like the moment it names."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def moment_of(value: Any) -> datetime | None:
    """A time stored by `iso`, or None for NULL or ''."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def contains_pattern(text: str) -> str:
    """A LIKE pattern (with `ESCAPE '\\'`) matching `text` anywhere, as typed: its own % and _ are
    plain characters, not wildcards."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def columns(names: str) -> tuple[str, ...]:
    """The column names of a SELECT list written as one string, in order (an expression by its
    `AS` alias; the list may hold no comma inside an expression)."""
    return tuple(name.split(" AS ")[-1].strip() for name in names.split(","))


def by_name(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """A row of a SELECT of `names`, keyed by column: mappers read columns by name, so a column
    added to the list cannot shift the others."""
    return dict(zip(names, row, strict=True))


@dataclass
class FlatWrites:
    """What `Tables.flat` saw: tainted, when an exception left a nested transaction (which had no
    savepoint to roll back to, so its writes may stand half made)."""

    tainted: bool = False


class Tables:
    """The base of each table family: the connection and clocks of the one Store that owns them.

    The families (driver.store.log, .tickets, .journals, .counters, ...) are the parts of Store;
    none is used alone, so each may rely on these attributes, set by Store.__init__.
    """

    path: Path
    db: Database
    clock: Clock
    zone: tzinfo | None

    _savepoints = 0
    _flat: FlatWrites | None = None
    shared = False
    """Whether other drivers use this database too (a pair's PostgreSQL): what is kept beside it on
    one machine (a secret set at run time) is not theirs."""

    @contextmanager
    def transaction(self, begin: Callable[[], None] | None = None) -> Iterator[None]:
        """Group writes into one commit; nested uses become savepoints. `begin`, when this opens
        the transaction, starts it instead of a plain BEGIN (fenced_transaction's).

        On an exception the writes since the start are rolled back (to the savepoint when nested)
        and the exception propagates; a COMMIT that fails rolls the transaction back and raises.
        sqlite_utils' `atomic` does the same, but names each savepoint with secrets.token_hex, a
        urandom read per savepoint: the engine's group commit nests two per request.
        """
        conn = self.db.conn
        if not conn.in_transaction:
            try:
                if begin is None:
                    conn.execute("BEGIN")
                else:
                    begin()
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have ended it itself (disk full, I/O error)
                    conn.execute("ROLLBACK")
                raise
            return
        if self._flat is not None:
            try:
                yield
            except BaseException:
                self._flat.tainted = True
                raise
            return
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
            self.finish_writes()
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    @contextmanager
    def kept_savepoint(self) -> Iterator[None]:
        """Inside a transaction: a savepoint that an exception rolls back to (and propagates), and
        that is otherwise left for the COMMIT to end, not released: one statement where a nested
        `transaction` takes two. For a run of writes side by side (the engine's group commit), each
        rolled back alone; not for nesting (all share one name: a rollback goes to the latest)."""
        conn = self.db.conn
        conn.execute("SAVEPOINT kept")
        try:
            yield
            self.finish_writes()
        except BaseException:
            if conn.in_transaction:  # SQLite may have ended it itself (disk full, I/O error)
                conn.execute("ROLLBACK TO kept")
            raise

    @contextmanager
    def flat(self) -> Iterator[FlatWrites]:
        """Inside a transaction: nested transactions take no savepoint until this block ends, and
        one that an exception left is marked `tainted` on what this yields.

        For the engine's group commit (driver.sending.group_commit), whose writes each have a
        savepoint of their own already (or are the whole transaction): one more per nested
        transaction is two statements, and on PostgreSQL two round trips, a write.
        """
        flat = FlatWrites()
        self._flat = flat
        try:
            yield flat
        finally:
            self._flat = None

    def write_later(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """One write whose answer nobody reads. SQLite runs it now; PostgreSQL, inside a
        transaction, sends it with the next statement that needs an answer or the COMMIT, one round
        trip for several (driver.store.postgres.connection), and raises its error there: by the end
        of the writer's savepoint (`finish_writes`) at the latest. Raises sqlite3.Error."""
        self.db.conn.execute(sql, parameters)

    def write_many_later(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """`write_later` once per row of parameters (SQLite: one executemany)."""
        self.db.conn.executemany(sql, rows)

    def finish_writes(self) -> None:
        """Send what `write_later` kept back, raising its error here: the end of each savepoint
        calls it, so a failed write is rolled back with its own savepoint, never a later one's.
        SQLite keeps nothing back."""

    def fenced_transaction(self) -> AbstractContextManager[None]:
        """A transaction (as `transaction`) whose start is the fence (`begin_fenced`). Raises
        LeaseLost (nothing written) when this node may not send."""
        return self.transaction(begin=self.begin_fenced)

    def begin_fenced(self) -> None:
        """BEGIN, then the fence; PostgreSQL sends both in one round trip."""
        self.db.conn.execute("BEGIN")
        self.fence()

    def fence(self) -> None:
        """Inside a transaction of writes that settle requests (the engine's group commit): go on
        only while this node may send. A store alone (SQLite) always may; a pair's PostgreSQL
        store checks its lease and raises LeaseLost (driver.store.postgres.store)."""

    def intake_barrier(self) -> None:
        """First in an intake's transaction, before its rows take ids. A store alone (SQLite)
        needs none; a pair's PostgreSQL store orders intakes against the leader's hand-off and
        wakes it at commit (driver.store.postgres.handoff)."""

    def in_transaction(self) -> bool:
        """Whether a transaction is open on the connection now."""
        return self.db.conn.in_transaction


RETRIED = "retried as log #"
"""What a Failed row's note says once an Alarms table retry sent it again (never twice)."""


def mark_retried(conn: Any, failed: int, retry: int) -> bool:
    """Mark the Failed row `failed` as sent again by row `retry`, inside the caller's transaction;
    False when it is not a Failed row any more, or was retried already."""
    mark = f"{RETRIED}{retry}"
    return bool(
        conn.execute(
            "UPDATE log SET note = CASE WHEN note = '' THEN ? ELSE note || '; ' || ? END"
            f" WHERE id = ? AND status = ? AND note NOT LIKE '%{RETRIED}%'",
            (mark, mark, failed, LogStatus.FAILED.value),
        ).rowcount
        == 1
    )
