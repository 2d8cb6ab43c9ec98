"""The snapshots' canned double answers log queries as the real store does: same rows, same total."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.jobs import JobPayload, NewEntry
from driver.store import LogFilter, Store
from tests.ui.fake_driver import FakeDriver

QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 7},
    {"before_id": 30, "limit": 10},
    {"status": LogStatus.FAILED},
    {"type": LogType.MANUAL, "limit": 3},
    {"q": "alarm-1"},  # ALARM-1 and ALARM-10..12, whatever the case
    {"q": "URGENTT"},  # in the error text
    {"q": "ops-1", "limit": 4},  # ticket keys
    {"q": "create", "status": LogStatus.OK},  # the action
    {"q": "alarm-1", "before_id": 40, "limit": 3},
    {"q": "nothing matches this"},
]


@pytest.fixture
def fake() -> FakeDriver:
    return FakeDriver(log_size=60)


@pytest.fixture
def store(tmp_path: Path, fake: FakeDriver) -> Iterator[Store]:
    """A real store holding the double's log rows, with the same ids."""
    store = Store(tmp_path / "driver.db")
    with store.transaction():
        for row in sorted(fake.log_rows, key=lambda r: r.id):
            [job] = store.accept(
                [
                    NewEntry(
                        row.type, Action(row.action), row.guid, JobPayload(text=f"{row.guid}|{row.action}|")
                    )
                ]
            )
            assert job.id == row.id
            # the rows as the fake has them, whatever way they came there
            store.db.conn.execute(
                "UPDATE log SET status = ?, ticket_key = ?, error = ? WHERE id = ?",
                (row.status.value, row.ticket_key, row.error, job.id),
            )
    yield store
    store.close()


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q) if q else "no filter")
async def test_log_pages_match_the_real_store(fake: FakeDriver, store: Store, query: dict[str, Any]) -> None:
    real = store.log_page(LogFilter(**{"limit": 100, **query}))
    canned = await fake.log(**query)
    assert [r.id for r in canned.rows] == [r.id for r in real.rows]
    assert canned.total == real.total
    assert canned.next_before_id == real.next_before_id
    assert real.rows or query.get("q") == "nothing matches this"  # the queries do select rows
