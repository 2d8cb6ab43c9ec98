"""Alertmanager and Grafana in, against a driver process and the simulator (real HTTP, real
SQLite): one ticket per alert however often its notification comes, updates only for changes,
RESOLVE on resolved, groups, signatures, and bad payloads refused whole."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from driver.app.alert_intake import THREAD_ALERTS
from tests.fixtures.alerts import TOKEN, alert, notification, post
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for


@pytest.fixture
def driver(driver_factory: Callable[..., DriverProcess], sim: Any) -> DriverProcess:
    return driver_factory(sim.url, api_token=TOKEN)


def issues(sim: Any) -> list[dict[str, Any]]:
    return [i for i in sim.issues() if i["fields"]["summary"].startswith("DiskFull")]


def test_firing_then_the_same_again_then_resolved_makes_one_ticket_and_resolves_it(
    driver: DriverProcess, sim: Any
) -> None:
    first = post(driver, "/api/alertmanager", notification(alert("fp1")))
    assert first.status_code == 200, first.text
    assert [c["action"] for c in first.json()["accepted"]] == ["CREATE"]
    driver.wait_settled()
    again = post(driver, "/api/alertmanager", notification(alert("fp1")))
    assert again.json() == {"accepted": [], "unchanged": 1}
    resolved = post(driver, "/api/alertmanager", notification(alert("fp1", "resolved"), status="resolved"))
    assert [c["action"] for c in resolved.json()["accepted"]] == ["RESOLVE"]
    driver.wait_settled()
    (ticket,) = issues(sim)
    assert ticket["fields"]["summary"] == "DiskFull on db-1:9100"
    assert ticket["fields"]["priority"]["name"] == "Highest"
    assert "summary: Disk /data is 97% full" in ticket["fields"]["description"]
    assert "http://prometheus:9090/graph" in ticket["fields"]["description"]
    assert ticket["fields"]["status"]["statusCategory"]["key"] == "done"
    assert sim.counters()["edits"] == 0  # no update was sent for the repeat
    assert {r["status"] for r in driver.rows()} == {"Ok"}
    # resolved again: nothing
    assert (
        post(driver, "/api/alertmanager", notification(alert("fp1", "resolved"), status="resolved")).json()[
            "accepted"
        ]
        == []
    )


def test_a_changed_alert_is_one_update(driver: DriverProcess, sim: Any) -> None:
    post(driver, "/api/alertmanager", notification(alert("fp2")))
    driver.wait_settled()
    changed = alert("fp2")
    changed["annotations"]["summary"] = "Disk /data is 99% full"
    answer = post(driver, "/api/alertmanager", notification(changed))
    assert [c["action"] for c in answer.json()["accepted"]] == ["UPDATE"]
    driver.wait_settled()
    (ticket,) = issues(sim)
    assert "99% full" in ticket["fields"]["description"]


def test_the_same_notification_from_two_cluster_peers_makes_one_ticket(
    driver: DriverProcess, sim: Any
) -> None:
    body = notification(alert("fp3"), alert("fp4", instance="db-2:9100"))
    answers: list[httpx.Response] = []
    start = threading.Barrier(2)

    def peer() -> None:
        start.wait()
        answers.append(post(driver, "/api/alertmanager", body))

    peers = [threading.Thread(target=peer) for _ in range(2)]
    for p in peers:
        p.start()
    for p in peers:
        p.join(30)
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(len(a.json()["accepted"]) for a in answers) == [0, 2]
    driver.wait_settled()
    assert len(issues(sim)) == 2


def test_one_ticket_per_group_is_updated_as_its_alerts_change(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"alertmanager": {"ticket_per": "group"}})
    one = post(driver, "/api/alertmanager", notification(alert("g1")))
    assert [c["action"] for c in one.json()["accepted"]] == ["CREATE"]
    driver.wait_settled()
    two = post(driver, "/api/alertmanager", notification(alert("g1"), alert("g2", instance="db-2:9100")))
    assert [c["action"] for c in two.json()["accepted"]] == ["UPDATE"]
    assert (
        post(
            driver, "/api/alertmanager", notification(alert("g1"), alert("g2", instance="db-2:9100"))
        ).json()["accepted"]
        == []
    )
    driver.wait_settled()
    tickets = [i for i in sim.issues() if "firing" in (i["fields"].get("description") or "")]
    assert len(tickets) == 1
    assert "db-2:9100" in tickets[0]["fields"]["description"]


def test_grafana_with_and_without_a_signature(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    body = json.dumps(
        {
            **notification(alert("gf1")),
            "orgId": 1,
            "title": "[FIRING:1] DiskFull",
            "state": "alerting",
            "message": "m",
        }
    ).encode()
    plain = driver_factory(sim.url, api_token=TOKEN)
    assert [c["action"] for c in post(plain, "/api/grafana", body).json()["accepted"]] == ["CREATE"]
    signed = driver_factory(sim.url, api_token=TOKEN, ini={"grafana": {"secret": "gf-secret"}})
    assert post(signed, "/api/grafana", body).status_code == 401
    assert post(signed, "/api/grafana", body, {"X-Grafana-Alerting-Signature": "0" * 64}).status_code == 401
    good = hmac.new(b"gf-secret", body, hashlib.sha256).hexdigest()
    assert post(signed, "/api/grafana", body, {"X-Grafana-Alerting-Signature": good}).status_code == 200
    stamp = "1764930000"
    stamped = hmac.new(b"gf-secret", f"{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    answer = post(
        signed,
        "/api/grafana",
        body,
        {"X-Grafana-Alerting-Signature": stamped, "X-Grafana-Alerting-Signature-Timestamp": stamp},
    )
    assert answer.json() == {"accepted": [], "unchanged": 1}  # the same alert: already taken


def test_bad_payloads_and_templates_are_refused_whole(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(
        sim.url,
        api_token=TOKEN,
        ini={"alertmanager": {"summary": "{{ labels.team }}: {{ labels.alertname }}"}},
    )
    not_json = post(driver, "/api/alertmanager", b"{not json")
    assert not_json.status_code == 400
    no_status = post(driver, "/api/alertmanager", {"alerts": []})
    assert no_status.status_code == 400
    assert "status" in no_status.json()["error"]
    # one alert carries the label the summary needs, the other does not: nothing is queued
    mixed = post(driver, "/api/alertmanager", notification(alert("t1", team="storage"), alert("t2")))
    assert mixed.status_code == 400
    assert "template 'summary'" in mixed.json()["error"]
    assert driver.rows() == []
    assert post(driver, "/api/alertmanager", notification(alert("t1", team="storage"))).status_code == 200


def test_a_template_that_does_not_compile_stops_the_start(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    with pytest.raises(RuntimeError) as failed:
        driver_factory(sim.url, ini={"alertmanager": {"summary": "{{ labels.alertname "}})
    assert "[alertmanager] summary" in str(failed.value)
    assert "line 1" in str(failed.value)


def test_awkward_label_values_are_shaped_like_any_command(driver: DriverProcess, sim: Any) -> None:
    awkward = alert("aw1", instance="db|1\nx\u2028y;z" + "w" * 10_000)
    answer = post(driver, "/api/alertmanager", notification(awkward))
    assert answer.status_code == 200, answer.text
    driver.wait_settled()
    (row,) = driver.rows()
    assert row["status"] == "Ok", row
    (ticket,) = issues(sim)
    assert len(ticket["fields"]["summary"]) <= 255
    assert ticket["fields"]["summary"].startswith("DiskFull on db|1")


def test_a_thousand_alerts_are_one_commit_and_an_oversized_payload_is_413(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, api_token=TOKEN, ini={"driver": {"max_request_bytes": "400000"}})
    many = notification(*(alert(f"k{n}", instance=f"h{n}") for n in range(1000)))
    taken = post(driver, "/api/alertmanager", many)
    assert taken.status_code == 200, taken.text
    assert len(taken.json()["accepted"]) == 1000
    ids = sorted(c["id"] for c in taken.json()["accepted"])
    assert ids == list(range(ids[0], ids[0] + 1000))  # one batch: consecutive rows
    huge = notification(alert("big", instance="x" * 500_000))
    too_large = post(driver, "/api/alertmanager", huge)
    assert too_large.status_code == 413
    assert "max_request_bytes" in too_large.json()["error"]


def test_two_copies_of_a_big_notification_at_once_make_its_commands_once(driver: DriverProcess) -> None:
    """A notification of more alerts than THREAD_ALERTS is planned on a worker thread; two
    Alertmanager peers sending it at once must still make its commands once: the second copy finds
    the first's notices (the alert intake takes one notification at a time)."""
    big = notification(*(alert(f"big-{n}", instance=f"h{n}:9100") for n in range(THREAD_ALERTS + 500)))
    answers: list[httpx.Response] = []
    copies = [
        threading.Thread(target=lambda: answers.append(post(driver, "/api/alertmanager", big))) for _ in "ab"
    ]
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join(60)
    assert sorted(a.status_code for a in answers) == [200, 200]
    bodies = sorted((a.json() for a in answers), key=lambda b: len(b["accepted"]))
    assert (len(bodies[0]["accepted"]), bodies[0]["unchanged"]) == (0, THREAD_ALERTS + 500)
    assert (len(bodies[1]["accepted"]), bodies[1]["unchanged"]) == (THREAD_ALERTS + 500, 0)


