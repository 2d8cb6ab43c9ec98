"""The driver's HTTP API, end to end: a real `jira-driver run` process against the simulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from driver.contract.schemas import (
    AdvancedAccepted,
    CreationTableState,
    DriverStatus,
    ErrorBody,
    LogEntry,
    LogPage,
    Settings,
    Statistics,
)
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for


def log_total(client: httpx.Client) -> int:
    return LogPage.model_validate(client.get("/api/log").json()).total


def test_token_required_except_health(driver: DriverProcess) -> None:
    with httpx.Client(base_url=driver.url, timeout=5) as anonymous:
        assert anonymous.get("/api/health").status_code == 200
        assert anonymous.get("/api/status").status_code == 401
        wrong = anonymous.get("/api/status", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "test-token" not in wrong.text
        refused = anonymous.post("/api/advanced", content="X|CREATE|summary;x|")
        assert refused.status_code == 401
    with driver.client() as client:
        DriverStatus.model_validate(client.get("/api/status").json())
        assert log_total(client) == 0


def test_intake_text_and_json_then_log(driver: DriverProcess) -> None:
    response = driver.send("API1|CREATE|summary;Disk full|", "", "API1|UPDATE|comment;still full|")
    assert response.status_code == 202
    accepted = AdvancedAccepted.model_validate(response.json()).accepted
    assert [(a.guid, a.action) for a in accepted] == [("API1", "CREATE"), ("API1", "UPDATE")]
    with driver.client() as client:
        response = client.post("/api/advanced", json={"commands": ["API2|create|summary;Other|"]})
        assert response.status_code == 202
        driver.wait_settled()
        page = LogPage.model_validate(client.get("/api/log", params={"status": "Ok"}).json())
        assert page.total == 3
        detail = LogEntry.model_validate(client.get(f"/api/log/{accepted[0].id}").json())
        assert detail.ticket_key is not None
        assert detail.request is not None
        assert detail.request["fields"]["summary"] == "Disk full"
        assert detail.response is not None
        assert detail.response["status"] == 201
        assert client.get("/api/log/99999").status_code == 404
        by_guid = LogPage.model_validate(client.get("/api/log", params={"guid": "API2"}).json())
        assert [r.action for r in by_guid.rows] == ["CREATE"]
        stats = Statistics.model_validate(client.get("/api/stats").json())
        assert (stats.create.today, stats.update.today, stats.total.total) == (2, 1, 3)
        reset = client.post("/api/stats/reset", json={"counter": "create", "scope": "all"})
        assert Statistics.model_validate(reset.json()).create.total == 0


def test_bad_line_rejects_the_whole_request(driver: DriverProcess) -> None:
    response = driver.send("OK1|CREATE|summary;fine|", "OK2|UPDATE|nosuchfield;x|", "OK3|CREATE|")
    assert response.status_code == 400
    body = ErrorBody.model_validate(response.json())
    assert body.details is not None
    details: Any = body.details
    assert details.line == 2
    assert details.position == 12
    assert "unknown field" in details.reason
    assert details.command == "OK2|UPDATE|nosuchfield;x|"
    with driver.client() as client:
        assert log_total(client) == 0
        bad_json = client.post("/api/advanced", json={"commands": []})
        assert bad_json.status_code == 400
        empty = client.post("/api/advanced", content="\n\n", headers={"Content-Type": "text/plain"})
        assert empty.status_code == 400
        assert log_total(client) == 0


def test_ticket_table_endpoints_and_execute(driver: DriverProcess, sim: Any) -> None:
    with driver.client() as client:
        state = CreationTableState.model_validate(client.get("/api/ticket").json())
        assert state.query["fields"]["project"] == {"key": "OPS"}
        rows = [r.model_dump() for r in state.rows]
        for row in rows:
            if row["field"] == "summary":
                row["value"] = "Made by Execute"
        state = CreationTableState.model_validate(client.put("/api/ticket/rows", json={"rows": rows}).json())
        assert state.query["fields"]["summary"] == "Made by Execute"
        bad = client.put("/api/ticket/query", json={"query_text": '{"fields": {'})
        assert bad.status_code == 400
        assert ErrorBody.model_validate(bad.json()).details is not None
        query = dict(state.query)
        query["fields"] = dict(query["fields"], priority={"name": "High"})
        state = CreationTableState.model_validate(
            client.put("/api/ticket/query", json={"query_text": json.dumps(query)}).json()
        )
        priority = [r for r in state.rows if r.field == "priority"][0]
        assert (priority.value, priority.mode) == ("High", "Included")
        # a field the catalog does not have is refused now, not by Jira at every CREATE after it
        query["fields"] = dict(query["fields"], bogus_field=1)
        unknown = client.put("/api/ticket/query", json={"query_text": json.dumps(query)})
        assert unknown.status_code == 400, unknown.text
        assert "fields.bogus_field: no such field in the catalog" in unknown.json()["error"]
        assert "bogus_field" not in client.get("/api/ticket").json()["query"]["fields"]
        refreshed = CreationTableState.model_validate(client.post("/api/catalog/refresh").json())
        assert any(f.name == "Alarm Severity" for f in refreshed.catalog)
        added = client.post(
            "/api/ticket/fields", json={"id": "customfield_10100", "value": "Critical", "mode": "Included"}
        )
        assert added.status_code == 200, added.text
        assert CreationTableState.model_validate(added.json()).query["fields"]["customfield_10100"] == {
            "value": "Critical"
        }
        executed = client.post("/api/execute", params={"wait_seconds": 10})
        assert executed.status_code == 202
        entry = LogEntry.model_validate(executed.json())
        assert entry.type == "Manual"
        assert entry.status == "Ok", entry.error
        ticket = sim.admin(f"issues/{entry.ticket_key}")
        assert ticket["fields"]["summary"] == "Made by Execute"
        # A custom field named by its display name in a command.
        response = client.post(
            "/api/advanced",
            content="SEV|CREATE|Alarm Severity;Major|",
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        driver.wait_settled()
        sev = LogPage.model_validate(client.get("/api/log", params={"guid": "SEV"}).json()).rows[0]
        assert sim.admin(f"issues/{sev.ticket_key}")["fields"]["customfield_10100"]["value"] == "Major"


def test_settings_persist_and_secrets_never_come_back(driver: DriverProcess) -> None:
    secret = "s3cr3t-never-shown"
    with driver.client() as client:
        client.put("/api/settings/update", json={"max_updates": 3, "interval_seconds": 30, "scope": "global"})
        client.put("/api/settings/log", json={"max_entries": 500, "remove_older_than_days": 7})
        response = client.put(
            "/api/settings/auth", json={"mode": "basic", "username": "admin", "secret": secret}
        )
        assert secret not in response.text
        settings = Settings.model_validate(response.json())
        assert settings.jira.has_secret
    driver.restart()
    with driver.client() as client:
        text = client.get("/api/settings").text
        assert secret not in text
        settings = Settings.model_validate_json(text)
        assert settings.update.max_updates == 3
        assert settings.update.scope == "global"
        assert settings.log.max_entries == 500
        assert settings.jira.auth_mode == "basic"
    # The wrong password from the API is now in force: commands wait, status says why.
    driver.send("AUTH|CREATE|summary;x|")
    with driver.client() as client:

        def refused() -> DriverStatus | None:
            status = DriverStatus.model_validate(client.get("/api/status").json())
            return status if status.jira_state == "auth_failed" else None

        status = wait_for(refused, "Jira's 401 in the status", 10)
        assert "401" in status.jira_message
        assert status.pending == 1
        client.put("/api/settings/auth", json={"mode": "basic", "username": "admin", "secret": "admin"})
    driver.wait_settled()
    assert secret not in driver.stderr_path.read_text()


def test_sigterm_exits_zero_quickly(driver: DriverProcess) -> None:
    driver.send(*(f"Q{i}|CREATE|summary;x|" for i in range(20)))
    started = time.monotonic()
    assert driver.stop() == 0
    assert time.monotonic() - started < 10
    driver.start()
    driver.wait_settled()
    with driver.client() as client:
        page = LogPage.model_validate(client.get("/api/log", params={"status": "Ok"}).json())
        assert page.total == 20


def test_parse_endpoint(driver: DriverProcess) -> None:
    with driver.client() as client:
        dry = client.post("/api/parse", json={"command": "P|UPDATE|summary;x|comment;hi|"}).json()
        assert dry["method"] == "PUT"
        assert dry["path"] == "rest/api/latest/issue/{key}"
        bad = client.post("/api/parse", json={"command": "P|NOPE|"})
        assert bad.status_code == 400


def test_no_token_driver_is_open(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    process = driver_factory(sim.url)
    with process.client() as client:
        assert client.get("/api/status").status_code == 200
