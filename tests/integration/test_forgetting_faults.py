"""Faults found in the forgetting of idle GUIDs (`[ticket] forget_after_days`), each a test that
failed before its fix: a GUID whose last command was a CALL, a reopen window longer than the
forgetting, an alert still firing, and what another node of a pair commits while a batch is
being forgotten (a command, a ticket reopened).

In-process drivers against the simulator (real HTTP on loopback), on both of the store's databases
unless a test is about one; time moved by a hand-driven clock, as in test_forgetting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from driver.app.alarm_actions import resolve_now
from driver.app.alert_intake import take_alerts
from driver.app.intake import Line, check_lines
from driver.app.upkeep import forget_idle
from driver.contract.schemas import LogStatus
from driver.model.alert_intake import Notification
from driver.model.endpoints import Endpoint
from driver.model.forgetting import IdleGuid, forgettable
from driver.store import Store
from driver.store.forgetting import forget_alarms
from tests.fixtures.driver import EngineHarness, FakeClock
from tests.integration.test_forgetting import DAY, DAYS, resolved_ticket, table_rows

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (unless it names one)."""
    return str(request.param)


async def pair_reading_a_batch(
    engine_factory: Factory, sim: Any, clock: FakeClock, tmp_path: Any, guid: str
) -> tuple[EngineHarness, EngineHarness, list[IdleGuid]]:
    """Two nodes on one PostgreSQL database (the standby's intake and store only, never started),
    the GUID's ticket made and resolved by the leader and quiet past the cutoff, and the leader's
    batch read: (leader, standby, the batch's GUIDs to forget: the GUID alone)."""
    path = tmp_path / "pair.db"
    leader = engine_factory(sim.url, clock=clock, db_path=path)
    standby = engine_factory(sim.url, clock=clock, db_path=path)
    await leader.start()
    await resolved_ticket(leader, guid)
    clock.advance((DAYS + 1) * DAY)
    cutoff = clock() - timedelta(days=DAYS)
    chosen = [idle for idle in leader.store.idle_guids((0, ""), 500) if forgettable(idle, cutoff)]
    assert [idle.guid for idle in chosen] == [guid]
    return leader, standby, chosen


