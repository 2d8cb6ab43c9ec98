"""The driver's schema, as ordered migrations (`0001_initial`, ...), written once in SQLite's words.

On SQLite they are sqlite-utils migrations: each step runs in one transaction together with its
record in `_sqlite_migrations`, so a crash mid-migration leaves the previous schema intact. On
PostgreSQL (driver.store.postgres.schema) the same steps run through driver.store.dialect's
translation. The steps are in `rounds_one_two` (0001 to 0010) and `round_three` (0011 on): add
new ones at the end of the last; never edit an applied one. A statement that fills a new column
or table from rows written before it goes through `backfill`: it runs where such rows can exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

ON_SQLITE = Migrations("jira_driver")
"""The steps as sqlite-utils migrations: `ON_SQLITE.apply(db)` brings a SQLite database up to date."""


class Schema(Protocol):
    """What a step needs of its database: sqlite-utils' Database, or the PostgreSQL schema's."""

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any: ...


Step = Callable[[Schema], None]
STEPS: list[tuple[str, Step]] = []
"""Every step in order, by name: what driver.store.postgres.schema applies."""


def step(name: str) -> Callable[[Step], Step]:
    """Register a migration step for both databases."""

    def register(function: Step) -> Step:
        STEPS.append((name, function))
        return ON_SQLITE(name=name)(function)

    return register


def backfill(db: Schema, sql: str) -> None:
    """Fill a new column or table from rows written before its step, on SQLite only: no PostgreSQL
    database predates 0014, its first version there (and SQLite-only functions would be refused)."""
    if isinstance(db, Database):
        db.execute(sql)


# Each module registers its steps with `step` as it is imported, so the modules' order is the
# steps' (named here, not in an import statement an import sorter may reorder).
for _steps in ("rounds_one_two", "round_three"):
    importlib.import_module(f"{__name__}.{_steps}")
