"""Get Eligible Ticket end to end: the driver's search of Jira, paged, on the simulator as Data
Center (startAt) and as Cloud (nextPageToken), and what a refused JQL or a refused filter says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for
from tests.integration.test_cloud_end_to_end import _cloud_sim, _driver
from tests.integration.test_shell_commands import cli

Factory = Callable[..., DriverProcess]


def search(driver: DriverProcess, **params: Any) -> Any:
    with driver.client() as client:
        return client.get("/api/eligible", params=params)


def make_tickets(driver: DriverProcess) -> None:
    assert (
        driver.send(
            'E-1|CREATE|summary;Disk full on "db-1" (primary)|',
            "E-2|CREATE|summary;Fan failure on sw-2|",
            "E-3|CREATE|summary;Disk full on db-3|",
        ).status_code
        == 202
    )
    driver.wait_settled(30)
    assert driver.send("E-3|RESOLVE|").status_code == 202
    driver.wait_settled(30)


def page_through(driver: DriverProcess, **params: Any) -> list[str]:
    keys: list[str] = []
    cursor = None
    for _ in range(10):
        answer = search(driver, **params, limit=1, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        keys += [i["key"] for i in page["issues"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return keys
    raise AssertionError("more pages than issues")


def check_search(driver: DriverProcess) -> None:
    everything = search(driver, project="OPS").json()
    assert len(everything["issues"]) == 3
    first = everything["issues"][0]
    assert set(first) >= {"key", "url", "summary", "status", "status_category", "assignee", "updated"}
    assert first["url"].endswith(f"/browse/{first['key']}")
    open_disks = search(driver, project="OPS", open="true", text="disk full").json()
    assert [i["summary"] for i in open_disks["issues"]] == ['Disk full on "db-1" (primary)']
    assert open_disks["jql"] == (
        'project = "OPS" AND statusCategory != "done" AND text ~ "\\"disk full\\"" ORDER BY updated DESC'
    )
    assert sorted(page_through(driver, project="OPS")) == sorted(i["key"] for i in everything["issues"])
    done = search(driver, category="done").json()
    assert [i["status_category"] for i in done["issues"]] == ["done"]
    refused = search(driver, jql="project = = OPS")
    assert refused.status_code == 400
    assert "Jira refused the search" in refused.json()["error"]
    mixed = search(driver, jql="project = OPS ORDER BY key", open="true")
    assert mixed.status_code == 400
    assert "ORDER BY" in mixed.json()["error"]
    assert search(driver, limit=101).status_code == 400


def test_search_pages_on_data_center(driver: DriverProcess, sim: SimProcess) -> None:
    make_tickets(driver)
    check_search(driver)


def test_search_pages_on_cloud(
    sim_factory: Callable[..., Any], driver_factory: Factory, tmp_path: Path
) -> None:
    sim = _cloud_sim(sim_factory, tmp_path)
    driver = _driver(driver_factory, sim)
    make_tickets(driver)
    # Cloud's search is eventually consistent (the simulator lags 0.6 s): wait until it shows all
    wait_for(
        lambda: len(search(driver, project="OPS").json()["issues"]) == 3 or None, "Cloud's search to catch up"
    )
    check_search(driver)


def test_search_from_the_shell(driver: DriverProcess, sim: SimProcess) -> None:
    make_tickets(driver)
    found = cli(driver, "search", "project = OPS AND statusCategory != Done", "--json")
    assert found.returncode == 0, found.stderr
    lines = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(lines) == 2
    assert {line["status_category"] for line in lines} == {"new"}
    bad = cli(driver, "search", "project = = OPS")
    assert bad.returncode == 2  # bad input: the JQL, refused by Jira as such (400)
    assert "Jira refused the search" in bad.stderr
