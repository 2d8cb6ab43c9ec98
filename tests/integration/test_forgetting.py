"""GUIDs forgotten after `[ticket] forget_after_days` (issue 18 item 4: a million alarms, each seen
once, must not grow the database for good): what goes, what is kept, what a command for a
forgotten GUID does, and what is never forgotten.

In-process drivers on both of the store's databases against the simulator (real HTTP on loopback),
time moved by a hand-driven clock; the pass is the daily upkeep's own (driver.app.upkeep.forget_idle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from driver.api import create_app
from driver.app.upkeep import forget_idle
from driver.contract.schemas import LogStatus
from driver.model.forgetting import IdleGuid
from driver.model.stamps import stamp_label
from driver.sending.forgetting import ForgetPass
from driver.store import Store
from driver.store.forgetting import IDLE_GUIDS
from tests.fixtures.driver import EngineHarness, FakeClock
from tests.fixtures.waiting import wait_until

Factory = Callable[..., EngineHarness]
DAYS = 90
DAY = 24 * 3600.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases."""
    return str(request.param)


def labels_of(sim: Any, key: str) -> list[str]:
    issue = next(i for i in sim.issues() if i["key"] == key)
    labels: list[str] = issue["fields"]["labels"]
    return labels


def table_rows(store: Store, table: str, guid: str) -> int:
    return int(store.db.execute(f"SELECT count(*) FROM {table} WHERE guid = ?", (guid,)).fetchone()[0])


async def resolved_ticket(h: EngineHarness, guid: str) -> str:
    """Create the GUID's ticket and resolve it; its key."""
    await h.send(f"{guid}|CREATE|summary;link down|")
    await h.settle()
    await h.send(f"{guid}|RESOLVE|")
    await h.settle()
    record = h.store.ticket(guid)
    assert record is not None
    assert record.resolved, record
    assert record.ticket_key
    return record.ticket_key


async def test_a_resolved_guid_is_forgotten_and_its_next_create_makes_the_next_generation(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock)
    await h.start()
    first = await resolved_ticket(h, "F-1")

    clock.advance((DAYS - 1) * DAY)
    assert await forget_idle(h.driver, DAYS) == 0  # a day short: kept
    clock.advance(2 * DAY)
    assert await forget_idle(h.driver, DAYS) == 1
    assert h.driver.metrics.registry.get_sample_value("jira_driver_guids_forgotten_total") == 1

    store = h.store
    for table in ("tickets", "ticket_history", "alarms"):
        assert table_rows(store, table, "F-1") == 0, table
    assert store.max_generation("F-1") == 1  # what is kept
    assert store.forgotten_count() == 1
    kept = store.forgotten("F-1")
    assert kept is not None
    assert (kept.generation, kept.ticket_key) == (1, first)

    # once the log's own retention removed its rows, the API says what became of the GUID
    assert store.remove_older_than(30) > 0
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(h.driver)), base_url="http://driver"
    ) as api:
        answer = await api.get("/api/tickets/F-1")
    assert answer.status_code == 404
    assert (
        "was forgotten on 2026-06-01, [ticket] forget_after_days after its last command:"
        f" its last ticket was {first}" in answer.text
    )

    # an UPDATE has no ticket to go to: refused, naming why, nothing sent to the old ticket
    posted = len(sim.journal())
    await h.send("F-1|UPDATE|comment;still down|")
    await h.settle()
    update = h.rows(guid="F-1")[-1]
    assert update.status == LogStatus.FAILED
    assert "forgotten after [ticket] forget_after_days" in update.error
    assert len(sim.journal()) == posted

    # within a probe window for GUIDs without a record, a forgotten GUID is searched for by the
    # stamp its create would carry: its old ticket's (found by the old stamp) is not this create's
    h.engine.probe_unknown_while(clock() + timedelta(days=7))
    await h.send("F-1|CREATE|summary;link down again|")
    await h.settle()
    record = store.ticket("F-1")
    assert record is not None
    assert record.generation == 2
    assert record.ticket_key != first
    searches = [str(e) for e in sim.journal(posted) if "search" in e["path"]]
    assert len(searches) == 1
    assert stamp_label("F-1", generation=2) in searches[0]
    assert stamp_label("F-1", generation=2) in labels_of(sim, record.ticket_key or "")
    assert stamp_label("F-1") in labels_of(sim, first)  # the old ticket keeps the first stamp


