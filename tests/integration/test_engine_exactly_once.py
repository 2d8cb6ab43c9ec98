"""Exactly once under ambiguity: GUID stamps in a custom field, comments in doubt, crashes.

Real simulator over loopback, real SQLite; faults come from the simulator's `/_sim/faults`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from driver.contract.schemas import LogStatus
from driver.model.jobs import TicketState
from driver.model.stamps import stamp_jql
from driver.sending.exactly_once import exact_match
from tests.fixtures.driver import DriverProcess, EngineHarness
from tests.fixtures.waiting import wait_for

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


GUID_FIELD = "customfield_10101"  # the simulator's "Alarm GUID" text field


def sim_post(sim: Any, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{sim.url}{path}", json=body, timeout=5)
    assert response.status_code < 300, response.text
    return response.json()


def jira_create(sim: Any, fields: dict[str, Any]) -> Any:
    """An issue made behind the driver's back, as a previous run of it would have."""
    response = httpx.post(
        f"{sim.url}/rest/api/2/issue",
        auth=("admin", "admin"),
        json={"fields": {"summary": "x", **fields}},
        timeout=5,
    )
    assert response.status_code == 201, response.text
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
    assert exact_match("X-1", found, GUID_FIELD, "alarm-").key == mine.ticket_key
    assert exact_match("X-1 we", found, GUID_FIELD, "alarm-") is None


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


def comments_on(sim: Any, key: str) -> list[str]:
    return [c["body"] for c in sim_issue(sim, key)["fields"]["comment"]["comments"]]


@pytest.mark.parametrize("fault", ["slow_after", "drop_after"])
async def test_ambiguous_comment_is_found_not_posted_twice(
    engine_factory: Factory, sim: Any, fault: str
) -> None:
    h = engine_factory(sim.url, timeout=0.5)
    await h.start()
    await h.send("AC|CREATE|summary;x|")
    await h.settle()
    key = h.rows()[0].ticket_key
    # Jira adds the comment, the answer never arrives (lost connection, or past the timeout).
    rule: dict[str, Any] = {
        "kind": fault,
        "count": 1,
        "method": "POST",
        "path": f"/rest/api/latest/issue/{key}/comment",
    }
    if fault == "slow_after":
        rule["seconds"] = 1.5
    sim_post(sim, "/_sim/faults", rule)
    await h.send("AC|UPDATE|summary;y|comment;first|comment;second|")
    await h.settle()
    row = h.rows()[1]
    assert row.status is LogStatus.OK
    assert comments_on(sim, key) == ["first", "second"]
    assert f"comment 1 was already on {key}" in row.note
    assert sim_issue(sim, key)["fields"]["summary"] == "y"


async def test_comment_lost_before_jira_is_posted_again_not_confused_with_an_earlier_one(
    engine_factory: Factory, sim: Any
) -> None:
    h = engine_factory(sim.url)
    await h.start()
    await h.send("RP|CREATE|summary;x|", "RP|UPDATE|comment;still down|")
    await h.settle()
    key = h.rows()[0].ticket_key
    # Dropped before Jira processed it: the same text is on the ticket, but that is the earlier
    # row's comment (known by its id), so this one must still be posted.
    sim_post(
        sim,
        "/_sim/faults",
        {"kind": "drop", "count": 1, "method": "POST", "path": f"/rest/api/latest/issue/{key}/comment"},
    )
    await h.send("RP|UPDATE|comment;still down|")
    await h.settle()
    assert h.statuses() == [LogStatus.OK] * 3
    assert comments_on(sim, key) == ["still down", "still down"]


async def test_comment_refused_with_429_is_sent_again_without_lookup(
    engine_factory: Factory, sim: Any
) -> None:
    h = engine_factory(sim.url)
    await h.start()
    await h.send("RL|CREATE|summary;x|")
    await h.settle()
    key = h.rows()[0].ticket_key
    sim_post(
        sim,
        "/_sim/faults",
        {
            "kind": "429",
            "count": 1,
            "retry_after": 0.1,
            "method": "POST",
            "path": f"/rest/api/latest/issue/{key}/comment",
        },
    )
    await h.send("RL|UPDATE|comment;once|")
    await h.settle()
    assert comments_on(sim, key) == ["once"]
    lookups = [e for e in sim.journal() if e["method"] == "GET" and e["path"].endswith("/comment")]
    assert lookups == []


async def test_cloud_adf_comment_in_doubt_is_matched_by_text(
    engine_factory: Factory, sim_factory: Any
) -> None:
    cloud = sim_factory("--flavor", "cloud")
    h = engine_factory(cloud.url, ticket_location="rest/api/3/issue", timeout=0.5)
    await h.start()
    await h.send("CA|CREATE|summary;x|")
    await h.settle()
    key = h.rows()[0].ticket_key
    cloud.faults(kind="drop_after", count=1, method="POST", path=f"/rest/api/3/issue/{key}/comment")
    await h.send("CA|UPDATE|comment;line one\\nline two|")
    await h.settle()
    assert h.statuses() == [LogStatus.OK, LogStatus.OK]
    assert len(sim_issue(cloud, key)["fields"]["comment"]["comments"]) == 1


