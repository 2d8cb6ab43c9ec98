"""A full disk never kills sending and never fails an acknowledged row.

Reproduction from the report: the disk filled while Jira's answers came back; the engine's loop
died on "database or disk is full", the API still answered 202, the status said ok, and nothing
was sent until a restart. Here SQLite's own limit on the database's size (PRAGMA max_page_count,
on the driver's connection) makes every write that needs a new page fail with SQLITE_FULL, exactly
as a full file system does; then the limit is lifted, as an operator freeing space would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from driver.contract.schemas import LogStatus
from tests.fixtures.driver import EngineHarness
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_until

Factory = Callable[..., EngineHarness]
GUIDS = [f"FULL-{n}" for n in range(12)]


class HeldAnswers(httpx.AsyncBaseTransport):
    """Jira answers, but the answers reach the driver only once `release` is set."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.release = asyncio.Event()
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/issue"):
            await response.aread()
            self.held += 1
            await self.release.wait()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_full_disk_while_answers_come_back_delays_and_fails_nothing(
    engine_factory: Factory, sim: SimProcess
) -> None:
    jira = HeldAnswers()
    h = engine_factory(sim.url, transport=jira)
    await h.jira.current_user()
    h.engine.mark_ok()
    await h.start()
    await h.send(*(f"{g}|CREATE|summary;{g} {'x' * 400}|" for g in GUIDS))
    await h.send(*(f"{g}|UPDATE|comment;{g} noted|" for g in GUIDS))
    await wait_until(lambda: jira.held == len(GUIDS), "every create held by the hung Jira")
    # the disk is full: no write that needs one more page succeeds
    (pages,) = h.store.db.execute("PRAGMA page_count").fetchone()
    h.store.db.execute(f"PRAGMA max_page_count = {pages}")
    jira.release.set()
    await wait_until(lambda: "full" in h.engine.db_problem, "the engine to see the full disk")
    assert h.engine.running
    rows = h.rows()
    assert not [r for r in rows if r.status is LogStatus.FAILED]
    # space is freed
    h.store.db.execute("PRAGMA max_page_count = 1073741823")
    await h.settle(30)
    assert h.engine.db_problem == ""
    assert h.statuses() == [LogStatus.OK] * (2 * len(GUIDS))
    issues = sim.issues()
    assert len(issues) == len(GUIDS)
    for item in issues:
        guid = item["fields"]["summary"].split(" ")[0]
        assert [c["body"] for c in item["fields"]["comment"]["comments"]] == [f"{guid} noted"]
