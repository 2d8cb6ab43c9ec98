"""Exactly once under ambiguity: GUID stamps in a custom field, comments in doubt, crashes.

Real simulator over loopback, real SQLite; faults come from the simulator's `/_sim/faults`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from driver.schemas import LogStatus
from driver.ticket_requests import stamp_jql
from tests.fixtures.driver import EngineHarness

Factory = Callable[..., EngineHarness]
GUID_FIELD = "customfield_10101"  # the simulator's "Alarm GUID" text field


def sim_post(sim: Any, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{sim.url}{path}", json=body, timeout=5)
    assert response.status_code < 300, response.text
    return response.json()


def sim_issue(sim: Any, key: str) -> Any:
    return httpx.get(f"{sim.url}/_sim/issues/{key}", timeout=5).json()


async def test_guid_field_probe_needs_the_exact_value(engine_factory: Factory, sim: Any) -> None:
    h = engine_factory(sim.url, guid_field=GUID_FIELD, probe_delay=0.05)
    await h.start()
    await h.send("X-1 east|CREATE|summary;another alarm|")
    await h.settle()
    (other,) = h.rows()
    # Lost before Jira processed it: the probe's phrase search for "X-1" finds only "X-1 east",
    # which is not this GUID's ticket, so the create must go out again.
    sim_post(
        sim, "/_sim/faults", {"kind": "drop", "count": 1, "method": "POST", "path": "/rest/api/latest/issue"}
    )
    await h.send("X-1|CREATE|summary;this alarm|")
    await h.settle()
    mine = h.rows(guid="X-1")[0]
    assert mine.status is LogStatus.OK
    assert mine.ticket_key != other.ticket_key
    assert "found by its GUID stamp" not in mine.note
    assert sim_issue(sim, mine.ticket_key)["fields"][GUID_FIELD] == "X-1"
    assert sim_issue(sim, other.ticket_key)["fields"]["summary"] == "another alarm"
    # Among several phrase hits (newest first) the exact one is picked.
    await h.send("X-1 west|CREATE|summary;a third alarm|")
    await h.settle()
    found = await h.jira.search_by_stamp(stamp_jql("X-1", GUID_FIELD), [GUID_FIELD])
    assert len(found) == 3
    assert h.engine._exact_match("X-1", found).key == mine.ticket_key  # noqa: SLF001
    assert h.engine._exact_match("X-1 we", found) is None  # noqa: SLF001


async def test_guid_field_ambiguous_create_is_adopted_by_exact_value(
    engine_factory: Factory, sim: Any
) -> None:
    h = engine_factory(sim.url, guid_field=GUID_FIELD, timeout=0.5)
    await h.start()
    await h.send("Y-2 north|CREATE|summary;older|")
    await h.settle()
    sim_post(
        sim,
        "/_sim/faults",
        {"kind": "drop_after", "count": 1, "method": "POST", "path": "/rest/api/latest/issue"},
    )
    await h.send("Y-2|CREATE|summary;mine|")
    await h.settle()
    row = h.rows(guid="Y-2")[0]
    assert row.status is LogStatus.OK
    assert "found by its GUID stamp" in row.note
    assert sim_issue(sim, row.ticket_key)["fields"][GUID_FIELD] == "Y-2"
    assert sim.counters()["issues"] == 2
