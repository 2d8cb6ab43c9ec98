"""What the engine keeps in memory of each GUID's ticket: the record as the store has it, which
creates are in doubt, and which never-seen GUIDs were searched for already.

The store is the truth; this is the engine's cache of it, changed by recording only after the
store's transaction commits (so a failed write leaves memory as it was), and by sync when a person
changes a ticket in Jira.
"""

from __future__ import annotations

from dataclasses import replace

from driver.model.jobs import DOUBTFUL, TicketRecord, TicketState
from driver.sending.queues import GuidQueues
from driver.store import Store

KEEP_RECORDS = 10_000
"""Ticket records kept in memory besides those of GUIDs with open rows or a create in doubt (a
record is about a kilobyte): the others are read from the store again when their GUID's next
command comes, so a million alarms over a year do not each hold memory for good."""


class KnownTickets:
    """The ticket records and the GUIDs in doubt, by GUID."""

    def __init__(self, store: Store, queues: GuidQueues) -> None:
        self.store = store
        self.queues = queues
        self._tickets: dict[str, TicketRecord | None] = {}
        self._in_doubt: set[str] = set()
        self._unknown_probed: set[str] = set()
        self._shed_at = KEEP_RECORDS + KEEP_RECORDS // 4

    def load(self) -> None:
        """Take the creates in flight or in doubt when the driver stopped as in doubt (at start)."""
        for record in self.store.tickets_in(DOUBTFUL):
            # Whatever was in flight when the driver stopped may have reached Jira.
            self._in_doubt.add(record.guid)
            if record.probes:
                # A miss before the restart may be moments old: the second probe must still come
                # probe_delay after a first one, or a lagging search (Cloud) makes a duplicate.
                self.store.set_ticket_state(record.guid, record.state, 0)
            self._tickets[record.guid] = replace(record, probes=0)

    def ticket(self, guid: str) -> TicketRecord | None:
        """The GUID's ticket record (read from the store once, then kept); None if it has none."""
        if guid in self._tickets:
            return self._tickets[guid]
        record = self.store.ticket(guid)
        self._remember(guid, record)
        return record

    def ticket_or_generation(self, guid: str) -> tuple[TicketRecord | None, int]:
        """The GUID's ticket record as `ticket` gives it, or None and the highest generation it has
        had (0: none), read with the record when it is not kept (one statement for a new GUID)."""
        if guid in self._tickets:
            record = self._tickets[guid]
            return record, 0 if record is not None else self.store.max_generation(guid)
        record, generation = self.store.ticket_or_generation(guid)
        self._remember(guid, record)
        return record, generation

    def _remember(self, guid: str, record: TicketRecord | None) -> None:
        self._tickets[guid] = record
        if len(self._tickets) > self._shed_at:
            self._shed()

    def _shed(self) -> None:
        """Forget the oldest records of GUIDs with nothing open and nothing in doubt (the store has
        them), down to KEEP_RECORDS; the next shed comes a quarter of that later (amortized)."""
        excess = len(self._tickets) - KEEP_RECORDS
        for guid in list(self._tickets):
            if excess <= 0:
                break
            if guid in self._in_doubt or self.queues.holds(guid):
                continue
            del self._tickets[guid]
            excess -= 1
        self._shed_at = max(KEEP_RECORDS, len(self._tickets)) + KEEP_RECORDS // 4

    def cached(self, guid: str) -> TicketRecord | None:
        """The record kept for the GUID, without reading the store."""
        return self._tickets.get(guid)

    def changed(self, record: TicketRecord) -> None:
        """The store's record of a GUID's ticket changed outside the engine (sync): keep the new one."""
        if record.guid in self._tickets or self.queues.holds(record.guid):
            self._tickets[record.guid] = record

    def is_in_doubt(self, guid: str, ticket: TicketRecord | None, probe_unknown: bool) -> bool:
        """The GUID's next row must be a stamp search: an earlier create may have reached Jira, or
        (`probe_unknown`) the store has no record of it and it was not searched for yet."""
        if guid in self._in_doubt:
            return True
        return probe_unknown and ticket is None and guid not in self._unknown_probed

    def created_in_doubt(self, guid: str) -> bool:
        """A create of this GUID's ticket went out and its outcome is unknown (not merely unseen)."""
        return guid in self._in_doubt

    def journaled(self, guid: str, log_id: int, generation: int = 1) -> None:
        """The create's intent is committed (`store.journal_intent`): memory follows."""
        self._tickets[guid] = TicketRecord(
            guid, TicketState.CREATING, create_log_id=log_id, generation=generation
        )

    # --- what recording learnt (after its transaction committed) ----------------------------------

    def keep(self, record: TicketRecord) -> None:
        """The GUID's ticket is now this record (created, found, transitioned, deleted in Jira)."""
        self._tickets[record.guid] = record

    def settled(self, record: TicketRecord) -> None:
        """The GUID's create is settled: this is its ticket, nothing is in doubt."""
        self._tickets[record.guid] = record
        self._in_doubt.discard(record.guid)

    def forget(self, guid: str) -> None:
        """The GUID has no ticket (a create that surely did not happen, a probe's trusted miss)."""
        self._tickets.pop(guid, None)

    def doubt(self, guid: str, record: TicketRecord | None = None) -> None:
        """A create of the GUID may have reached Jira: search before anything else is sent."""
        if record is not None:
            self._tickets[guid] = record
        self._in_doubt.add(guid)

    def trust(self, guid: str) -> None:
        """The GUID's create is settled as not done (enough misses): a create may go again."""
        self._in_doubt.discard(guid)

    def unknown_searched(self, guid: str) -> None:
        """A GUID the store never knew was searched for and not found."""
        self._unknown_probed.add(guid)

    def probes(self, guid: str, probes: int) -> None:
        """How many stamp searches of the GUID's create missed so far."""
        if (current := self._tickets.get(guid)) is not None:
            self._tickets[guid] = replace(current, probes=probes)
