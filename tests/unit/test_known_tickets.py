"""KnownTickets keeps a bounded number of ticket records in memory: those of GUIDs with open rows
or a create in doubt always, the others up to KEEP_RECORDS (the store has them)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload, TicketRecord, TicketState
from driver.sending import known_tickets
from driver.sending.known_tickets import KnownTickets
from driver.sending.queues import GuidQueues
from driver.store import Store

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def test_records_beyond_the_bound_are_forgotten_but_never_those_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known_tickets, "KEEP_RECORDS", 8)
    store = Store(tmp_path / "k.db", clock=lambda: NOW)
    for n in range(40):
        store.ticket_created(
            TicketRecord(f"g{n}", TicketState.CREATED, str(n), f"OPS-{n}", f"u/{n}", created_at=NOW)
        )
    queues = GuidQueues()
    known = KnownTickets(store, queues)
    queues.add(
        [Job(1, LogType.AUTOMATIC, Action.UPDATE, "g0", NOW, LogStatus.PENDING, 0, JobPayload(text=""))], NOW
    )
    known.ticket("g0")
    known.doubt("g1", known.ticket("g1"))
    for n in range(2, 40):
        record = known.ticket(f"g{n}")
        assert record is not None
        assert record.ticket_key == f"OPS-{n}"
        assert len(known._tickets) <= 8 + 8 // 4 + 1
    assert known.cached("g0") is not None
    assert known.cached("g1") is not None
    assert known.cached("g2") is None  # the oldest idle one went first
    again = known.ticket("g2")  # and is read from the store again
    assert again is not None
    assert again.ticket_key == "OPS-2"
