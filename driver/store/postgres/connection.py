"""One psycopg connection dressed as what the store's table families use: sqlite-utils' Database
(`execute`) and the sqlite3 connection under it (`conn.execute`, `conn.in_transaction`), each
statement translated by driver.store.dialect (issue 22 item 1).

Errors keep the store's one vocabulary, the DB-API classes as the standard library spells them
(the engine, the API and upkeep already wait on sqlite3.OperationalError and report
sqlite3.IntegrityError): a PostgreSQL that cannot be reached, or that ends the session, is a
`DatabaseUnavailable`, which is a sqlite3.OperationalError, so every caller waits and retries as
for a locked or full SQLite file; a constraint refused is a sqlite3.IntegrityError.

PRAGMAs are SQLite's settings of its own file (WAL, secure_delete, checkpoints): on PostgreSQL they
mean nothing and are skipped.

Writes whose answer nobody reads (`defer`, the table families' `write_later`) wait inside their
transaction, and so does its BEGIN (with the lease's fence, `begin_later`), and they go in one
pipeline with the next statement that needs an answer (last, its answer the caller's), or with the
COMMIT: each statement is otherwise a round trip during which the driver's event loop waits, and the
engine's record of one create is six of them. A deferred write's error is raised there. A
transaction none of which has gone when its COMMIT comes goes without BEGIN and COMMIT
(`_sent_whole`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from driver.store.dialect import to_postgresql

CONNECT_TIMEOUT = 5
"""Seconds a connection to PostgreSQL may take (libpq's connect_timeout is whole seconds)."""


IDLE_IN_TRANSACTION = "SET idle_in_transaction_session_timeout = '2s'"
"""The store's transactions run from BEGIN to COMMIT without waiting on anything but the database:
a session idle inside one for 2 s belongs to a process that stopped (SIGSTOP, a frozen VM). The
server then ends it, which releases its locks: the lease row a fenced write holds FOR SHARE (a
takeover waits on it) and the hand-off's intake lock (the leader's watermark waits on it)."""


class DatabaseUnavailable(sqlite3.OperationalError):
    """PostgreSQL cannot be reached, or ended the session: the write waits, as for a locked file."""


class PostgresIntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL refused (a key taken, a NOT NULL), as the store reports SQLite's."""


class _NoRows:
    """The answer to a skipped statement."""

    rowcount = -1

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []


class PostgresConnection:
    """The table families' `self.db` and `self.db.conn` on PostgreSQL (autocommit: the families'
    own BEGIN, SAVEPOINT and COMMIT make the transactions, as on SQLite)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._lost = False
        self._later: list[tuple[str, list[Any]]] = []
        # a transaction begun here whose BEGIN has not gone yet (begin_later): its first statements
        self._opening: list[tuple[str, list[Any]]] = []
        # the SQLSTATE by which the opening's check refuses the transaction, and what it means
        self._refusal: tuple[str, Callable[[], Exception]] | None = None
        # the opening's check refused the transaction: what every statement raises until ROLLBACK
        self._refused: Callable[[], Exception] | None = None
        self.pg = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            pg = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            pg.execute(IDLE_IN_TRANSACTION)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"PostgreSQL: {_first_line(exc)}") from exc
        return pg

    @property
    def conn(self) -> PostgresConnection:
        """Itself: the families reach sqlite3's connection through sqlite-utils' `db.conn`."""
        return self

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open, failed and not yet rolled back, or lost with its session
        (the families' ROLLBACK then ends it here)."""
        status = self.pg.info.transaction_status
        return (
            self._lost
            or bool(self._opening)
            or status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)
        )

    def _may_wait(self) -> bool:
        """Whether statements may wait here: inside a transaction that has not failed."""
        if self._opening:
            return True
        return not self._lost and self.pg.info.transaction_status == TransactionStatus.INTRANS

    def begin_later(
        self, check: str, parameters: Sequence[Any], sqlstate: str, refusal: Callable[[], Exception]
    ) -> None:
        """Begin a transaction whose BEGIN, and `check` after it (written for PostgreSQL, %s
        parameters), go with its first statement that needs an answer, or with its writes and
        COMMIT: one round trip for a transaction that reads nothing. `check` refuses the transaction
        by raising SQLSTATE `sqlstate`: PostgreSQL then skips what follows it, and that statement
        raises `refusal()`, as does every one after it here until the ROLLBACK (a ROLLBACK TO or
        RELEASE does nothing meanwhile: the savepoints went unrun)."""
        if self.in_transaction:
            raise RuntimeError("begin_later inside a transaction")
        self._opening = [("BEGIN", []), (check, _integers(parameters))]
        self._refusal = (sqlstate, refusal)

    def check(
        self, check: str, parameters: Sequence[Any], sqlstate: str, refusal: Callable[[], Exception]
    ) -> None:
        """Run begin_later's `check` now, inside a transaction: its refusal is begin_later's."""
        self.flush()  # before the refusal is set: a pipeline that sends a BEGIN clears it
        self._ready()
        self._refusal = (sqlstate, refusal)
        try:
            with self._errors():
                self.pg.execute(check, _integers(parameters))
        finally:
            self._refusal = None

    def _sent_whole(self, word: str) -> bool:
        """Whether this COMMIT ends a transaction none of which has gone, with no savepoint: it then
        goes without BEGIN and COMMIT, PostgreSQL committing at the pipeline's Sync what ran since
        the last one, or nothing of it after an error (libpq's pipeline mode; two statements less)."""
        return (
            word == "COMMIT"
            and bool(self._opening)
            and not any(text.startswith("SAVEPOINT") for text, _ in self._later)  # the one kept back
        )

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        """Run one of the store's statements. Raises DatabaseUnavailable, PostgresIntegrityError,
        or sqlite3.DatabaseError for anything else PostgreSQL refuses."""
        word = sql.strip().upper()
        if word.startswith("PRAGMA"):
            return _NoRows()
        if self._lost:
            # the session ended inside a transaction: nothing of it may run on a new session as
            # if it were still one transaction; its ROLLBACK (the families' own) ends it
            if word == "ROLLBACK":
                self._lost = False
                return _NoRows()
            if word.startswith(("ROLLBACK TO", "RELEASE")):
                return _NoRows()
        if self._refused is not None:
            if word.startswith(("ROLLBACK TO", "RELEASE")):
                return _NoRows()
            if word != "ROLLBACK":
                raise self._refused()
            self._refused = None  # and the ROLLBACK goes: PostgreSQL holds the failed transaction
        if not parameters and self._savepoint_kept_back(sql, word):
            return _NoRows()
        if word == "BEGIN" and not self.in_transaction:
            self._opening = [("BEGIN", [])]  # it goes with the transaction's first statement sent
            return _NoRows()
        if self._later or self._opening:
            if word.startswith("ROLLBACK"):
                # what waits came after the latest savepoint sent (one still waiting, of another
                # name, is later still): rolled back anyway
                self._later.clear()
                if self._opening and word == "ROLLBACK":
                    self._opening, self._refusal = [], None
                    return _NoRows()  # PostgreSQL never saw the transaction
                self.flush()  # a ROLLBACK TO needs the transaction begun
            elif self._sent_whole(word):
                return self._send_later(None, implicit=True)
            else:
                # what waits, then this statement, one round trip; its cursor is this one's
                params = _integers(parameters or ())
                return self._send_later(to_postgresql(sql, bool(params)), params)
        self._ready()
        params = _integers(parameters or ())
        text = to_postgresql(sql, bool(params))
        alone = not self.in_transaction
        try:
            with self._errors():
                return _committed(self.pg.execute(text, params or None), word)
        except DatabaseUnavailable:
            if word == "ROLLBACK" and (self.pg.broken or self.pg.closed):
                # the families' ROLLBACK met a session that had ended: PostgreSQL rolled the
                # transaction back with it, and the caller's own error is the one to see
                self._lost, self._refused = False, None
                return _NoRows()
            if not (alone and word.startswith("SELECT") and (self.pg.broken or self.pg.closed)):
                raise
        # a read alone on a session that had ended (a restart or failover of PostgreSQL): once
        # more on a new one, so a reader sees no error for what changed nothing (a write is
        # never sent twice: it may have been applied)
        self._ready()
        with self._errors():
            return self.pg.execute(text, params or None)
        raise AssertionError("unreachable")  # pragma: no cover (mypy: _errors re-raises)

    def native(self, sql: str, parameters: Mapping[str, Any]) -> Any:
        """Run a statement written for PostgreSQL (named %(name)s parameters), errors as execute's."""
        self.flush()
        self._ready()
        with self._errors():
            return self.pg.execute(sql, parameters)
        raise AssertionError("unreachable")  # pragma: no cover (mypy: _errors re-raises)

    def script(self, sql: str) -> None:
        """Run statements written for PostgreSQL, several in one round trip (no parameters),
        errors as execute's."""
        self.flush()
        self._ready()
        with self._errors():
            self.pg.execute(sql.encode())

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        """Run one statement once per row of parameters (psycopg pipelines them). One row goes as
        one execute: about 50 µs of the loop's CPU where a pipeline of one costs 75 (loopback)."""
        many = [_integers(row) for row in rows]
        self.flush()
        self._ready()
        with self._errors():
            if len(many) == 1:
                self.pg.execute(to_postgresql(sql, True), many[0])
            elif many:
                with self.pg.cursor() as cursor:
                    cursor.executemany(to_postgresql(sql, True), many)
        return _NoRows()

    def _ready(self) -> None:
        """A session to run the next statement on. Raises DatabaseUnavailable while a transaction
        lost with its session has not been rolled back."""
        if self._lost:
            raise DatabaseUnavailable("PostgreSQL: the session ended inside a transaction")
        if self._refused is not None:
            raise self._refused()
        if self.pg.broken or self.pg.closed:
            self.pg = self._connect()  # a restart, or a failover behind the same address

    def defer(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Inside a transaction, keep one of the store's writes (SQLite's text, as execute's) to
        send with the next statement that needs an answer (the module's docstring); outside one,
        or in one that failed, run it now. Raises what execute raises (a deferred write's own
        error comes from the statement it goes with)."""
        if not self._may_wait():
            self.execute(sql, parameters)
            return
        params = _integers(parameters)
        self._later.append((to_postgresql(sql, bool(params)), params))

    def _savepoint_kept_back(self, sql: str, word: str) -> bool:
        """Whether a savepoint statement needs no round trip of its own: a SAVEPOINT with nothing
        waiting waits itself (it goes with the writes it holds, first in their pipeline); a
        ROLLBACK TO or RELEASE of that savepoint while it still waits is done here. A SAVEPOINT
        behind waiting writes goes with them at once, so that their error is the enclosing
        transaction's, raised before the savepoint's own writes begin."""
        if not word.startswith(("SAVEPOINT ", "ROLLBACK TO ", "RELEASE ")):
            return False  # most statements: no need to ask libpq for the transaction's state
        if not self._may_wait():
            return False
        if word.startswith("SAVEPOINT "):
            if self._later:
                # one that waits alone, of the same name, was rolled back to with nothing since:
                # the new one would mark the same point
                return self._later == [(sql.strip(), [])]
            self._later.append((sql.strip(), []))
            return True
        first = self._later[0][0].upper() if self._later else ""
        if not first.startswith("SAVEPOINT ") or word.split()[-1] != first.split()[-1]:
            return False
        if word.startswith("ROLLBACK TO "):
            del self._later[1:]  # the savepoint stays, as after a ROLLBACK TO sent
            return True
        if word.startswith("RELEASE ") and len(self._later) == 1:
            self._later.clear()  # nothing was written in it
            return True
        return False

    def flush(self) -> None:
        """Send the deferred writes now (one round trip); errors as execute's."""
        if self._later or self._opening:
            self._send_later(None)

    def _send_later(self, last: str | None, parameters: Sequence[Any] = (), implicit: bool = False) -> Any:
        """The deferred writes, then `last` (written for PostgreSQL), in one pipeline (psycopg's:
        one round trip, each statement still prepared once it repeats, where a simple query of them
        all made PostgreSQL parse and plan each one each time); the last statement's cursor.
        `implicit`: the whole transaction, sent without its BEGIN (`_sent_whole`)."""
        opening = bool(self._opening)
        statements = [*self._opening[implicit:], *self._later]
        self._later, self._opening = [], []
        try:
            if self.pg.broken or self.pg.closed:
                if not opening:
                    # deferred writes exist only inside a transaction: it ended with its session
                    self._lost = True
                    raise DatabaseUnavailable("PostgreSQL: the session ended inside a transaction")
                self._ready()  # the transaction never reached the session that ended: all of it goes
            if not statements and last is None:
                return _NoRows()  # a transaction that wrote nothing
            with self._errors(inside=not implicit):
                try:
                    with self.pg.pipeline():
                        try:
                            for text, params in statements:
                                cursor = self.pg.execute(text, params or None)
                            if last is not None:
                                cursor = self.pg.execute(last, parameters or None)
                        except BaseException:
                            if implicit:
                                # the pipeline's end sends the Sync, which commits what is queued:
                                # a value psycopg refused here (a NUL in a text) would leave the
                                # statements before it committed. A session that ends without a
                                # Sync commits nothing; the next statement opens a new one.
                                self.pg.close()
                            raise
                except psycopg.Error:
                    self._forget_prepared()
                    raise
                # the pipeline's end waited for every answer and raised the first error
                return _committed(cursor, (last or "").strip().upper())
        finally:
            if opening:
                self._refusal = None  # the check has answered, or will never be asked

    def _forget_prepared(self) -> None:
        """Forget the statements psycopg prepared, as its own `rollback()` does (they are prepared
        again after a few runs), after a pipeline failed: one it was preparing there was skipped by
        PostgreSQL, yet psycopg may take it for prepared, and its every later run then fails
        ("prepared statement "_pg3_5" does not exist"). psycopg forgets them itself only on some
        ROLLBACKs' answers. Private API: psycopg offers no public call for it, and a test pins it
        (tests/integration/test_pipeline_faults.py)."""
        prepared = getattr(self.pg, "_prepared", None)
        if prepared is not None:
            prepared.clear()

    @contextmanager
    def _errors(self, inside: bool = False) -> Iterator[None]:
        """psycopg's errors as the store's (the module's docstring); a session that ends inside a
        transaction (`inside`: one begun by what is sent) marks it lost; the opening's check
        refusing the transaction raises its refusal (begin_later)."""
        was_in = inside or self.in_transaction
        try:
            yield
        except psycopg.Error as exc:
            raise self._translated(exc, was_in) from exc

    def _translated(self, exc: psycopg.Error, was_in: bool) -> Exception:
        if self._refusal is not None and exc.sqlstate == self._refusal[0]:
            refusal, self._refusal = self._refusal[1], None
            if self.pg.info.transaction_status == TransactionStatus.INERROR:
                self._refused = refusal  # until the ROLLBACK (an implicit one ended at its Sync)
            return refusal()
        if isinstance(exc, (psycopg.OperationalError, psycopg.errors.IdleInTransactionSessionTimeout)):
            # the second: the server ended a session idle in a transaction (IDLE_IN_TRANSACTION)
            self._lost = was_in and (self.pg.broken or self.pg.closed)
            return DatabaseUnavailable(f"PostgreSQL: {_first_line(exc)}")
        if isinstance(exc, psycopg.IntegrityError):
            return PostgresIntegrityError(f"PostgreSQL: {_first_line(exc)}")
        return sqlite3.DatabaseError(f"PostgreSQL: {_first_line(exc)}")

    def close(self) -> None:
        """Close the connection."""
        self.pg.close()


def _committed(cursor: Any, word: str) -> Any:
    """The cursor of a statement; for a COMMIT, raises sqlite3.DatabaseError when PostgreSQL
    answered it ROLLBACK (the transaction had failed: nothing of it was kept), which it does
    without an error, and which must never read as a commit."""
    if word == "COMMIT" and cursor.statusmessage == "ROLLBACK":
        raise sqlite3.DatabaseError("PostgreSQL: the transaction had failed; its COMMIT rolled it back")
    return cursor


def _integers(values: Sequence[Any]) -> list[Any]:
    """Booleans as SQLite keeps them (0, 1): the schema's columns are integers."""
    return [int(v) if isinstance(v, bool) else v for v in values]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
