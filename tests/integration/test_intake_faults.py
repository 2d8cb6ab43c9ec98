"""Faults a helper session found (helper-22) in the alert intake, the ticket view of an alarm that
makes CALLs and the eligible search's paging, each a test that failed before its fix: a big
notification stalled the driver, a refused alert was named by a command the sender never wrote, a
CALL read as the alarm's state, a forged cursor was a 500. (The fifth, two alarms taking one
eligible ticket, is in test_eligible_create.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fixtures.alerts import TOKEN, alert, notification, post
from tests.fixtures.driver import DriverProcess


def test_a_large_alertmanager_notification_is_taken_within_a_senders_timeout(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """Every input has a bound, and a big one inside it cannot stall the driver. A notification of
    3,000 small alerts (about 300 KB: inside max_request_bytes and MAX_ALERTS) took 45 s, the event
    loop blocked meanwhile (each alert's template context dumped every alert of the notification:
    10,000 alerts, about ten minutes); a sender gives up long before (this client: after 10 s,
    Alertmanager's own webhook timeout is of that order), and would send it again. Now linear:
    tests/bench/bench_alerts.py prints the time one notification at the bound takes."""
    driver = driver_factory(sim.url, api_token=TOKEN)
    many = notification(
        *(
            {"status": "firing", "labels": {"alertname": "A", "instance": f"h{n}"}, "fingerprint": f"q{n}"}
            for n in range(3000)
        )
    )
    answer = post(driver, "/api/alertmanager", many, timeout=10)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == 3000


def test_a_call_does_not_change_the_alarms_state_in_its_ticket_view(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """docs/operations.md (the Alarms table) and contract TicketView.alarm: the alarm's state comes
    from its automation's CREATE/UPDATE/REOPEN (active) or RESOLVE (cleared). A CALL "says nothing
    about the alarm" (driver/store/alarms.py keeps it out of the Alarms table's state).

    After `G|CREATE|` then `G|CALL|endpoint;watch|user;jsmith|`, the Alarms table says active but
    GET /api/tickets/G (and `jira-driver ticket G`) says 'unknown': the ticket view picks the newest
    automatic row, which is the CALL, and a CALL is 'any other action'."""
    driver = driver_factory(
        sim.url,
        api_token="test-token",
        ini={
            "endpoint.watch": {
                "method": "POST",
                "path": "rest/api/2/issue/{key}/watchers",
                "body": '"{user}"',
                "expect": "204",
            }
        },
    )
    assert driver.send("C-1|CREATE|summary;Disk full|").status_code == 202
    driver.wait_rows(lambda rows: len(rows) == 1 and rows[0]["status"] == "Ok")
    assert driver.send("C-1|CALL|endpoint;watch|user;jsmith|").status_code == 202
    driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] in ("Ok", "Failed"))
    with driver.client() as client:
        alarms = client.get("/api/alarms").json()
        view = client.get("/api/tickets/C-1").json()
    (row,) = [a for a in alarms["rows"] if a["guid"] == "C-1"] if "rows" in alarms else [alarms]
    assert view["alarm"] == "active", view


def test_a_forged_eligible_cursor_is_a_400_not_a_500(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """Promise (2): bad input gets a clear error and no 500.

    GET /api/eligible?cursor=@² on Data Center: the cursor is checked with str.isdigit(), which
    accepts '²', and then int('²') raises ValueError inside driver/jira/search.py search_page: the
    answer is a 500 instead of a 400 naming the cursor (or the first page)."""
    driver = driver_factory(sim.url, api_token="test-token")
    with driver.client() as client:
        first = client.get("/api/eligible", params={"cursor": "@0"})
        forged = client.get("/api/eligible", params={"cursor": "@\u00b2"})
    assert first.status_code == 200, first.text
    assert forged.status_code == 400, (forged.status_code, forged.text)
    assert "cursor '@²' is not one this driver gave (next_cursor)" in forged.json()["error"]


def test_an_alert_refused_at_intake_is_named_by_its_place_in_the_notification(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """Promise (2): bad input gets a clear error naming what was wrong and where.

    A notification whose 6th alert has a fingerprint with a control character (after five alerts
    that are unchanged since the last notification) is refused, rightly, but the 400 says
    "line 1, position 17: non-printable character '\\t' in the GUID" and carries a command the
    sender never wrote: line 1 of the commands the driver generated (the unchanged alerts made
    none), not alerts[5] and its fingerprint. POST /api/endpoints strips such positions for this
    very reason (driver/api/endpoints.py); driver/api/alerts.py lets IntakeError through as is."""
    driver = driver_factory(sim.url, api_token=TOKEN)
    good = [alert(f"ok{n}", instance=f"h{n}") for n in range(5)]
    assert post(driver, "/api/alertmanager", notification(*good)).status_code == 200
    refused = post(driver, "/api/alertmanager", notification(*good, alert("bad\tfp")))
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error.startswith("[alertmanager] alerts.5 (fingerprint 'bad\\tfp'): "), error
    assert "non-printable" in error
    assert error.endswith("(nothing was queued)")
    assert "line 1" not in error
