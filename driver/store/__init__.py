"""The store: the one SQLite database of a driver (one connection, one writer).

Public names: `Store` (the facade every part uses), `LogFilter`, `DatabaseFileError`,
`read_ticket_state` (the Ticket Creation Table and field catalog of a database, read without a
driver), the settings keys `S_*`, `iso` (how a moment is written), `TRIM_BATCH`.
"""

from driver.store.database import (
    S_AUTH,
    S_CATALOG,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    TRIM_BATCH,
    DatabaseFileError,
    LogFilter,
    Store,
    iso,
    read_ticket_state,
)

__all__ = [
    "S_AUTH",
    "S_CATALOG",
    "S_LOG",
    "S_TICKET_LOCATION",
    "S_TICKET_TABLE",
    "S_UPDATE",
    "TRIM_BATCH",
    "DatabaseFileError",
    "LogFilter",
    "Store",
    "iso",
    "read_ticket_state",
]
