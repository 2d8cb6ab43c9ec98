"""What people do in Jira changes what the alarm's next command does: a ticket a person resolved
([sync] when_resolved_in_jira: keep, reopen, new_ticket) and a ticket deleted in Jira, heard back by
the simulator's signed webhook. Real driver processes, real HTTP, real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for
from tests.integration.test_lifecycle import issue, view
from tests.integration.test_sync import SECRET, TOKEN, act, create, register, settled_deliveries

Factory = Callable[..., DriverProcess]


def synced_driver(driver_factory: Factory, sim: SimProcess, rule: str, **lifecycle: str) -> DriverProcess:
    ini: dict[str, dict[str, str]] = {
        "sync": {"mode": "webhook", "webhook_secret": SECRET, "when_resolved_in_jira": rule}
    }
    if lifecycle:
        ini["lifecycle"] = dict(lifecycle)
    driver = driver_factory(sim.url, api_token=TOKEN, ini=ini)
    register(sim, driver)
    return driver


def resolved_by_a_person(driver: DriverProcess, sim: SimProcess, guid: str) -> str:
    key = create(driver, guid)
    act(sim, user="jsmith", key=key, action="resolve", resolution="Won't Fix")
    wait_for(
        lambda: (view(driver, guid)["ticket"] or {}).get("resolved_by_driver") is False,
        "the person's resolve, heard by webhook",
    )
    return key


def last_row(driver: DriverProcess) -> dict[str, Any]:
    driver.wait_settled()
    return driver.rows()[-1]


def test_keep_updates_the_resolved_ticket_as_it_is(driver_factory: Factory, sim: SimProcess) -> None:
    driver = synced_driver(driver_factory, sim, "keep")
    key = resolved_by_a_person(driver, sim, "P-1")
    seen = view(driver, "P-1")["ticket"]
    assert (seen["status"], seen["resolution"], seen["changed_by"]) == ("Done", "Won't Fix", "Jane Smith")
    driver.send("P-1|UPDATE|summary;still alarming|")
    row = last_row(driver)
    assert row["status"] == "Ok"
    assert row["ticket_key"] == key
    fields = issue(sim, key)["fields"]
    assert (fields["summary"], fields["status"]["name"]) == ("still alarming", "Done")


def test_reopen_reopens_the_ticket_a_person_resolved_then_updates_it(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = synced_driver(driver_factory, sim, "reopen")
    key = resolved_by_a_person(driver, sim, "P-2")
    driver.send("P-2|UPDATE|summary;back again|comment;still alarming|")
    row = last_row(driver)
    assert row["status"] == "Ok", row
    assert "resolved in Jira by Jane Smith: reopened it" in row["note"]
    fields = issue(sim, key)["fields"]
    assert (fields["summary"], fields["status"]["name"], fields["resolution"]) == (
        "back again",
        "To Do",
        None,
    )
    assert [c["body"] for c in fields["comment"]["comments"]][-1] == "still alarming"
    assert view(driver, "P-2")["ticket"]["status_category"] == "new"


@pytest.mark.parametrize("action", ["UPDATE", "CREATE"])
def test_new_ticket_opens_a_new_ticket_for_the_still_active_alarm(
    driver_factory: Factory, sim: SimProcess, action: str
) -> None:
    driver = synced_driver(driver_factory, sim, "new_ticket")
    guid = f"P-3-{action}"
    key = resolved_by_a_person(driver, sim, guid)
    driver.send(f"{guid}|{action}|summary;a new ticket for the alarm|")
    row = last_row(driver)
    assert row["status"] == "Ok", row
    assert row["ticket_key"] not in (None, key)
    assert f"{key} was resolved in Jira by Jane Smith: a new ticket for the GUID" in row["note"]
    assert issue(sim, row["ticket_key"])["fields"]["summary"] == "a new ticket for the alarm"
    assert issue(sim, key)["fields"]["status"]["name"] == "Done"
    seen = view(driver, guid)
    assert [t["key"] for t in seen["tickets"]] == [key, row["ticket_key"]]


@pytest.mark.parametrize(("window", "expected"), [("60", "reopened it"), ("0", "a new ticket for the GUID")])
def test_a_resolve_of_a_ticket_a_person_resolved_makes_the_window_rule_apply(
    driver_factory: Factory, sim: SimProcess, window: str, expected: str
) -> None:
    # the alarm cleared after the person closed its ticket: when the alarm comes back, the
    # reopen window decides, not when_resolved_in_jira (which is about still-active alarms)
    driver = synced_driver(driver_factory, sim, "keep", reopen_window_minutes=window)
    guid = f"P-6-{window}"
    key = resolved_by_a_person(driver, sim, guid)
    driver.send(f"{guid}|RESOLVE|comment;cleared|")
    resolve = last_row(driver)
    assert resolve["status"] == "Ok"
    assert "nothing sent (1 comment(s) not added)" in resolve["note"]
    assert view(driver, guid)["ticket"]["resolved_by_driver"] is True
    driver.send(f"{guid}|CREATE|summary;back|")
    row = last_row(driver)
    assert row["status"] == "Ok", row
    assert expected in row["note"]
    assert (row["ticket_key"] == key) == (window == "60")


def test_the_drivers_own_resolve_heard_back_is_the_drivers(driver_factory: Factory, sim: SimProcess) -> None:
    # the webhook of the driver's own transition must not make the ticket "resolved by a person"
    driver = synced_driver(driver_factory, sim, "new_ticket")
    key = create(driver, "P-4")
    driver.send("P-4|RESOLVE|")
    driver.wait_settled()
    settled_deliveries(sim, 1)
    assert view(driver, "P-4")["ticket"]["resolved_by_driver"] is True
    driver.send("P-4|CREATE|summary;back within the window|")
    row = last_row(driver)
    assert row["ticket_key"] == key
    assert "reopened it" in row["note"]


def test_a_ticket_deleted_in_jira_heard_by_webhook_gets_a_new_ticket_on_the_next_create(
    driver_factory: Factory, sim: SimProcess
) -> None:
    driver = synced_driver(driver_factory, sim, "keep")
    key = create(driver, "P-5")
    act(sim, user="jsmith", key=key, action="delete")
    wait_for(lambda: view(driver, "P-5")["ticket"]["deleted"], "the deletion, heard by webhook")
    before = len(sim.journal())
    driver.send("P-5|CREATE|summary;the alarm again|")
    row = last_row(driver)
    assert row["status"] == "Ok", row
    assert row["ticket_key"] not in (None, key)
    # no request went to the deleted ticket first
    assert not [e for e in sim.journal()[before:] if f"/{key}" in e["path"]]
