"""The engine's wake-ups (driver.sending.wakeups): who is woken by what, and no one twice."""

from __future__ import annotations

import asyncio

from driver.sending.wakeups import Wakeups


async def test_a_settled_row_wakes_those_waiting_for_work_not_for_a_place() -> None:
    wakeups = Wakeups()
    work = [wakeups.register() for _ in range(2)]
    place = [wakeups.register(for_place=True) for _ in range(3)]
    wakeups.ready()
    assert [f.done() for f in work] == [True, True]
    assert not any(f.done() for f in place)
    assert len(wakeups) == 3


async def test_a_freed_place_wakes_one_worker_waiting_for_a_place_first() -> None:
    wakeups = Wakeups()
    work = wakeups.register()
    place = [wakeups.register(for_place=True) for _ in range(2)]
    wakeups.one()
    assert sum(f.done() for f in place) == 1
    assert not work.done()
    wakeups.one()
    wakeups.one()  # no one waits for a place: one waiting for work goes
    assert all(f.done() for f in place)
    assert work.done()
    assert len(wakeups) == 0


async def test_places_opened_wake_as_many_and_all_wakes_everyone() -> None:
    wakeups = Wakeups()
    place = [wakeups.register(for_place=True) for _ in range(4)]
    wakeups.places(0)
    wakeups.places(-3)
    assert not any(f.done() for f in place)
    wakeups.places(3)
    assert sum(f.done() for f in place) == 3
    work = wakeups.register()
    wakeups.all()
    assert all(f.done() for f in place)
    assert work.done()


async def test_a_wait_ends_when_woken_or_at_its_moment_and_leaves_nothing_behind() -> None:
    wakeups = Wakeups()
    future = wakeups.register(for_place=True)
    asyncio.get_running_loop().call_soon(wakeups.one)
    await wakeups.wait(future, None)
    timed = wakeups.register()
    await wakeups.wait(timed, 0.01)  # nobody wakes it: its own moment does
    assert timed.done()
    assert len(wakeups) == 0
    cancelled = wakeups.register()
    cancelled.cancel()
    wakeups.one()  # a cancelled future is skipped, not counted as a wake-up
    assert len(wakeups) == 0
