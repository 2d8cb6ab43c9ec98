"""What people do to the driver's tickets in Jira, against the simulator: labels and multi-select
values they add, tickets they move to another project. Real driver processes, real HTTP, real
SQLite (issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from driver.model.stamps import stamp_label
from tests.fixtures.driver import DriverProcess

Factory = Callable[..., DriverProcess]
NET = {"ticket": {"project": "NET", "issue_type": "Task"}}
SERVICES = "customfield_10103"  # the simulator's "Affected Services" multi-select


def issue(sim: Any, key: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{sim.url}/_sim/issues/{key}", timeout=5).json()
    return data


def as_person(sim: Any, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A request a person makes in Jira, behind the driver's back."""
    return httpx.request(method, f"{sim.url}{path}", auth=("admin", "admin"), json=body, timeout=5)


def settled_row(driver: DriverProcess, guid: str, action: str) -> dict[str, Any]:
    driver.wait_settled()
    rows = [r for r in driver.rows() if r["guid"] == guid and r["action"] == action]
    assert rows, f"no {action} row for {guid}"
    assert rows[-1]["status"] == "Ok", rows[-1]
    return rows[-1]


def services(fields: dict[str, Any]) -> set[str]:
    return {option["value"] for option in fields.get(SERVICES) or []}


def test_labels_and_options_people_add_survive_the_alarms_updates(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    assert (
        driver.send("P-1|CREATE|summary;x|labels;a,b|Affected Services;Network,Storage|").status_code == 202
    )
    key = settled_row(driver, "P-1", "CREATE")["ticket_key"]
    stamp = stamp_label("P-1")
    # a person adds a label and a service in Jira
    added = as_person(
        sim,
        "PUT",
        f"/rest/api/2/issue/{key}",
        {"update": {"labels": [{"add": "customer-vip"}], SERVICES: [{"add": {"value": "Database"}}]}},
    )
    assert added.status_code == 204, added.text
    driver.send("P-1|UPDATE|labels;a,c|Affected Services;Network,Compute|")
    settled_row(driver, "P-1", "UPDATE")
    fields = issue(sim, key)["fields"]
    assert set(fields["labels"]) == {"a", "c", stamp, "customer-vip"}
    assert services(fields) == {"Network", "Compute", "Database"}
    # what the driver set is kept with the ticket: a restart changes nothing of it
    driver.restart()
    # a person removes the stamp and a label the driver set; the driver puts back only the stamp
    as_person(
        sim, "PUT", f"/rest/api/2/issue/{key}", {"update": {"labels": [{"remove": stamp}, {"remove": "a"}]}}
    )
    driver.send("P-1|UPDATE|labels;a,c|", "P-1|UPDATE|summary;y|")
    driver.wait_settled()
    assert set(issue(sim, key)["fields"]["labels"]) == {"c", stamp, "customer-vip"}
    driver.send("P-1|UPDATE|labels;|Affected Services;|")
    driver.wait_settled()
    fields = issue(sim, key)["fields"]
    assert set(fields["labels"]) == {stamp, "customer-vip"}
    assert services(fields) == {"Database"}
    assert all(r["status"] == "Ok" for r in driver.rows()), driver.rows()


def test_a_resolve_that_sets_labels_leaves_peoples_labels(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini=NET)
    driver.send("P-2|CREATE|summary;x|labels;open|")
    key = settled_row(driver, "P-2", "CREATE")["ticket_key"]
    as_person(sim, "PUT", f"/rest/api/2/issue/{key}", {"update": {"labels": [{"add": "postmortem"}]}})
    driver.send("P-2|RESOLVE|labels;closed|")
    settled_row(driver, "P-2", "RESOLVE")
    fields = issue(sim, key)["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert set(fields["labels"]) == {"closed", "postmortem", stamp_label("P-2")}