async def test_a_guid_whose_last_command_was_a_call_is_not_idle(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    # A CALL is a command of the GUID like any other, but the Alarms table's last row skips it (a
    # CALL says nothing of the alarm's state): a GUID called every day, its ticket resolved long
    # ago, was forgotten, and its next CALL refused.
    h = engine_factory(sim.url, clock=clock)
    h.driver.setup.endpoints = {
        "watch": Endpoint.of("watch", "POST", "rest/api/2/issue/{key}/watchers", '"{user}"', (204,))
    }
    await h.start()
    key = await resolved_ticket(h, "C-1")

    clock.advance((DAYS - 10) * DAY)
    await h.send("C-1|CALL|endpoint;watch|user;jsmith|")
    await h.settle()
    assert h.rows(guid="C-1")[-1].status == LogStatus.OK

    clock.advance(20 * DAY)  # the CALL 20 days ago, the RESOLVE 100
    assert await forget_idle(h.driver, DAYS) == 0
    record = h.store.ticket("C-1")
    assert record is not None
    assert record.ticket_key == key

    await h.send("C-1|CALL|endpoint;watch|user;jsmith|")
    await h.settle()
    assert h.rows(guid="C-1")[-1].status == LogStatus.OK, h.rows(guid="C-1")[-1].error


async def test_a_ticket_within_the_reopen_window_is_not_forgotten(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    # [lifecycle] reopen_window_minutes may be up to a year, [ticket] forget_after_days 90: a
    # CREATE within the window must reopen the ticket the driver resolved, not make a second one.
    h = engine_factory(sim.url, clock=clock)
    setup = h.driver.setup
    setup.lifecycle = replace(setup.lifecycle, reopen_window=timedelta(days=180))
    await h.start()
    key = await resolved_ticket(h, "W-1")

    clock.advance((DAYS + 10) * DAY)
    await forget_idle(h.driver, DAYS)
    created = sim.counters()["created"]
    await h.send("W-1|CREATE|summary;link down again|")
    await h.settle()

    record = h.store.ticket("W-1")
    assert record is not None
    assert record.ticket_key == key, "a second ticket within the reopen window"
    assert not record.resolved
    assert sim.counters()["created"] == created


@pytest.mark.parametrize("store_backend", ["postgresql"])
async def test_a_command_the_other_node_commits_during_a_batch_keeps_its_alarm(
    engine_factory: Factory, sim: Any, clock: FakeClock, tmp_path: Any
) -> None:
    # Both nodes of a pair take commands into the one database; the leader's batch reads the
    # Alarms table, then deletes in its own transaction. A CREATE the standby commits between the
    # two (a GUID back after 90 days) must keep its Alarms row: without it the alarm is on no
    # page and its new ticket is never walked by a pass again.
    leader, standby, chosen = await pair_reading_a_batch(engine_factory, sim, clock, tmp_path, "P-1")
    # ForgetPass.forget_batch's steps, with the standby's commit where another process may put it
    jobs = standby.driver.accept(
        check_lines([Line(1, "P-1|CREATE|summary;back again|")], standby.driver.setup)
    )
    with leader.store.fenced_transaction():
        leader.store.forget_guids(chosen)

    assert table_rows(leader.store, "alarms", "P-1") == 1
    alarm = leader.store.idle_guids((0, ""), 500)
    assert [(idle.guid, idle.last_log_id) for idle in alarm] == [("P-1", jobs[0].id)]


def test_a_batch_deletes_its_alarms_rows_by_key(db_path: Any) -> None:
    # The delete that checks each GUID again finds its rows by the Alarms table's key: a scan of
    # the table per batch would make a pass over a million GUIDs read a billion rows.
    store = Store(db_path)
    plan = [
        row[-1]
        for row in store.db.execute(f"EXPLAIN QUERY PLAN {forget_alarms(2)}", ("a", "b", "a", 1, "b", 2))
    ]
    assert any(
        step.startswith("SEARCH alarms USING INDEX sqlite_autoindex_alarms_1 (guid=?)") for step in plan
    ), plan
    assert not any(step.startswith("SCAN alarms") for step in plan), plan
    store.close()


def firing(fingerprint: str) -> Notification:
    """Alertmanager's notification of one firing alert, the same each time it is sent again."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"},
        "annotations": {"summary": "Disk /data is 97% full"},
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }
    return Notification.model_validate(
        {
            "version": "4",
            "groupKey": '{}:{alertname="DiskFull"}',
            "status": "firing",
            "receiver": "jira",
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [alert],
        }
    )


async def test_an_alert_still_firing_is_not_forgotten(
    engine_factory: Factory, sim: Any, clock: FakeClock
) -> None:
    # Alertmanager sends a firing alert again every repeat_interval, unchanged: no command (its
    # notice says so). An operator resolved its ticket from the Alarms table while it kept firing.
    # Forgetting its notice with its ticket made the next unchanged repeat a CREATE: a second
    # ticket for one alert that never stopped firing, and a third 90 days after that one is closed.
    h = engine_factory(sim.url, clock=clock)
    await h.start()
    templates = h.driver.alerts["alertmanager"]
    taken = await take_alerts(h.driver, "alertmanager", firing("fp-1"), templates)
    assert [job.action.value for job in taken.jobs] == ["CREATE"]
    guid = taken.jobs[0].guid
    await h.settle()
    resolve_now(h.driver, guid)
    await h.settle()
    record = h.store.ticket(guid)
    assert record is not None
    assert record.resolved
    created = sim.counters()["created"]

    for _ in range(10):  # every 10 days the same notification: nothing to do
        clock.advance(10 * DAY)
        assert (await take_alerts(h.driver, "alertmanager", firing("fp-1"), templates)).jobs == []
        await forget_idle(h.driver, DAYS)

    assert (await take_alerts(h.driver, "alertmanager", firing("fp-1"), templates)).jobs == []
    await h.settle()
    assert sim.counters()["created"] == created


@pytest.mark.parametrize("store_backend", ["postgresql"])
async def test_a_ticket_the_other_node_hears_reopened_during_a_batch_is_kept(
    engine_factory: Factory, sim: Any, clock: FakeClock, tmp_path: Any
) -> None:
    # A webhook delivered to the standby between the leader's read and its delete: the ticket a
    # person reopened is the GUID's open ticket, not one to forget.
    leader, standby, chosen = await pair_reading_a_batch(engine_factory, sim, clock, tmp_path, "P-2")
    record = standby.store.ticket("P-2")
    assert record is not None
    with standby.store.transaction():
        standby.store.record_jira_state(
            replace(record, jira_status="In Progress", status_category="indeterminate")
        )
    with leader.store.fenced_transaction():
        assert leader.store.forget_guids(chosen) == []

    kept = leader.store.ticket("P-2")
    assert kept is not None
    assert kept.status_category == "indeterminate"