async def test_what_is_never_forgotten(engine_factory: Factory, sim: Any, clock: FakeClock) -> None:
    h = engine_factory(sim.url, clock=clock)
    await h.start()
    await resolved_ticket(h, "KEEP-RECENT")
    await h.send("KEEP-OPEN|CREATE|summary;still down|")  # never resolved
    await h.send("KEEP-RAISED|CREATE|summary;still down|")
    await h.settle()
    # a person resolved KEEP-RAISED's ticket in Jira while its alarm is still raised (what sync
    # records when it hears of it): the alarm's next UPDATE must still find that ticket
    raised = h.store.ticket("KEEP-RAISED")
    assert raised is not None
    with h.store.transaction():
        h.store.record_jira_state(
            replace(raised, status_category="done", resolved_at=clock(), resolved_by_driver=False)
        )
    await resolved_ticket(h, "GO")

    clock.advance(DAYS * DAY + 60)
    # a command of KEEP-RECENT's since: the alarm is not quiet
    await h.send("KEEP-RECENT|UPDATE|comment;flapping|")
    await h.settle()

    assert await forget_idle(h.driver, DAYS) == 1
    assert h.store.ticket("GO") is None
    assert h.store.ticket("KEEP-RECENT") is not None
    assert h.store.ticket("KEEP-OPEN") is not None
    assert h.store.ticket("KEEP-RAISED") is not None
    assert await forget_idle(h.driver, 0) == 0  # 0: never


async def test_a_guid_whose_row_still_waits_for_jira_is_kept(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock, max_retries=2, outage_cap=0.1)
    await h.start()
    await resolved_ticket(h, "WAITING")
    await resolved_ticket(h, "GONE")
    sim.faults(kind="503", count=-1)
    await h.send("WAITING|UPDATE|comment;last words|")
    await wait_until(lambda: int(sim.counters()["statuses"].get("503", 0)) > 0, "a 503 answer")
    clock.advance((DAYS + 1) * DAY)  # Jira down all that time: the row still waits

    run = ForgetPass(cutoff=clock() - timedelta(days=DAYS))
    run.forget_batch(h.store, h.engine.tickets, h.engine.queues, 500)

    assert run.done
    assert run.forgotten == 1
    assert h.store.ticket("GONE") is None
    assert h.store.ticket("WAITING") is not None
    assert [r.status for r in h.rows(guid="WAITING")][-1] == LogStatus.PENDING
    sim.admin("faults", method="DELETE")
    await h.settle(15)
    assert [r.status for r in h.rows(guid="WAITING")][-1] == LogStatus.OK


def test_a_pass_walks_every_guid_in_batches_and_ends(open_store: Callable[..., Store]) -> None:
    store = open_store(clock=FakeClock())
    # GUIDs linked before any command share the Alarms table's last row id (0): more of them than a
    # batch must not hold the walk in place
    for n in range(30):
        store.note_linked(f"LINK-{n:02d}")
    seen: list[IdleGuid] = []
    after = (0, "")
    while True:
        batch = store.idle_guids(after, 7)
        seen.extend(batch)
        if len(batch) < 7:
            break
        after = (batch[-1].last_log_id, batch[-1].guid)
    assert [idle.guid for idle in seen] == [f"LINK-{n:02d}" for n in range(30)]
    assert {idle.state for idle in seen} == {None}


async def test_a_forgotten_guid_finds_the_ticket_its_next_create_made_after_a_backup(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    # A database restored from a backup taken while the GUID was forgotten: since then, another
    # run made the GUID's second ticket. Searching for the stamp the create would carry finds it.
    h = engine_factory(sim.url, clock=clock)
    await h.start()
    first = await resolved_ticket(h, "B-1")
    clock.advance((DAYS + 1) * DAY)
    assert await forget_idle(h.driver, DAYS) == 1
    async with httpx.AsyncClient(auth=("admin", "admin"), timeout=5) as jira:
        made = await jira.post(
            f"{sim.url}/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": "made after the backup",
                    "labels": [stamp_label("B-1", generation=2)],
                }
            },
        )
    assert made.status_code == 201, made.text
    before = sim.counters()["created"]

    h.engine.probe_unknown_while(clock() + timedelta(days=7))
    await h.send("B-1|CREATE|summary;link down again|")
    await h.settle()

    record = h.store.ticket("B-1")
    assert record is not None
    assert (record.generation, record.ticket_key) == (2, made.json()["key"])
    assert record.ticket_key != first
    assert sim.counters()["created"] == before  # adopted, not made twice


def test_each_batch_starts_at_its_cursor_in_the_index(db_path: Any) -> None:
    # A batch that walked the Alarms table from its start made a pass over a million GUIDs read
    # about a billion rows: SQLite must seek to the cursor in alarms_last, parameters bound as the
    # store binds them (with literals in their place SQLite plans an OR differently).
    store = Store(db_path)
    plan = [row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN {IDLE_GUIDS}", (41, 41, "G", 500))]
    assert any(step.startswith("SEARCH a USING INDEX alarms_last (last_log_id>?)") for step in plan), plan
    assert not any(step.startswith("SCAN a") for step in plan), plan
    store.close()
