"""The store: the one SQLite database of a driver (one connection, one writer).

`Store` is the facade every part uses; its methods come from one module per table family:

- log: intake, the queue, retention (`LogFilter`, `TRIM_BATCH`)
- log_read: entries and pages of the log
- tickets: a GUID's ticket record and history
- journals: the transition, comment and webhook-delivery journals (`TransitionIntent`,
  `CommentState`)
- counters: totals, daily statistics, settings (the keys `S_*`), the database's identity
- files: the file's mode and corruption (`DatabaseFileError`); database_file: its identity marker
  and lock; secret_file: secrets set at run time; migrations: the schema

Public names: `Store`, `open_store` (SQLite or PostgreSQL, by [driver] database), `LogFilter`,
`DatabaseFileError`, `read_ticket_state` (the Ticket Creation Table and field catalog of a
database, read without a driver), `S_*`, `iso`, `TRIM_BATCH`.
"""

from driver.store.counters import (
    S_AUTH,
    S_CATALOG,
    S_CONFIG_FILE,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    DatabaseIdentity,
    Total,
)
from driver.store.database import Store, open_store, read_ticket_state
from driver.store.files import DatabaseFileError
from driver.store.journals import CommentState, TransitionIntent
from driver.store.log import TRIM_BATCH, LogFilter
from driver.store.tables import iso

__all__ = [
    "S_AUTH",
    "S_CATALOG",
    "S_CONFIG_FILE",
    "S_LOG",
    "S_TICKET_LOCATION",
    "S_TICKET_TABLE",
    "S_UPDATE",
    "TRIM_BATCH",
    "CommentState",
    "DatabaseFileError",
    "DatabaseIdentity",
    "LogFilter",
    "Store",
    "Total",
    "TransitionIntent",
    "iso",
    "open_store",
    "read_ticket_state",
]