def test_kill_9_with_a_comment_on_the_wire(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    driver = driver_factory(sim.url)
    assert driver.send("KC|CREATE|summary;x|").status_code == 202
    driver.wait_settled()
    key = sim.issues()[0]["key"]
    # Jira adds the comment and holds the answer; the driver dies waiting for it.
    sim.faults(
        kind="slow_after", count=1, seconds=8, method="POST", path=f"/rest/api/latest/issue/{key}/comment"
    )
    assert driver.send("KC|UPDATE|comment;exactly once|").status_code == 202
    wait_for(lambda: sim.counters()["comments"] >= 1, "the comment done by the simulator", 5, every=0.01)
    assert sim.counters()["comments"] == 1
    driver.kill()
    httpx.delete(f"{sim.url}/_sim/faults", timeout=5)
    driver.restart()
    driver.wait_settled()
    with driver.client() as client:
        rows = client.get("/api/log", params={"guid": "KC"}).json()["rows"]
    assert [r["status"] for r in rows] == ["Ok", "Ok"]
    assert [c["body"] for c in sim_issue(sim, key)["fields"]["comment"]["comments"]] == ["exactly once"]


async def test_restart_after_one_probe_miss_still_waits_for_a_second_probe(
    engine_factory: Factory, sim: Any, tmp_path: Any
) -> None:
    db = tmp_path / "probes.db"
    first = engine_factory(sim.url, db_path=db)
    (job,) = await first.send("PM|CREATE|summary;x|")
    # The state a killed driver leaves: the create reached Jira, one probe missed it (search lag).
    with first.store.transaction():
        first.store.journal_intent("PM", job.id)
        first.store.set_ticket_state("PM", TicketState.IN_DOUBT, 1)
    await first.close()
    sim_post(sim, "/_sim/config", {"search_lag": 1.0})
    created = jira_create(
        sim, {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "labels": ["alarm-PM"]}
    )
    second = engine_factory(sim.url, db_path=db, probe_delay=1.3)
    await second.start()
    await second.settle()
    (row,) = second.rows()
    assert row.status is LogStatus.OK
    assert row.ticket_key == created["key"]
    assert sim.counters()["issues"] == 1


# --- a new database's batched probes (issue 15 item 7) ----------------------------------------


async def test_a_failed_batched_search_creates_nothing_blind_and_adopts_once_jira_answers(
    engine_factory: Callable[..., EngineHarness], sim: Any
) -> None:
    earlier = engine_factory(sim.url)
    await earlier.start()
    await earlier.send("B-1|CREATE|summary;before|", "B-2|CREATE|summary;before|")
    await earlier.settle()
    await earlier.close()
    first = {issue["key"] for issue in sim.issues()}
    assert len(first) == 2

    later = engine_factory(sim.url)  # a new database that never saw B-1 or B-2
    later.engine.probe_unknown_until = datetime.now(UTC) + timedelta(days=7)
    seq = max((entry["seq"] for entry in sim.journal()), default=0)
    sim.faults(kind=503, count=1, method="POST", path="/rest/api/2/search")
    sim.faults(kind=429, count=1, retry_after=0.2, method="POST", path="/rest/api/2/search")
    await later.start()
    await later.send("B-1|CREATE|summary;again|", "B-2|CREATE|summary;again|", "B-3|CREATE|summary;new|")
    await later.settle(20)

    assert [row.status for row in later.rows()] == [LogStatus.OK] * 3
    assert len(sim.issues()) == 3, "B-1 or B-2 got a second ticket"
    journal = sim.journal(seq)
    searches = [e for e in journal if "search" in e["path"]]
    creates = [e for e in journal if e["method"] == "POST" and e["path"].endswith("/issue")]
    assert [e["status"] for e in searches] == [503, 429, 200], [(e["path"], e["status"]) for e in journal]
    assert len(creates) == 1
    assert creates[0]["seq"] > searches[-1]["seq"], "created before a search answered"


async def test_a_new_databases_search_that_jira_fails_backs_off_and_fails_the_row_creating_nothing(
    engine_factory: Callable[..., EngineHarness], sim: Any
) -> None:
    # Each 500 was retried after retry_base, forever, as "retry 1" (about one search a second a
    # row, 158 in 78 s), the rows Pending while nothing came of them (an operator trial)
    harness = engine_factory(sim.url, max_retries=3, retry_base=0.2)
    harness.engine.probe_unknown_until = datetime.now(UTC) + timedelta(days=7)
    seq = max((entry["seq"] for entry in sim.journal()), default=0)
    sim.faults(kind=500, count=-1, method="POST", path="/rest/api/2/search")
    await harness.start()
    await harness.send("S-1|CREATE|summary;first|")
    await harness.settle(20)

    (row,) = harness.rows()
    assert row.status == LogStatus.FAILED
    assert "the search for an existing ticket before creating failed 4 times (HTTP 500" in row.error
    assert "nothing was created" in row.error
    journal = sim.journal(seq)
    searches = [e for e in journal if "search" in e["path"]]
    assert [e["status"] for e in searches] == [500] * 4
    # backed off: 0.2, 0.4, 0.8 s (each x0.7-1.3), not retry_base every time
    times = [datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%f%z") for e in searches]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps[2] > 1.5 * gaps[0], gaps
    assert sim.issues() == []
