"""A config file edited after the first start is not ignored (issue 17 item 1): a value set at run
time wins until the file's own value for that key changes, and the start says which source won."""

from __future__ import annotations

from typing import Any

from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

Factory = Any


def stderr_of(driver: DriverProcess) -> str:
    return driver.stderr_path.read_text(encoding="utf-8")


def test_a_wrong_project_fixed_in_the_file_is_used_after_a_restart(driver_factory: Factory, sim: Any) -> None:
    driver = driver_factory(sim.url, ini={"ticket": {"project": "NOPE"}})
    assert driver.send("CE-1|CREATE|summary;into the wrong project|").status_code == 202
    [row] = driver.wait_rows(lambda rows: rows and rows[0]["status"] == "Failed")
    assert "project" in row["error"].lower()
    assert driver.stop() == 0
    text = driver.config_path.read_text(encoding="utf-8")
    driver.config_path.write_text(text.replace("project = NOPE", "project = OPS"), encoding="utf-8")
    driver.restart()
    assert driver.send("CE-2|CREATE|summary;into the right one|").status_code == 202
    rows = driver.wait_rows(lambda rows: len(rows) == 2 and rows[1]["status"] != "Pending")
    assert rows[1]["status"] == "Ok", rows[1]
    assert rows[1]["ticket_key"].startswith("OPS-")
    assert "[ticket] project and issue_type: changed in the config file since the last start" in stderr_of(
        driver
    )


def test_a_value_set_at_run_time_stays_until_the_files_own_value_changes(
    driver_factory: Factory, sim: Any
) -> None:
    driver = driver_factory(sim.url, api_token="tok", ini={"update": {"max_updates": "5"}})
    with driver.client() as client:
        changed = {"max_updates": 7, "interval_seconds": 60, "scope": "ticket"}
        assert client.put("/api/settings/update", json=changed).status_code == 200
    driver.restart()  # the file unchanged: the value set at run time stays
    with driver.client() as client:
        assert client.get("/api/settings").json()["update"]["max_updates"] == 7
    assert "[update]: the value set at run time is in force" in stderr_of(driver)
    assert driver.stop() == 0
    text = driver.config_path.read_text(encoding="utf-8")
    driver.config_path.write_text(text.replace("max_updates = 5", "max_updates = 3"), encoding="utf-8")
    driver.restart()  # the file's own value changed: it wins
    with driver.client() as client:
        settings = wait_for(lambda: client.get("/api/settings").json(), "the settings")
        assert settings["update"]["max_updates"] == 3
    assert "[update]: changed in the config file since the last start" in stderr_of(driver)
