"""Counters, daily statistics, settings and the database's identity (tables `stats_days`,
`stats_offsets`, `stats_totals`, `settings`, `identity`).

The Statistics page's total of creates (updates) is the sum of its days plus an offset, which only a
reset moves: counting one is one upsert of its day's row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from driver.contract.schemas import Statistics, StatsReset
from driver.model.statistics import Statistic, day_of, reset_plan, summarize
from driver.store.tables import Tables, iso, to_json

# Settings keys.
S_TICKET_TABLE = "ticket_table"
S_CATALOG = "catalog"
S_UPDATE = "update"
S_LOG = "log"
S_TICKET_LOCATION = "ticket_location"
S_AUTH = "auth"
S_CONFIG_FILE = "config_file"
S_JIRA = "jira_url"
"""The config file's values of the run-time settings as the last start read them."""


@dataclass(frozen=True)
class DatabaseIdentity:
    """Who a database is: its random id (hex), and the id of the database it replaced, if any."""

    id: str
    replaces: str | None = None
    born_at: datetime | None = None
    """When this database was born (first start, found without its marker, `run --init`); None:
    before migration 0008, i.e. long ago."""


class Total(StrEnum):
    """Running totals kept beside the statistics (`stats_totals`): webhook deliveries, by result."""

    WEBHOOK_APPLIED = "webhook_applied"
    WEBHOOK_UNCHANGED = "webhook_unchanged"
    WEBHOOK_DUPLICATE = "webhook_duplicate"
    WEBHOOK_IGNORED = "webhook_ignored"


class Counters(Tables):
    """Small tables of single values."""

    def count_total(self, counter: Total, n: int = 1) -> None:
        """Add n to a running total other than the create/update statistics (`stats_totals`)."""
        self.db.conn.execute(
            "INSERT INTO stats_totals (counter, value) VALUES (?, ?)"
            " ON CONFLICT(counter) DO UPDATE SET value = stats_totals.value + excluded.value",
            (counter.value, n),
        )

    def total(self, counter: Total) -> int:
        """A running total (0 when never counted)."""
        return self.totals([counter])[counter]

    def totals(self, counters: Sequence[Total]) -> dict[Total, int]:
        """Several running totals in one read (0 for each never counted)."""
        if not counters:
            return {}
        marks = ", ".join("?" * len(counters))
        found = dict(
            self.db.execute(
                f"SELECT counter, value FROM stats_totals WHERE counter IN ({marks})",
                [c.value for c in counters],
            ).fetchall()
        )
        return {c: int(found.get(c.value, 0)) for c in counters}

    # --- statistics -----------------------------------------------------------------------------

    def count(self, counter: Statistic, n: int = 1) -> None:
        """Add n to today's count of a statistic (and so to its total)."""
        column = counter.day_column
        self.write_later(
            f"INSERT INTO stats_days (day, {column}) VALUES (?, ?)"
            f" ON CONFLICT(day) DO UPDATE SET {column} = stats_days.{column} + excluded.{column}",
            (day_of(self.clock(), self.zone), n),
        )

    def statistics(self) -> Statistics:
        """The Statistics page as of the clock's now."""
        days = {
            row[0]: (int(row[1]), int(row[2]))
            for row in self.db.execute("SELECT day, created, updated FROM stats_days").fetchall()
        }
        offsets = dict(self.db.execute("SELECT counter, value FROM stats_offsets").fetchall())
        totals = {
            counter.value: int(offsets.get(counter.value, 0)) + sum(day[i] for day in days.values())
            for i, counter in enumerate((Statistic.CREATE, Statistic.UPDATE))
        }
        return summarize(days, totals, self.clock(), self.zone)

    def reset_statistics(self, reset: StatsReset) -> Statistics:
        """Clear totals and/or today's and yesterday's counts of one or both counters."""
        plan = reset_plan(reset, self.clock(), self.zone)
        conn = self.db.conn
        with self.transaction():
            for counter in plan.counters:
                column = counter.day_column
                for day in plan.days:
                    # a day cleared leaves the total as it was: the offset keeps what it counted.
                    # The day's row is made or locked first: a count the other node of a pair
                    # commits between the two statements would otherwise be cleared and not kept
                    conn.execute(
                        f"INSERT INTO stats_days (day) VALUES (?)"
                        f" ON CONFLICT(day) DO UPDATE SET {column} = stats_days.{column}",
                        (day,),
                    )
                    conn.execute(
                        f"UPDATE stats_offsets SET value = value"
                        f" + coalesce((SELECT {column} FROM stats_days WHERE day = ?), 0) WHERE counter = ?",
                        (day, counter.value),
                    )
                    conn.execute(f"UPDATE stats_days SET {column} = 0 WHERE day = ?", (day,))
                if plan.totals:
                    conn.execute(
                        "UPDATE stats_offsets SET value ="
                        f" -coalesce((SELECT sum({column}) FROM stats_days), 0) WHERE counter = ?",
                        (counter.value,),
                    )
        return self.statistics()

    # --- identity -------------------------------------------------------------------------------

    def identity(self) -> DatabaseIdentity:
        """The database's random id, the id of the one it replaced (`run --init`), if any, and its birth."""
        row = self.db.execute("SELECT id, replaces, born_at FROM identity").fetchone()
        born = None if row[2] is None else datetime.fromisoformat(str(row[2]))
        return DatabaseIdentity(str(row[0]), None if row[1] is None else str(row[1]), born)

    def record_birth(self, moment: datetime) -> None:
        """Record that this database is new as of `moment` (UTC; committed at once)."""
        with self.transaction():
            self.db.conn.execute("UPDATE identity SET born_at = ?", (iso(moment),))

    def record_replaced(self, previous: str) -> None:
        """Record that this database took over from the one with id `previous` (committed at once)."""
        with self.transaction():
            self.db.conn.execute("UPDATE identity SET replaces = ?", (previous,))

    # --- settings -------------------------------------------------------------------------------

    def setting(self, key: str) -> Any:
        """A stored setting's JSON value, or None."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def forget_secret_setting(self, key: str, value: Any) -> None:
        """Replace a setting that held a secret so that no copy of it stays in the file.

        secure_delete zeroes the freed bytes, and a truncating checkpoint drops the WAL's copy.
        """
        self.db.execute("PRAGMA secure_delete = ON")
        try:
            self.put_setting(key, value)
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.execute("PRAGMA secure_delete = OFF")

    def put_setting(self, key: str, value: Any) -> None:
        """Store a setting (committed at once unless inside a transaction)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, to_json(value)),
            )
