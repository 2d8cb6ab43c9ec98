"""What an operator does to one alarm from the Alarms table: resolve it now, retry its Failed
rows, unlink its ticket. Each goes through the paths an Advanced command takes (intake, the
engine), so no action has rules of its own.

Errors: AlarmActionRefused (the API answers 404 or 409 with its reason); the database's own errors
as for intake (sqlite3.OperationalError: nothing changed).
"""

from __future__ import annotations

import sqlite3
from typing import Literal, Protocol

from driver.contract.schemas import LogType
from driver.errors import DriverError
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload, NewEntry, TicketRecord
from driver.sending.engine import Engine
from driver.store import Store

MAX_RETRY_ROWS = 1_000
"""Failed rows one retry accepts again (the newest of them)."""


class AlarmActionRefused(DriverError):
    """The action cannot be done for this GUID now; `kind` says whether it is unknown or busy."""

    def __init__(self, kind: Literal["not_found", "conflict"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Driver(Protocol):
    """What the actions need of the driver (driver.app.driver.Driver has it)."""

    store: Store
    engine: Engine

    def accept(self, entries: list[NewEntry], idempotency: tuple[str, str] | None = None) -> list[Job]: ...


def resolve_now(driver: Driver, guid: str) -> Job:
    """A Manual RESOLVE of the GUID, planned and sent as an Advanced RESOLVE is (the transitions,
    the resolution, the update limit), except that it does not wait out the resolve hold: a
    person decided. AlarmActionRefused when the GUID has no ticket."""
    if driver.store.ticket(guid) is None:
        raise AlarmActionRefused("not_found", f"GUID {guid!r} has no ticket to resolve")
    entry = NewEntry(
        LogType.MANUAL,
        Action.RESOLVE,
        guid,
        JobPayload(text=f"{guid}|RESOLVE|"),
        note="resolved from the Alarms table",
    )
    return driver.accept([entry])[0]


def retry_failed(driver: Driver, guid: str) -> list[Job]:
    """The GUID's Failed rows accepted again as new rows, oldest first (the Failed ones stay as they
    were); AlarmActionRefused when it has none."""
    entries = driver.store.failed_entries(guid, MAX_RETRY_ROWS)
    if not entries:
        raise AlarmActionRefused(
            "not_found", f"GUID {guid!r} has no Failed rows to retry (a row is retried once)"
        )
    try:
        return driver.accept(entries)
    except sqlite3.IntegrityError:  # another retry of the same rows committed first: it stands
        raise AlarmActionRefused(
            "conflict", f"GUID {guid!r}: its Failed rows were retried meanwhile"
        ) from None


def unlink(driver: Driver, guid: str) -> TicketRecord:
    """End the GUID's link to its ticket: its next CREATE makes a new ticket (the next generation,
    whose stamp the old ticket does not carry, so no search adopts it again). Refused while the
    GUID has rows Pending or Deferred (they were planned for that ticket)."""
    open_rows = len(driver.engine.queues.queue(guid))
    if open_rows:
        raise AlarmActionRefused(
            "conflict", f"GUID {guid!r} has {open_rows} open row(s): unlink it once they are settled"
        )
    record = driver.store.unlink_ticket(guid)
    if record is None:
        raise AlarmActionRefused("not_found", f"GUID {guid!r} has no ticket to unlink")
    driver.engine.ticket_unlinked(guid)
    return record
