"""The simulator's injected clock: timestamps, JQL's now() and relative dates follow it, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from jira_sim.app import create_app
from jira_sim.clock import ManualClock
from jira_sim.settings import SimSettings

# long past, so nothing here could pass on the real clock
START = datetime(2001, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
NEW = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}


def test_a_manual_clock_moves_only_forward_and_both_readings_together() -> None:
    clock = ManualClock(START)
    assert (clock.now(), clock.monotonic()) == (START, 0.0)
    clock.advance(90.5)
    assert clock.now() == datetime(2001, 3, 1, 12, 1, 30, 750_000, tzinfo=UTC)
    assert clock.monotonic() == 90.5
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="forward"):
            clock.advance(bad)
    assert clock.monotonic() == 90.5


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[httpx.AsyncClient, ManualClock]]:
    clock = ManualClock(START)
    app = create_app(SimSettings(), clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim", auth=("admin", "admin")
    ) as client:
        yield client, clock


async def test_created_and_updated_come_from_the_clock(
    clocked: tuple[httpx.AsyncClient, ManualClock],
) -> None:
    client, clock = clocked
    key = (await client.post("/rest/api/2/issue", json=NEW)).json()["key"]
    clock.advance(3600)
    edited = await client.put(f"/rest/api/2/issue/{key}", json={"fields": {"summary": "y"}})
    assert edited.status_code == 204
    fields = (await client.get(f"/rest/api/2/issue/{key}")).json()["fields"]
    assert fields["created"] == "2001-03-01T12:00:00.250+0000"
    assert fields["updated"] == "2001-03-01T13:00:00.250+0000"
    server = (await client.get("/rest/api/2/serverInfo")).json()
    assert server["serverTime"] == "2001-03-01T13:00:00.250+0000"


async def test_relative_jql_dates_count_from_the_clock(
    clocked: tuple[httpx.AsyncClient, ManualClock],
) -> None:
    client, clock = clocked
    await client.post("/rest/api/2/issue", json=NEW)

    async def keys(jql: str) -> list[str]:
        found = await client.get("/rest/api/2/search", params={"jql": jql, "fields": "key"})
        return [issue["key"] for issue in found.json()["issues"]]

    assert await keys("created > -1h") == ["OPS-1"]
    assert await keys("created >= now()") == ["OPS-1"]
    clock.advance(2 * 3600)
    assert await keys("created > -1h") == []
    assert await keys("created >= now()") == []
