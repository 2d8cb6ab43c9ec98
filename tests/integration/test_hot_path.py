"""The hot path costs what it must and no more (issue 18): a request to Jira triggers no import.

httpcore asks for optional packages (sniffio) on every request; a failed import is not cached, so a
missing one makes every request scan `sys.path` (14% of the driver's CPU in the profile of 2,000
creates). Real HTTP to the simulator, the driver's own client and engine.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest

from tests.fixtures.driver import DriverProcess, EngineHarness

Factory = Callable[..., EngineHarness]


class ImportWatch(importlib.abc.MetaPathFinder):
    """Records every module name Python looks for on sys.meta_path (and finds none itself): a
    module already imported is never looked for, so each name is an import that happened."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        self.names.append(fullname)
        return None


async def test_requests_to_jira_import_nothing(engine_factory: Factory, sim: Any) -> None:
    h = engine_factory(sim.url)
    await h.start()
    # warm up: the first create, comment and search import what they use, once
    await h.send("W-0|CREATE|summary;warm up|", "W-0|UPDATE|comment;warm|")
    await h.settle()
    await h.jira.search_by_stamp('labels = "nothing"')
    watch = ImportWatch()
    sys.meta_path.insert(0, watch)
    try:
        await h.send(*(f"W-{n}|CREATE|summary;alarm {n}|" for n in range(1, 21)), "W-1|UPDATE|comment;again|")
        await h.settle()
        await h.jira.search_by_stamp('labels = "nothing"')
    finally:
        sys.meta_path.remove(watch)
    assert [r.status for r in h.rows()].count("Ok") == 23
    assert watch.names == [], f"imports during requests: {sorted(set(watch.names))}"


async def test_a_data_center_token_bucket_is_used_without_a_429(
    engine_factory: Factory, sim_factory: Callable[..., Any]
) -> None:
    """Data Center states its token bucket on every answer: the driver spends the tokens left and
    then sends at the fill rate, so 60 creates through a bucket of 5 filling 20/s meet no 429."""
    bucket = sim_factory("--token-bucket", "5/20/1")
    h = engine_factory(bucket.url)
    await h.start()
    await h.send(*(f"TB-{n}|CREATE|summary;alarm {n}|" for n in range(60)))
    await h.settle(30)
    assert [r.status for r in h.rows()].count("Ok") == 60
    statuses = bucket.counters()["statuses"]
    assert "429" not in statuses, statuses


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
def test_the_driver_runs_on_the_configured_event_loop_and_sends_on_it(
    driver_factory: Callable[..., DriverProcess], sim: Any, choice: str, loop: str
) -> None:
    driver = driver_factory(sim.url, ini={"driver": {"event_loop": choice}})
    assert driver.send("loop/1|CREATE|summary;A|", "loop/1|UPDATE|comment;B|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok", "Ok"]
    driver.stop()
    assert f"event loop: {loop}" in driver.stderr_path.read_text(encoding="utf-8")
