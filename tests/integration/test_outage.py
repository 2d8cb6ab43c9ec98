"""Jira outages: an unreachable Jira delays commands and loses none; one failing request still fails.

An outage (connection refused, DNS, TLS, a dead proxy, 502/503/504) pauses all sending without
counting attempts, so no row fails however long it lasts; when Jira answers again the queue drains
in per-GUID order with one ticket per GUID. A 502 after a create may hide a ticket Jira made: the
GUID is probed before anything is created again. A 500 is one request's failure and still ends
its row Failed after max_retries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from driver.contract.schemas import JiraState, LogStatus
from tests.fixtures.driver import DriverProcess, EngineHarness
from tests.fixtures.proxy import free_port
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for, wait_until

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


GUIDS = ("OUT-1", "OUT-2", "OUT-3")


def creates(sim: SimProcess) -> list[dict[str, Any]]:
    """Creates Jira carried out (the journal also lists those a fault answered)."""
    return [
        e
        for e in sim.journal()
        if e["method"] == "POST" and e["path"].endswith("/issue") and e["status"] == 201
    ]


def answered(sim: SimProcess, status: int) -> int:
    return int(sim.counters()["statuses"].get(str(status), 0))


def jira_state(h: EngineHarness) -> JiraState:
    """Read afresh (an assert on the attribute would narrow its type for the rest of the test)."""
    return h.engine.health.state


def test_connection_refused_delays_every_command_and_loses_none(
    driver_factory: Callable[..., DriverProcess], sim_factory: Callable[..., SimProcess]
) -> None:
    port = free_port()
    # probe_new_days = 0: no stamp search of a new database before the creates (asserted below)
    driver = driver_factory(
        f"http://127.0.0.1:{port}", ini={"jira": {"max_retries": "1"}, "ticket": {"probe_new_days": "0"}}
    )
    commands = [f"{g}|CREATE|summary;{g} v1|" for g in GUIDS]
    commands += [f"{g}|UPDATE|summary;{g} v2|" for g in GUIDS]
    commands += [f"{g}|UPDATE|summary;{g} v3|comment;{g} noted|" for g in GUIDS]
    assert driver.send(*commands).status_code == 202
    waiting = f"waiting for Jira: connection refused by 127.0.0.1:{port}"

    def creates_waiting(rows: list[dict[str, Any]]) -> bool:
        return all(r["error"].startswith(waiting) for r in rows if r["action"] == "CREATE")

    driver.wait_rows(creates_waiting, timeout=10)
    # Jira found out three times in a row: max_retries = 1 would have failed a row on the second.
    driver.wait_rows(lambda _: driver.status()["outage_attempts"] >= 3, timeout=15)
    rows = driver.rows()
    assert [(r["status"], r["attempts"]) for r in rows] == [("Pending", 0)] * len(commands)
    assert creates_waiting(rows), rows
    status = driver.status()
    assert status["jira_state"] == "unreachable"
    assert status["jira_message"].startswith(f"connection refused by 127.0.0.1:{port}")
    assert status["pending"] == len(commands)

    sim = sim_factory("--port", str(port))
    assert sim.url == f"http://127.0.0.1:{port}"
    driver.wait_settled(timeout=15)
    rows = driver.rows()
    assert [(r["status"], r["error"]) for r in rows] == [("Ok", "")] * len(commands)
    assert driver.status()["jira_state"] == "ok"
    issues = sim.issues()
    assert sorted(i["fields"]["summary"] for i in issues) == [f"{g} v3" for g in GUIDS]
    for item in issues:
        guid = item["fields"]["summary"].removesuffix(" v3")
        assert [c["body"] for c in item["fields"]["comment"]["comments"]] == [f"{guid} noted"]
        edits = [
            e["body"]["fields"]["summary"]
            for e in sim.journal()
            if e["method"] == "PUT" and e["issue_key"] == item["key"]
        ]
        assert edits == [f"{guid} v2", f"{guid} v3"]
    journal = sim.journal()
    assert len(creates(sim)) == len(GUIDS)
    # A refused connection proves nothing was sent: no stamp search before creating.
    assert not [e for e in journal if "/search" in e["path"]]


async def test_an_outage_by_503_fails_nothing_and_duplicates_nothing(
    engine_factory: Factory, sim: SimProcess
) -> None:
    h = engine_factory(sim.url, max_retries=2, outage_cap=0.1)
    await h.start()
    sim.faults(kind="503", count=-1)
    await h.send(*(f"{g}|CREATE|summary;{g}|" for g in GUIDS), *(f"{g}|UPDATE|comment;{g} c|" for g in GUIDS))
    # many more 503s than max_retries allows one request
    await wait_until(lambda: answered(sim, 503) >= 12, "twelve 503 answers")
    rows = h.rows()
    assert [(r.status, r.attempts) for r in rows] == [(LogStatus.PENDING, 0)] * 6
    assert all(r.error.startswith("waiting for Jira: HTTP 503") for r in rows if r.action == "CREATE")
    assert jira_state(h) is JiraState.UNREACHABLE
    assert h.engine.health.message.startswith("HTTP 503")

    sim.admin("faults", method="DELETE")
    await h.settle(15)
    assert set(h.statuses()) == {LogStatus.OK}
    assert jira_state(h) is JiraState.OK
    assert len(sim.issues()) == len(GUIDS)
    assert len(creates(sim)) == len(GUIDS)
    assert sorted(c["body"] for i in sim.issues() for c in i["fields"]["comment"]["comments"]) == [
        f"{g} c" for g in GUIDS
    ]


async def test_a_500_still_fails_its_row_after_max_retries_while_an_outage_fails_nothing(
    engine_factory: Factory, sim: SimProcess
) -> None:
    h = engine_factory(sim.url, max_retries=2, outage_cap=0.1)
    await h.start()
    await h.send("F1|CREATE|summary;x|", "F2|CREATE|summary;y|")
    await h.settle()
    key = h.rows()[0].ticket_key
    sim.faults(
        rules=[
            {"kind": "500", "count": -1, "method": "PUT", "path": f"/rest/api/latest/issue/{key}"},
            {"kind": "503", "count": 12},
        ]
    )
    await h.send("F1|UPDATE|summary;never|", "F2|UPDATE|summary;after the outage|")
    await h.settle(15)
    failing, waiting = h.rows()[2:]
    assert failing.status is LogStatus.FAILED
    assert failing.error.startswith("HTTP 500")
    assert "gave up after 3 attempts" in failing.error
    assert answered(sim, 503) == 12
    assert (waiting.status, waiting.attempts, waiting.error) == (LogStatus.OK, 1, "")


class Gateway(httpx.AsyncBaseTransport):
    """A gateway in front of Jira that loses Jira's answer to the first create (502), then answers
    502 itself for the next `down` requests."""

    def __init__(self, down: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.after_create = down
        self.down = 0
        self.swallowed = False
        self.bad_gateways = 0

    def _bad_gateway(self) -> httpx.Response:
        self.bad_gateways += 1
        return httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down > 0:
            self.down -= 1
            return self._bad_gateway()
        response = await self.inner.handle_async_request(request)
        if not self.swallowed and request.method == "POST" and request.url.path.endswith("/issue"):
            self.swallowed = True
            await response.aread()
            await response.aclose()
            self.down = self.after_create
            return self._bad_gateway()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_502_after_a_create_is_probed_not_created_again(
    engine_factory: Factory, sim: SimProcess
) -> None:
    gateway = Gateway(down=6)
    h = engine_factory(sim.url, max_retries=2, outage_cap=0.1, transport=gateway)
    await h.start()
    await h.send("GW|CREATE|summary;through a gateway|", "GW|UPDATE|comment;later|")
    await h.settle(15)
    created, updated = h.rows()
    assert (created.status, updated.status) == (LogStatus.OK, LogStatus.OK)
    assert gateway.bad_gateways == 7
    assert "found by its GUID stamp" in created.note
    assert len(creates(sim)) == 1
    [ticket] = sim.issues()
    assert created.ticket_key == updated.ticket_key == ticket["key"]
    assert [c["body"] for c in ticket["fields"]["comment"]["comments"]] == ["later"]
    # What reached Jira: the create whose answer the gateway lost, then the stamp search.
    reached = [
        "search" if "/search" in e["path"] else "create"
        for e in sim.journal()
        if "/search" in e["path"] or e["path"].endswith("/issue")
    ]
    assert reached == ["create", "search"]


def test_jira_down_at_start_its_field_list_is_loaded_once_it_answers(
    driver_factory: Callable[..., DriverProcess], sim_factory: Callable[..., SimProcess]
) -> None:
    port = free_port()
    driver = driver_factory(f"http://127.0.0.1:{port}")
    # Jira is down and its field list was never loaded: the display name of a custom field is not
    # known yet, so the command is kept as typed and waits for the list (it is not refused).
    accepted = driver.send("AS-0|CREATE|summary;x|Alarm Severity;Critical|")
    assert accepted.status_code == 202
    driver.wait_rows(
        lambda rows: rows[0]["error"].startswith("waiting for Jira") and rows[0]["status"] == "Pending"
    )
    sim = sim_factory("--port", str(port))

    def knows_the_field() -> bool:
        with driver.client() as api:
            catalog = api.get("/api/ticket").json()["catalog"]
        return any(f["name"] == "Alarm Severity" for f in catalog)

    wait_for(knows_the_field, "the field list loaded after Jira came back", 15, every=0.1)
    assert driver.send("AS-1|CREATE|summary;x|Alarm Severity;Critical|").status_code == 202
    driver.wait_settled()
    early, late = creates(sim)
    assert early["body"]["fields"]["customfield_10100"] == {"value": "Critical"}
    assert late["body"]["fields"]["customfield_10100"] == {"value": "Critical"}
    assert [row["status"] for row in driver.rows()] == ["Ok", "Ok"]
