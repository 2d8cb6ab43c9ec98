"""A GUID's ticket view: built from the store's records (driver.model.ticket_view), printed by
`jira-driver ticket` (driver.cli.ticket), addressed by the API client (driver.contract.client.guid_path)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.cli.ticket import guid_problem, view_text
from driver.contract.client import guid_path
from driver.contract.schemas import LogStatus, LogType
from driver.contract.tickets import TicketView
from driver.model.alarm_state import GuidRows, RowFacts
from driver.model.jobs import HistoryEntry, TicketRecord, TicketState
from driver.model.ticket_view import build_view

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NO_ROWS = GuidRows(latest=None, alarm=None, open_rows=0)


@pytest.fixture
def local_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The text shows local times: make local time UTC for the test."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def facts(
    id: int, action: str, status: LogStatus, error: str = "", type: LogType = LogType.AUTOMATIC
) -> RowFacts:
    return RowFacts(
        id=id, type=type, action=action, status=status, time=T0 + timedelta(seconds=id), error=error
    )


def resolved_then_deleted() -> tuple[TicketRecord, list[HistoryEntry]]:
    """The second ticket of a GUID, resolved by a person in Jira, then deleted."""
    record = TicketRecord(
        guid="12/345 6789",
        state=TicketState.CREATED,
        ticket_id="10002",
        ticket_key="OPS-2",
        ticket_url="http://jira/browse/OPS-2",
        generation=2,
        jira_status="Done",
        status_category="done",
        resolution="Won't Do",
        assignee="Alice Admin",
        changed_by="Bob Operator",
        changed_by_driver=False,
        resolved_at=T0 + timedelta(hours=1),
        resolved_by_driver=False,
        deleted_at=T0 + timedelta(hours=2),
        jira_updated=T0 + timedelta(minutes=61),
        synced_at=T0 + timedelta(minutes=62),
        created_at=T0,
    )
    history = [
        HistoryEntry(
            "12/345 6789",
            1,
            "10001",
            "OPS-1",
            "http://jira/browse/OPS-1",
            T0 - timedelta(days=9),
            T0,
            "superseded",
        ),
        HistoryEntry(
            "12/345 6789",
            2,
            "10002",
            "OPS-2",
            "http://jira/browse/OPS-2",
            T0,
            T0 + timedelta(hours=2),
            "deleted",
        ),
    ]
    return record, history


def test_a_guid_never_seen_has_no_view() -> None:
    assert build_view("X", None, [], NO_ROWS, 0, T0) is None


def test_every_recorded_value_reaches_the_view() -> None:
    record, history = resolved_then_deleted()
    rows = GuidRows(
        latest=facts(9, "UPDATE", LogStatus.FAILED, "Jira answered 404"),
        alarm=facts(9, "UPDATE", LogStatus.FAILED),
        open_rows=0,
    )
    view = build_view(record.guid, record, history, rows, 0, T0)
    assert view is not None
    data = json.loads(view.model_dump_json())
    assert data == {
        "guid": "12/345 6789",
        "alarm": "active",
        "hold_until": None,
        "ticket": {
            "key": "OPS-2",
            "id": "10002",
            "url": "http://jira/browse/OPS-2",
            "generation": 2,
            "state": "created",
            "status": "Done",
            "status_category": "done",
            "resolution": "Won't Do",
            "assignee": "Alice Admin",
            "changed_by": "Bob Operator",
            "changed_by_driver": False,
            "resolved_at": "2026-03-02T10:00:00Z",
            "resolved_by_driver": False,
            "deleted": True,
            "deleted_at": "2026-03-02T11:00:00Z",
            "jira_updated": "2026-03-02T10:01:00Z",
            "synced_at": "2026-03-02T10:02:00Z",
            "created_at": "2026-03-02T09:00:00Z",
        },
        "tickets": [
            {
                "generation": 1,
                "key": "OPS-1",
                "url": "http://jira/browse/OPS-1",
                "created_at": "2026-02-21T09:00:00Z",
                "ended": "superseded",
                "ended_at": "2026-03-02T09:00:00Z",
            },
            {
                "generation": 2,
                "key": "OPS-2",
                "url": "http://jira/browse/OPS-2",
                "created_at": "2026-03-02T09:00:00Z",
                "ended": "deleted",
                "ended_at": "2026-03-02T11:00:00Z",
            },
        ],
        "open_rows": 0,
        "last_row": {
            "id": 9,
            "action": "UPDATE",
            "status": "Failed",
            "time": "2026-03-02T09:00:09Z",
            "error": "Jira answered 404",
        },
    }
    # The model reads its own JSON back unchanged (what the CLI's client does).
    assert TicketView.model_validate_json(view.model_dump_json()) == view


def test_rows_without_a_ticket_and_a_held_resolve() -> None:
    held = facts(3, "RESOLVE", LogStatus.PENDING)
    # The newest row is a Manual execute; the alarm is read from the newest automatic one.
    rows = GuidRows(
        latest=facts(4, "CREATE", LogStatus.PENDING, type=LogType.MANUAL), alarm=held, open_rows=2
    )
    view = build_view("A-1", None, [], rows, 60, T0)
    assert view is not None
    assert (view.alarm, view.hold_until) == ("resolve_hold", held.time + timedelta(seconds=60))
    assert view.ticket is None
    assert view.tickets == []
    assert view.open_rows == 2
    assert view.last_row is not None
    assert (view.last_row.id, view.last_row.action, view.last_row.status) == (4, "CREATE", LogStatus.PENDING)
    # The hold is over: cleared, no end time.
    later = build_view("A-1", None, [], rows, 60, T0 + timedelta(minutes=5))
    assert later is not None
    assert (later.alarm, later.hold_until) == ("cleared", None)


def test_a_ticket_whose_rows_retention_removed_is_still_seen() -> None:
    record = TicketRecord(guid="A-1", state=TicketState.IN_DOUBT, generation=1)
    view = build_view("A-1", record, [], NO_ROWS, 0, T0)
    assert view is not None
    assert view.alarm == "unknown"
    assert view.last_row is None
    assert view.ticket is not None
    assert (view.ticket.state, view.ticket.key, view.ticket.deleted) == ("in_doubt", None, False)


def test_the_text_names_every_value(local_utc: None) -> None:
    record, history = resolved_then_deleted()
    rows = GuidRows(
        latest=facts(9, "UPDATE", LogStatus.FAILED, "Jira answered 404:\nno such issue"),
        alarm=facts(9, "UPDATE", LogStatus.FAILED),
        open_rows=1,
    )
    view = build_view(record.guid, record, history, rows, 0, T0)
    assert view is not None
    text = view_text(view)
    assert text.splitlines() == [
        "guid:         12/345 6789",
        "alarm:        active",
        "ticket:       OPS-2",
        "generation:   2",
        "state:        created",
        "url:          http://jira/browse/OPS-2",
        "status:       Done (done)",
        "resolution:   Won't Do",
        "assignee:     Alice Admin",
        "changed by:   Bob Operator (a person)",
        "resolved:     2026-03-02 10:00:00 in Jira",
        "deleted:      yes, 2026-03-02 11:00:00",
        "jira updated: 2026-03-02 10:01:00",
        "synced:       2026-03-02 10:02:00",
        "created:      2026-03-02 09:00:00",
        "open rows:    1",
        "last row:     #9 UPDATE Failed 2026-03-02 09:00:09: Jira answered 404: no such issue",
        "",
        "GEN  TICKET  CREATED              ENDED",
        "---  ------  -------------------  ------------------------------",
        "1    OPS-1   2026-02-21 09:00:00  superseded 2026-03-02 09:00:00",
        "2    OPS-2   2026-03-02 09:00:00  deleted 2026-03-02 11:00:00",
    ]


def test_the_text_of_a_guid_with_no_ticket_yet(local_utc: None) -> None:
    rows = GuidRows(
        latest=facts(1, "CREATE", LogStatus.PENDING), alarm=facts(1, "CREATE", LogStatus.PENDING), open_rows=1
    )
    view = build_view("A-1", None, [], rows, 0, T0)
    assert view is not None
    assert view_text(view).splitlines() == [
        "guid:      A-1",
        "alarm:     active",
        "ticket:    none yet",
        "open rows: 1",
        "last row:  #1 CREATE Pending 2026-03-02 09:00:01",
    ]


def test_the_text_of_a_ticket_the_driver_resolved(local_utc: None) -> None:
    record = TicketRecord(
        guid="A-1",
        state=TicketState.CREATED,
        ticket_key="OPS-1",
        changed_by="jira-driver",
        changed_by_driver=True,
        resolved_at=T0,
        resolved_by_driver=True,
    )
    view = build_view("A-1", record, [], NO_ROWS, 0, T0)
    assert view is not None
    lines = view_text(view).splitlines()
    assert "changed by:   jira-driver (the driver)" in lines
    assert "resolved:     2026-03-02 09:00:00 by the driver" in lines
    assert "deleted:      no" in lines
    assert "status:       -" in lines


@pytest.mark.parametrize(
    ("guid", "path"),
    [
        ("ALARM-1", "/api/tickets/ALARM-1"),
        ("12/345/6789", "/api/tickets/12%2F345%2F6789"),
        ("rack 4|slot 2", "/api/tickets/rack%204%7Cslot%202"),
        ("50% ?#&=+", "/api/tickets/50%25%20%3F%23%26%3D%2B"),
        ("..", "/api/tickets/%2E%2E"),
        ("é", "/api/tickets/%C3%A9"),
    ],
)
def test_guid_paths(guid: str, path: str) -> None:
    assert guid_path(guid) == path


@given(st.text(min_size=1, max_size=50).filter(str.isprintable))
def test_a_guid_path_decodes_to_the_guid(guid: str) -> None:
    encoded = guid_path(guid).removeprefix("/api/tickets/")
    # One path segment of unreserved characters and escapes: nothing a client or server normalises.
    assert all(ch.isascii() and (ch.isalnum() or ch in "-_~%") for ch in encoded)
    assert unquote(encoded) == guid


def test_what_cannot_be_a_guid() -> None:
    assert guid_problem("12/345 6789") is None
    assert guid_problem("x" * 256) is None
    assert guid_problem("") == "the GUID is empty"
    assert guid_problem("x" * 257) == "GUID too long: 257 characters (at most 256)"
    assert guid_problem("a\tb") == "a GUID holds no control characters"
