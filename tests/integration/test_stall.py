"""The sending loop never stalls: answers of a whole wave read at once leave nothing Pending.

The first version's loop counted finished requests in done callbacks that ran after it had found the pool
full; when every answer of a wave was read in one go (a host busy for a moment), nothing woke it
and the rest of the queue stayed Pending for good. Both reproductions from the report: the answers
released together in-process, and the real process stopped (SIGSTOP) while a wave is at Jira.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from driver.contract.schemas import LogStatus
from tests.fixtures.driver import DriverProcess, EngineHarness
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


class WaveGate(httpx.AsyncBaseTransport):
    """Holds the answers to creates until `wave` of them are in, then hands them over all at once."""

    def __init__(self, wave: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.wave = wave
        self.waiting = 0
        self.waves = 0
        self.open = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "POST" or not request.url.path.endswith("/issue") or self.waves:
            return response
        await response.aread()
        self.waiting += 1
        if self.waiting == self.wave:
            self.waves += 1
            self.open.set()
        await self.open.wait()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("concurrency", [4, 16])
async def test_a_wave_answered_at_once_leaves_nothing_pending(
    engine_factory: Factory, sim: SimProcess, concurrency: int
) -> None:
    gate = WaveGate(concurrency)
    h = engine_factory(sim.url, concurrency=concurrency, transport=gate)
    # The credentials are proven first (as the start-up's field list does): a whole wave may go.
    await h.jira.current_user()
    h.engine.mark_ok()
    await h.start()
    await h.send(*(f"WAVE-{n}|CREATE|summary;wave {n}|" for n in range(2 * concurrency)))
    await h.settle(20)
    assert gate.waves == 1, "the first wave was not held and released together"
    assert h.statuses() == [LogStatus.OK] * (2 * concurrency)
    assert len(sim.issues()) == 2 * concurrency


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [4, 16])
def test_a_driver_stopped_while_a_wave_is_at_jira_sends_everything(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess, concurrency: int
) -> None:
    driver = driver_factory(sim.url, ini={"driver": {"concurrency": str(concurrency)}})
    # The start-up asked for the field list (credentials proven); now Jira answers after a second.
    driver.wait_rows(lambda rows: driver.status()["jira_state"] == "ok", timeout=10)
    sim.config(latency_ms=1000)
    count = 2 * concurrency
    response = driver.send(*(f"STOP-{n}|CREATE|summary;stopped {n}|" for n in range(count)))
    assert response.status_code == 202
    # The first wave is at Jira (a whole pool of requests held by the latency); the host is busy
    # while every one of them is answered, so all the answers wait to be read together.
    wait_for(lambda: sim.counters()["in_flight"] == concurrency, "a whole wave in flight at Jira")
    os.kill(driver.pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: sim.counters()["in_flight"] == 0 and sim.counters()["created"] >= concurrency,
            "the wave answered while the driver is stopped",
        )
    finally:
        os.kill(driver.pid, signal.SIGCONT)
    rows = driver.wait_rows(lambda rows: all(r["status"] == "Ok" for r in rows), timeout=30)
    assert len(rows) == count
    assert len(sim.issues()) == count
    status: dict[str, Any] = driver.status()
    assert status["pending"] == 0
