"""kill -9 in the middle of a burst: after a restart every accepted command ends Ok, one ticket per GUID."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from driver.contract.schemas import LogPage
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

GUIDS = 60
UPDATES = 4


@pytest.mark.slow
def test_kill_9_mid_burst_then_restart(driver_factory: Callable[..., DriverProcess], sim: Any) -> None:
    # Slow answers keep many requests in flight when the process dies.
    sim.config(latency_ms=30)
    driver = driver_factory(sim.url, api_token="crash")
    accepted: list[int] = []
    for update in range(UPDATES + 1):
        batch = [
            f"CR-{g}|CREATE|summary;crash test {g}|"
            if update == 0
            else f"CR-{g}|UPDATE|summary;crash test {g} v{update}|comment;update {update}|"
            for g in range(GUIDS)
        ]
        response = driver.send(*batch)
        assert response.status_code == 202
        accepted.extend(item["id"] for item in response.json()["accepted"])
    # Wait until Jira has seen some of the burst, but far from all of it.
    # killed once a third of the tickets exist: mid-stream, with requests in flight
    wait_for(lambda: sim.counters()["created"] >= GUIDS // 3, "a third of the creates done", 10, every=0.01)
    driver.kill()
    created_before = sim.counters()["created"]
    assert created_before < GUIDS or sim.counters()["edits"] < GUIDS * UPDATES

    driver.restart()
    driver.wait_settled(timeout=25)
    with driver.client() as client:
        page = LogPage.model_validate(client.get("/api/log", params={"limit": 1000}).json())
    assert page.total == len(accepted)
    assert {row.id for row in page.rows} == set(accepted)
    failed = [(row.id, row.error) for row in page.rows if row.status != "Ok"]
    assert failed == []
    # Exactly one ticket per GUID in the simulator.
    labels: Counter[str] = Counter()
    for issue in sim.issues():
        for label in issue["fields"].get("labels", []):
            if label.startswith("alarm-CR-"):
                labels[label] += 1
    assert len(labels) == GUIDS
    assert set(labels.values()) == {1}
    for g in range(GUIDS):
        keys = {row.ticket_key for row in page.rows if row.guid == f"CR-{g}"}
        assert len(keys) == 1
