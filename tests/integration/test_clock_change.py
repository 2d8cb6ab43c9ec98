"""A wall clock set back an hour or forward a day changes no wait (in-process, a fake clock).

Each test holds the engine in one kind of wait on its monotonic timer (a 429 pause, an outage's
Retry-After, the update window, the resolve hold), then moves the wall clock alone, forward a day
and back an hour: the row does not go before the wait's end on the timer, and goes once it passes.
Before waits moved to the timer, a day forward ended every wait at once and an hour back made each
one last an hour longer. The real-process test with the wall clock moved is test_wall_clock.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from driver.config import SyncSection
from driver.contract.schemas import LogStatus
from driver.sync.service import Sync
from tests.fixtures.driver import EngineHarness, FakeClock
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_until

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


DAY = 24 * 3600.0


def status(h: EngineHarness, job_id: int) -> LogStatus:
    found: LogStatus = next(r.status for r in h.rows() if r.id == job_id)
    return found


async def still_waiting(h: EngineHarness, job_id: int, clock: FakeClock, sim: SimProcess) -> None:
    """Move the wall clock forward a day, then back a day and an hour: after each, the engine looks
    at its clocks again and settles into waiting, and the row has not gone."""
    sent = len(sim.journal())
    for jump in (DAY, -DAY - 3600):
        clock.set_wall(jump)
        h.engine.wake()
        await wait_until(lambda: h.engine.idle, "the engine back to waiting after the clock moved", 5)
        assert status(h, job_id) in (LogStatus.PENDING, LogStatus.DEFERRED), "it went before its wait ended"
        assert len(sim.journal()) == sent, "a request left before the wait ended"


async def goes_when_the_wait_ends(h: EngineHarness, job_id: int, clock: FakeClock, seconds: float) -> None:
    """Let `seconds` pass (both clocks): the row goes, although the wall clock is an hour behind."""
    clock.advance(seconds)
    h.engine.wake()
    await h.settle()
    assert status(h, job_id) is LogStatus.OK


async def created(h: EngineHarness, guid: str) -> str:
    await h.send(f"{guid}|CREATE|summary;x|")
    await h.settle()
    key: str = next(r.ticket_key for r in h.rows() if r.guid == guid)
    return key


async def update_held_by(
    h: EngineHarness,
    clock: FakeClock,
    sim: SimProcess,
    guid: str,
    fault: str,
    until: Callable[[], datetime | None],
) -> None:
    """An UPDATE answered with `fault` (Retry-After 5 s) waits until `until()` on the timer: not
    before, whatever the wall clock does, and then it goes."""
    await h.start()
    await created(h, guid)
    sim.faults(kind=fault, count=1, retry_after=5, method="PUT")
    (update,) = await h.send(f"{guid}|UPDATE|summary;held|")
    await wait_until(lambda: until() is not None, f"the wait after a {fault}", 5)
    end = until()
    assert end is not None
    await still_waiting(h, update.id, clock, sim)
    await goes_when_the_wait_ends(h, update.id, clock, (end - clock.timer()).total_seconds() + 0.01)


async def test_a_429_pause_neither_ends_nor_lasts_longer_when_the_wall_clock_moves(
    engine_factory: Factory, sim: SimProcess, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock)
    await update_held_by(h, clock, sim, "CL-429", "429", lambda: h.engine.health.pauses.all_until)


async def test_an_outage_retry_after_ends_on_the_timer(
    engine_factory: Factory, sim: SimProcess, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock)
    health = h.engine.health
    await update_held_by(
        h, clock, sim, "CL-503", "503", lambda: health.outage_until if health.outage_strikes else None
    )


async def test_the_update_window_ends_on_the_timer(
    engine_factory: Factory, sim: SimProcess, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock, max_updates=1, interval=60)
    await h.start()
    await created(h, "CL-LIMIT")
    await h.send("CL-LIMIT|UPDATE|summary;1|")
    await h.settle()
    (deferred,) = await h.send("CL-LIMIT|UPDATE|summary;2|")
    await h.settle(allow_deferred=True)
    assert status(h, deferred.id) is LogStatus.DEFERRED
    await still_waiting(h, deferred.id, clock, sim)
    await goes_when_the_wait_ends(h, deferred.id, clock, 61)


async def test_the_resolve_hold_ends_on_the_timer(
    engine_factory: Factory, sim: SimProcess, clock: FakeClock
) -> None:
    h = engine_factory(sim.url, clock=clock)
    h.engine.setup.lifecycle = replace(h.engine.setup.lifecycle, resolve_hold=timedelta(seconds=5))
    await h.start()
    key = await created(h, "CL-HOLD")
    (resolve,) = await h.send("CL-HOLD|RESOLVE|comment;cleared|")
    await wait_until(lambda: h.engine.idle, "the RESOLVE in its hold", 5)
    await still_waiting(h, resolve.id, clock, sim)
    await goes_when_the_wait_ends(h, resolve.id, clock, 5.1)
    issue = sim.admin(f"issues/{key}")
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"


async def test_a_poll_after_the_wall_clock_went_back_reaches_back_as_far_as_time_passed(
    engine_factory: Factory, sim: SimProcess, clock: FakeClock
) -> None:
    # Ten minutes pass, and the wall clock goes back an hour meanwhile: the next poll searches the
    # last 10 (+2) minutes, not the 2 that the wall clock alone would say.
    h = engine_factory(sim.url, clock=clock)
    await h.start()
    await created(h, "CL-POLL")
    sync = Sync(
        SyncSection(mode="poll", poll_seconds=300),
        h.store,
        h.jira,
        h.engine,
        health=h.engine.health,
        setup=h.driver.setup,
        clock=clock,
    )
    assert await sync.poll_once() is not None
    clock.advance(600)
    clock.set_wall(-3600)
    before = len(sim.journal())
    assert await sync.poll_once() is not None
    [search] = [e for e in sim.journal()[before:] if "/search" in e["path"]]
    assert 'updated >= "-12m"' in search["body"]["jql"], search["body"]["jql"]
