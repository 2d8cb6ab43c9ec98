"""A GUID's ticket view, `GET /api/tickets/{guid}` and `jira-driver ticket`: a real driver process
against the simulator, real HTTP on loopback, real SQLite files.

The lifecycle values (resolved, deleted, a later generation) are seeded with the store's own
methods while the driver is stopped, then read through the running driver's API and CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.contract.client import DriverClient, DriverRejected, guid_path
from driver.contract.schemas import LogStatus, LogType
from driver.contract.tickets import TicketView
from driver.model.alarm_state import RowFacts, alarm_row
from driver.model.commands import Action, escape
from driver.model.jobs import JobPayload, NewEntry, TicketRecord, TicketState
from driver.store import Store, open_store
from tests.fixtures.driver import DriverProcess

TOKEN = "test-token"
# A `/` (the DataMiner form), spaces, `|` (escaped in the command), `%`, `?`, `#`, dot segments,
# and a non-ASCII letter: all must reach the route as typed.
ODD_GUIDS = ["12/345/6789", "rack 4/slot 2 | east", "50% ?#&=+", "../..", "a/./b/", "Zürich/1"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The drivers of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


def cli(driver: DriverProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m driver ARGS --config <the driver's ini>` the way a shell would."""
    env = {**os.environ, "JIRA_DRIVER_URL": driver.url, "JIRA_DRIVER_DRIVER_API_TOKEN": driver.api_token}
    return subprocess.run(
        [sys.executable, "-m", "driver", *args, "--config", str(driver.config_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def get_view(driver: DriverProcess, guid: str) -> httpx.Response:
    with driver.client() as client:
        return client.get(guid_path(guid))


def create(driver: DriverProcess, *guids: str) -> dict[str, dict[str, Any]]:
    """CREATE a ticket for each GUID and wait until all settled; the Ok CREATE row of each GUID."""
    answer = driver.send(*(f"{escape(g)}|CREATE|summary;view test|" for g in guids))
    assert answer.status_code == 202, answer.text
    driver.wait_settled()
    rows = {r["guid"]: r for r in driver.rows() if r["action"] == "CREATE"}
    assert {g: rows[g]["status"] for g in guids} == dict.fromkeys(guids, "Ok")
    return rows


def test_a_created_tickets_view(driver: DriverProcess, sim: Any) -> None:
    row = create(driver, "TV-1")["TV-1"]
    answer = get_view(driver, "TV-1")
    assert answer.status_code == 200, answer.text
    view = TicketView.model_validate(answer.json())
    ticket = view.ticket
    assert ticket is not None
    assert [i["key"] for i in sim.issues()] == [ticket.key]
    assert (ticket.key, ticket.id, ticket.url) == (row["ticket_key"], row["ticket_id"], row["ticket_url"])
    assert (ticket.generation, ticket.state, ticket.deleted) == (1, "created", False)
    assert view.alarm == "active"
    assert view.hold_until is None
    assert [(t.generation, t.key, t.ended) for t in view.tickets] == [(1, ticket.key, None)]
    assert view.open_rows == 0
    assert view.last_row is not None
    assert (view.last_row.id, view.last_row.action, view.last_row.status) == (
        row["id"],
        "CREATE",
        LogStatus.OK,
    )
    # Times carry their zone.
    assert ticket.created_at is not None
    assert ticket.created_at.tzinfo is not None
    assert answer.json()["last_row"]["time"].endswith("Z")

    shown = cli(driver, "ticket", "TV-1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:5] == [
        "guid:         TV-1",
        "alarm:        active",
        f"ticket:       {ticket.key}",
        "generation:   1",
        "state:        created",
    ]
    assert f"url:          {ticket.url}" in lines
    assert "open rows:    0" in lines
    assert lines[-3].split() == ["GEN", "TICKET", "CREATED", "ENDED"]
    assert lines[-1].split()[:2] == ["1", ticket.key]
    assert lines[-1].split()[-1] == "current"


def test_json_output_is_the_apis_json(driver: DriverProcess) -> None:
    create(driver, "TV-2")
    shown = cli(driver, "ticket", "TV-2", "--json")
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 1
    assert json.loads(shown.stdout) == get_view(driver, "TV-2").json()


def test_a_guid_never_seen_is_404_and_the_cli_says_so(driver: DriverProcess) -> None:
    create(driver, "TV-3")
    for guid in ("TV-4", "tv-3", "TV-3 ", "TV-3/"):
        answer = get_view(driver, guid)
        assert answer.status_code == 404, guid
        assert answer.json() == {
            "error": f"the driver has never seen GUID {guid!r}: no log row and no ticket",
            "details": None,
        }
    shown = cli(driver, "ticket", "TV-4")
    assert shown.returncode == 1
    assert shown.stdout == ""
    assert shown.stderr.strip() == (
        "jira-driver ticket: HTTP 404: the driver has never seen GUID 'TV-4': no log row and no ticket"
    )
    # The CLI takes the GUID as the command parser does: surrounding spaces are not part of it.
    assert cli(driver, "ticket", "  TV-3 ").returncode == 0


def test_not_a_guid_is_refused(driver: DriverProcess) -> None:
    assert get_view(driver, "x" * 256).status_code == 404
    too_long = get_view(driver, "x" * 257)
    assert too_long.status_code == 400
    assert "guid" in too_long.json()["error"]
    with driver.client() as client:
        assert client.get("/api/tickets/").status_code == 400
    for bad in ("x" * 257, "", "   ", "a\tb"):
        shown = cli(driver, "ticket", bad)
        assert shown.returncode == 2, bad
        assert shown.stdout == ""
        assert shown.stderr.startswith("jira-driver ticket: ")


def test_the_route_needs_the_token(driver: DriverProcess) -> None:
    create(driver, "TV-5")
    answer = httpx.get(driver.url + guid_path("TV-5"), timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_guids_with_slashes_spaces_and_odd_characters(driver: DriverProcess) -> None:
    rows = create(driver, *ODD_GUIDS)

    async def views() -> dict[str, TicketView]:
        async with DriverClient(driver.url, TOKEN) as client:
            return {guid: await client.ticket_view(guid) for guid in ODD_GUIDS}

    seen = asyncio.run(views())
    for guid in ODD_GUIDS:
        view = seen[guid]
        assert view.guid == guid
        assert view.ticket is not None
        assert view.ticket.key == rows[guid]["ticket_key"]
    # Each its own ticket.
    assert len({v.ticket.key for v in seen.values() if v.ticket}) == len(ODD_GUIDS)
    for guid in ("12/345/6789", "rack 4/slot 2 | east", "../.."):
        shown = cli(driver, "ticket", guid, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["ticket"]["key"] == rows[guid]["ticket_key"]

    async def missing() -> int:
        async with DriverClient(driver.url, TOKEN) as client:
            try:
                await client.ticket_view("12/345")
            except DriverRejected as exc:
                return exc.status
            return 200

    # A prefix of a GUID with `/` is not that GUID.
    assert asyncio.run(missing()) == 404


def test_lifecycle_values_seeded_in_the_store_are_shown(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"sync": {"mode": "off"}})
    first = create(driver, "TV-6")["TV-6"]
    assert driver.stop() == 0
    # A second ticket for the GUID, which a person resolved in Jira and then deleted.
    made = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    store = open_store(driver.database)
    with store.transaction():
        store.journal_intent("TV-6", first["id"], generation=2)
        record = TicketRecord(
            guid="TV-6",
            state=TicketState.CREATED,
            ticket_id="99999",
            ticket_key="OPS-999",
            ticket_url=f"{sim.url}/browse/OPS-999",
            create_log_id=first["id"],
            generation=2,
            created_at=made,
        )
        store.ticket_created(record)
        record.jira_status = "Done"
        record.status_category = "done"
        record.resolution = "Won't Do"
        record.assignee = "Alice"
        record.changed_by = "Bob"
        record.changed_by_driver = False
        record.resolved_at = made + timedelta(hours=1)
        record.resolved_by_driver = False
        record.deleted_at = made + timedelta(hours=2)
        record.synced_at = made + timedelta(hours=2)
        store.record_jira_state(record)
    store.close()
    driver.restart()

    data = get_view(driver, "TV-6").json()
    ticket = data["ticket"]
    assert {
        k: ticket[k] for k in ("key", "generation", "state", "status", "status_category", "resolution")
    } == {
        "key": "OPS-999",
        "generation": 2,
        "state": "created",
        "status": "Done",
        "status_category": "done",
        "resolution": "Won't Do",
    }
    assert (ticket["assignee"], ticket["changed_by"], ticket["changed_by_driver"]) == ("Alice", "Bob", False)
    assert (ticket["resolved_at"], ticket["resolved_by_driver"]) == ("2026-03-02T10:00:00Z", False)
    assert (ticket["deleted"], ticket["deleted_at"]) == (True, "2026-03-02T11:00:00Z")
    history = [(t["generation"], t["key"], t["ended"]) for t in data["tickets"]]
    assert history == [(1, first["ticket_key"], "superseded"), (2, "OPS-999", "deleted")]

    shown = cli(driver, "ticket", "TV-6")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "generation:   2" in lines
    assert "status:       Done (done)" in lines
    assert "changed by:   Bob (a person)" in lines
    assert any(line.startswith("resolved:     ") and line.endswith(" in Jira") for line in lines)
    assert any(line.startswith("deleted:      yes, ") for line in lines)
    assert [line.split()[:2] for line in lines[-2:]] == [["1", first["ticket_key"]], ["2", "OPS-999"]]
    assert lines[-2].split()[-3] == "superseded"
    assert lines[-1].split()[-3] == "deleted"


# --- the store's reading of a GUID's rows ------------------------------------------------------

ROW_KINDS = st.tuples(
    st.sampled_from(["g", "g/2", "h"]),
    st.sampled_from(list(LogType)),
    st.sampled_from(["CREATE", "UPDATE", "RESOLVE", "REOPEN", "CALL watch", "CALL"]),
    st.sampled_from(list(LogStatus)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(ROW_KINDS, max_size=25))
def test_guid_rows_read_what_a_scan_of_every_row_finds(
    kinds: list[tuple[str, LogType, str, LogStatus]],
) -> None:
    with tempfile.TemporaryDirectory() as home:
        store = Store(Path(home) / "driver.db")
        try:
            facts: list[tuple[str, RowFacts]] = []
            with store.transaction():
                for guid, type_, action, status in kinds:
                    (job,) = store.accept(
                        [NewEntry(type_, Action.CREATE, guid, JobPayload(text=f"{guid}|CREATE|"))]
                    )
                    # The action as text: RESOLVE and REOPEN rows read the same before the
                    # commands module knows them.
                    store.db.conn.execute(
                        "UPDATE log SET action = ?, status = ?, error = ? WHERE id = ?",
                        (action, status, f"e{job.id}", job.id),
                    )
                    facts.append((guid, RowFacts(job.id, type_, action, status, job.time, f"e{job.id}")))
            for guid in ("g", "g/2", "h", "none"):
                mine = [f for g, f in facts if g == guid]
                got = store.guid_rows(guid)
                assert got.latest == max(mine, key=lambda f: f.id, default=None)
                assert got.alarm == alarm_row(mine)
                assert got.open_rows == sum(1 for f in mine if f.open)
        finally:
            store.close()
