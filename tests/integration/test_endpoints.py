"""Custom API endpoints end to end: `[endpoint.NAME]` sections, the Advanced CALL action and
POST /api/endpoints/NAME, against the simulator over loopback with the driver's real SQLite file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for
from tests.integration.test_shell_commands import cli

Factory = Callable[..., DriverProcess]

WATCH = {
    "method": "POST",
    "path": "rest/api/2/issue/{key}/watchers",
    "body": '"{user}"',
    "expect": "204",
}


def start(driver_factory: Factory, sim: SimProcess, *, idempotent: bool = False) -> DriverProcess:
    watch = {**WATCH, "idempotent": str(idempotent).lower()}
    ini = {
        "endpoint.watch": watch,
        "endpoint.property": {
            "method": "PUT",
            "path": "rest/api/2/issue/{key}/properties/{name}",
            "body": '{"guid": "{guid}", "note": "{note}"}',
        },
        "jira": {"max_retries": "3", "retry_base_seconds": "0.05"},
    }
    return driver_factory(sim.url, api_token="test-token", ini=ini)


def watcher_posts(sim: SimProcess) -> list[dict[str, Any]]:
    return [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/watchers")]


def created(driver: DriverProcess, guid: str) -> str:
    assert driver.send(f"{guid}|CREATE|summary;Disk full|").status_code == 202
    rows = driver.wait_rows(lambda rows: any(r["guid"] == guid and r["status"] == "Ok" for r in rows))
    key: str = next(r["ticket_key"] for r in rows if r["guid"] == guid)
    return key


def test_a_call_adds_a_watcher_and_is_a_log_row_with_its_answer(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-1")
    assert driver.send("E-1|CALL|endpoint;watch|user;jsmith|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] in ("Ok", "Failed"))
    call = rows[1]
    assert (call["action"], call["status"], call["ticket_key"]) == ("CALL watch", "Ok", key), call
    (issue,) = [i for i in sim.issues() if i["key"] == key]
    with driver.client() as client:
        detail = client.get(f"/api/log/{call['id']}").json()
        answers = client.get("/api/responses", params={"kind": "call"}).json()["rows"]
        watchers = client.get("/api/tickets/E-1").status_code
    assert detail["request"] == {
        "method": "POST",
        "path": f"rest/api/2/issue/{key}/watchers",
        "body": "jsmith",
    }
    assert detail["response"]["status"] == 204
    assert [(a["method"], a["status"], a["log_id"]) for a in answers] == [("POST", 204, call["id"])]
    assert watchers == 200
    posted = watcher_posts(sim)
    assert len(posted) == 1
    assert issue["key"] == key


def test_values_become_json_strings_and_one_path_segment(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-2")
    note = 'say "hi"\\n", "guid": "forged'
    # `\\n` is the command's escaped newline; the name holds spaces, quotes and a percent sign
    assert driver.send(f'E-2|CALL|endpoint;property|name;a "b" 100%|note;{note}|').status_code == 202
    # a name that would climb out of the properties: one segment, %2F-encoded, so Jira answers
    # for the properties resource (404 here) and nothing else is touched
    assert driver.send("E-2|CALL|endpoint;property|name;../../../../myself|note;x|").status_code == 202
    rows = driver.wait_rows(
        lambda rows: len(rows) == 3 and all(r["status"] in ("Ok", "Failed") for r in rows)
    )
    assert rows[1]["status"] == "Ok", rows[1]
    (issue,) = [i for i in sim.issues() if i["key"] == key]
    assert issue["properties"]['a "b" 100%'] == {"guid": "E-2", "note": 'say "hi"\n", "guid": "forged'}
    assert rows[2]["status"] == "Failed"
    assert "HTTP 404" in rows[2]["error"]
    with driver.client() as client:
        sent = client.get(f"/api/log/{rows[2]['id']}").json()["request"]
    assert sent["path"] == f"rest/api/2/issue/{key}/properties/..%2F..%2F..%2F..%2Fmyself"


def test_bad_calls_are_refused_at_intake_naming_what_is_wrong(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    cases = {
        "E-3|CALL|endpoint;nope|": "unknown endpoint 'nope' (known: property, watch)",
        "E-3|CALL|endpoint;watch|": (
            "endpoint 'watch' needs a value for {user}: |user;value| in a CALL command, user=VALUE"
        ),
        "E-3|CALL|endpoint;watch|user;x|colour;red|": "endpoint 'watch' has no placeholder {colour}",
        "E-3|CALL|user;x|": "a CALL names its endpoint",
        "E-3|CALL|endpoint;watch|key;ABC-1|user;x|": "{key} is filled by the driver",
    }
    for command, reason in cases.items():
        answer = driver.send(command)
        assert answer.status_code == 400, (command, answer.text)
        assert reason in answer.text, (command, answer.text)
    assert driver.rows() == []


def test_a_call_before_its_ticket_exists_fails_with_the_reason(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    accepted = driver.send("E-4|CALL|endpoint;watch|user;jsmith|")
    assert accepted.status_code == 202
    # the 202 names the action as the log does (helper-21: `jira-driver send` printed "CALL E-4")
    assert [a["action"] for a in accepted.json()["accepted"]] == ["CALL watch"]
    (row,) = driver.wait_rows(lambda rows: len(rows) == 1 and rows[0]["status"] == "Failed")
    assert "no ticket for GUID 'E-4' to CALL watch" in row["error"]
    assert watcher_posts(sim) == []


def test_an_unknown_user_is_jiras_reason_in_the_failed_row(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim)
    created(driver, "E-5")
    assert driver.send("E-5|CALL|endpoint;watch|user;nobody|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] == "Failed")
    assert 'The user "nobody" does not exist.' in rows[1]["error"]


def test_a_lost_answer_fails_a_call_that_is_not_idempotent_and_never_repeats_it(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-6")
    sim.faults(kind="drop_after", count=1, method="POST", path=f"/rest/api/2/issue/{key}/watchers")
    assert driver.send("E-6|CALL|endpoint;watch|user;jsmith|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] == "Failed")
    assert rows[1]["error"].startswith("outcome unknown: CALL watch may have reached Jira"), rows[1]
    assert "not sent again because the endpoint is not idempotent" in rows[1]["error"]
    assert len(watcher_posts(sim)) == 1


def test_a_lost_answer_repeats_a_call_marked_idempotent(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim, idempotent=True)
    key = created(driver, "E-7")
    sim.faults(
        kind="status_after", count=1, status=500, method="POST", path=f"/rest/api/2/issue/{key}/watchers"
    )
    assert driver.send("E-7|CALL|endpoint;watch|user;jsmith|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] in ("Ok", "Failed"))
    assert rows[1]["status"] == "Ok", rows[1]
    assert len(watcher_posts(sim)) == 2


def test_a_429_delays_a_call_and_never_fails_it(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-8")
    sim.faults(
        kind="status",
        status=429,
        count=1,
        retry_after=1,
        method="POST",
        path=f"/rest/api/2/issue/{key}/watchers",
    )
    assert driver.send("E-8|CALL|endpoint;watch|user;jsmith|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] in ("Ok", "Failed"))
    assert rows[1]["status"] == "Ok", rows[1]
    assert len(watcher_posts(sim)) == 2


def test_a_kill_while_a_call_is_on_the_wire_fails_it_after_restart(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-9")
    sim.faults(
        kind="slow_after", count=1, seconds=30, method="POST", path=f"/rest/api/2/issue/{key}/watchers"
    )
    assert driver.send("E-9|CALL|endpoint;watch|user;jsmith|").status_code == 202
    # the simulator has applied it and holds the answer back
    wait_for(
        lambda: any(i["key"] == key and i.get("watchers") for i in sim.issues()) or None,
        "the call on the wire",
    )
    driver.kill()
    driver.start()
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] == "Failed")
    assert "the driver stopped while it was on the wire" in rows[1]["error"], rows[1]
    # the simulator journals a request once answered: the one held back died with the driver, and
    # none went after the restart
    assert watcher_posts(sim) == []


def test_the_api_lists_endpoints_and_calls_one(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim)
    key = created(driver, "E-10")
    with driver.client() as client:
        listed = client.get("/api/endpoints").json()
        answer = client.post("/api/endpoints/watch", json={"guid": "E-10", "variables": {"user": "jsmith"}})
        missing = client.post("/api/endpoints/nope", json={"guid": "E-10", "variables": {}})
        short = client.post("/api/endpoints/watch", json={"guid": "E-10", "variables": {}})
    names = [e["name"] for e in listed["endpoints"]]
    assert names == ["property", "watch"]
    watch = listed["endpoints"][1]
    assert (watch["method"], watch["variables"], watch["needs_ticket"], watch["idempotent"]) == (
        "POST",
        ["user"],
        True,
        False,
    )
    assert answer.status_code == 202, answer.text
    assert missing.status_code == 404
    assert "unknown endpoint 'nope'" in missing.text
    assert short.status_code == 400
    assert "needs a value for {user}" in short.text
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] in ("Ok", "Failed"))
    assert (rows[1]["action"], rows[1]["status"], rows[1]["type"]) == ("CALL watch", "Ok", "Manual")
    assert rows[1]["ticket_key"] == key


def test_the_shell_lists_endpoints_and_calls_one(driver_factory: Factory, sim: SimProcess) -> None:
    driver = start(driver_factory, sim)
    created(driver, "E-11")
    listed = cli(driver, "endpoints")
    assert listed.returncode == 0, listed.stderr
    assert "watch: POST rest/api/2/issue/{key}/watchers user=... (expects 204)" in listed.stdout
    called = cli(driver, "call", "watch", "E-11", "user=jsmith", "--wait", "20")
    assert called.returncode == 0, called.stderr
    lines = called.stdout.splitlines()
    assert re.fullmatch(r"accepted #\d+ CALL watch E-11", lines[0]), lines
    assert lines[1].endswith(" Ok HTTP 204"), lines
    refused = cli(driver, "call", "watch", "E-11", "colour=red")
    assert refused.returncode == 2
    assert "has no placeholder {colour}" in refused.stderr
    assert "position" not in refused.stderr  # the caller wrote no command
    unknown = cli(driver, "call", "nope", "E-11")
    assert unknown.returncode == 2
    assert "unknown endpoint 'nope' (known: property, watch)" in unknown.stderr
    failed = cli(driver, "call", "watch", "E-11", "user=nobody", "--wait", "20", "--json")
    assert failed.returncode == 1
    row = json.loads(failed.stdout.splitlines()[1])
    assert row["status"] == "Failed"
    assert 'The user "nobody" does not exist.' in row["error"]