@pytest.mark.parametrize("moment", ["before_sending", "creates_on_the_wire"])
def test_a_notification_answered_200_survives_a_kill_9(
    driver_factory: Callable[..., DriverProcess], sim: Any, moment: str
) -> None:
    """A notification answered 200 is in the store: after a SIGKILL (before its creates went, or
    with them on the wire) and a restart, each alert has one ticket and every row ends Ok, and
    Alertmanager's retry of the notification adds nothing (helper-24: held)."""
    driver = driver_factory(sim.url, api_token=TOKEN)
    if moment == "before_sending":
        sim.faults(kind="503", count=-1, method="POST", path="/rest/api/")
    else:
        sim.config(latency_ms=400)
    body = notification(*(alert(f"k{n:03d}", instance=f"host-{n}:9100") for n in range(20)))
    answer = post(driver, "/api/alertmanager", body)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == 20
    if moment == "before_sending":
        wait_for(lambda: sim.counters()["faults"] > 0, "a create refused", 10, every=0.01)
    else:
        wait_for(lambda: sim.counters()["in_flight"] > 0, "creates on the wire", 10, every=0.01)
    driver.kill()
    sim.admin("faults", method="DELETE")
    sim.config(latency_ms=0)
    wait_for(lambda: sim.counters()["in_flight"] == 0, "the killed driver's requests done", 10, every=0.01)
    driver.restart()
    rows = driver.wait_rows(lambda rows: len(rows) == 20 and all(r["status"] == "Ok" for r in rows), 60)
    assert len({r["ticket_key"] for r in rows}) == 20
    assert post(driver, "/api/alertmanager", body).json()["accepted"] == []
    assert sorted(Counter(i["fields"]["summary"] for i in issues(sim)).values()) == [1] * 20
