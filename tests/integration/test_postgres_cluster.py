"""The throwaway PostgreSQL cluster the PostgreSQL store's tests will run on (issue 22, item 5):
it starts without a system service, takes writes in transactions, and rolls one back whole."""

from __future__ import annotations

import psycopg
import pytest


def test_the_throwaway_cluster_takes_transactions(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None
        assert int(version[0]) >= 130000  # issue 22 asks for PostgreSQL 13 or newer
        conn.execute("CREATE TABLE probe (id integer PRIMARY KEY, note text NOT NULL)")
        with conn.transaction():
            conn.execute("INSERT INTO probe VALUES (1, 'kept')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            two_inserts(conn)
        assert conn.execute("SELECT id, note FROM probe ORDER BY id").fetchall() == [(1, "kept")]
        conn.execute("DROP TABLE probe")


def two_inserts(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """A new row, then a duplicate key, in one transaction (the first is rolled back with it)."""
    with conn.transaction():
        conn.execute("INSERT INTO probe VALUES (2, 'rolled back with the next')")
        conn.execute("INSERT INTO probe VALUES (1, 'a duplicate')")
