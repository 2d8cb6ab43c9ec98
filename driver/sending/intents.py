"""What is committed before a request goes out, so that its answer can be lost safely (I/O: SQLite).

    a create            its GUID's ticket record becomes `creating` (docs/wire-facts.md §5): a
                        create whose answer is lost is searched for by its stamp, never made again
    a CALL of an        its row enters the call journal: one whose answer is lost is Failed,
    endpoint not        never repeated (driver.model.endpoints.OUTCOME_UNKNOWN)
    marked idempotent

`write_intent` runs inside the engine's group commit; `intent_written` tells memory once it has
committed. Which work journals first is `Work.journals_first`.
"""

from __future__ import annotations

from driver.sending.known_tickets import KnownTickets
from driver.sending.work import Work, WorkKind
from driver.store import Store


def write_intent(store: Store, work: Work) -> None:
    """Write the work's intent in the caller's transaction; sqlite3.OperationalError as any write."""
    if work.kind == WorkKind.CALL:
        store.journal_call(work.head.id, work.guid)
    else:
        store.journal_intent(work.guid, work.head.id, work.generation)


def intent_written(work: Work, tickets: KnownTickets) -> None:
    """The intent is committed: memory follows (the row journaled, or the ticket being created)."""
    if work.kind == WorkKind.CALL:
        work.head.set_journaled(True)
    else:
        tickets.journaled(work.guid, work.head.id, work.generation)
