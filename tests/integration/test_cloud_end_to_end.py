"""A driver against a Jira Cloud simulator, configured as a Cloud customer would configure it.

Basic auth with the account e-mail and an API token, the default `rest/api/latest/issue` location
(v2 bodies on Cloud, while the old `/search` answers 410), user fields by accountId, and a create
whose answer is lost while Cloud's search lags: exactly one ticket must come of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.driver import DriverProcess

EMAIL = "svc-alarms@example.com"
API_TOKEN = "ATATT-cloud-token-0042"


def _cloud_sim(sim_factory: Callable[..., Any], tmp_path: Path) -> Any:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": [{"name": "svc-alarms", "email": EMAIL, "tokens": [API_TOKEN]}]}))
    return sim_factory("--flavor", "cloud", "--users-file", str(users), "--search-lag", "0.6")


def _driver(driver_factory: Callable[..., DriverProcess], sim: Any) -> DriverProcess:
    return driver_factory(
        sim.url,
        api_token="t",
        ini={"jira": {"username": EMAIL, "password": "", "api_type": "auto"}},
        # the second stamp probe must come after the simulated search lag (0.6 s) has passed;
        # the environment, as the fixture's fast defaults do, wins over the INI file
        env={"JIRA_DRIVER_JIRA_PASSWORD": API_TOKEN, "JIRA_DRIVER_JIRA_PROBE_DELAY_SECONDS": "1.2"},
    )


def test_check_reports_a_cloud_site(
    sim_factory: Callable[..., Any], driver_factory: Callable[..., DriverProcess], tmp_path: Path
) -> None:
    sim = _cloud_sim(sim_factory, tmp_path)
    driver = _driver(driver_factory, sim)
    env = {**os.environ, "JIRA_DRIVER_JIRA_PASSWORD": API_TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "driver", "check", "--config", str(driver.config_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Cloud" in done.stdout
    assert API_TOKEN not in done.stdout + done.stderr


def test_cloud_tickets_with_account_ids_and_an_ambiguous_create(
    sim_factory: Callable[..., Any], driver_factory: Callable[..., DriverProcess], tmp_path: Path
) -> None:
    sim = _cloud_sim(sim_factory, tmp_path)
    me = httpx.get(f"{sim.url}/rest/api/2/myself", auth=(EMAIL, API_TOKEN), timeout=10).json()
    account_id = me["accountId"]
    driver = _driver(driver_factory, sim)
    # the create's answer is lost after Jira made the ticket; Cloud's search does not show it yet
    sim.faults(kind="drop_after", count=1, method="POST", path="/rest/api/latest/issue")
    accepted = driver.send(
        f"CL-1|CREATE|summary;Link down|assignee;{account_id}|description;Two lines\\nof text|",
        "CL-1|UPDATE|comment;Still down|",
    )
    assert accepted.status_code == 202, accepted.text
    driver.wait_settled(timeout=30)

    with driver.client() as api:
        rows = api.get("/api/log").json()["rows"]
    assert [(r["action"], r["status"]) for r in reversed(rows)] == [("CREATE", "Ok"), ("UPDATE", "Ok")]

    issues = sim.issues()
    assert len(issues) == 1, "exactly one ticket, although the first create's answer was lost"
    fields = issues[0]["fields"]
    assert fields["assignee"]["accountId"] == account_id
    assert fields["description"] == "Two lines\nof text"

    journal = sim.journal()
    paths = [(e["method"], e["path"]) for e in journal]
    creates = [e for e in journal if (e["method"], e["path"]) == ("POST", "/rest/api/latest/issue")]
    # v2 shapes on `latest`: a plain-string description, the user by accountId
    assert creates[0]["body"]["fields"]["assignee"] == {"accountId": account_id}
    assert creates[0]["body"]["fields"]["description"] == "Two lines\nof text"
    # the stamp was searched where Cloud serves search, never on the removed endpoint
    assert ("POST", "/rest/api/3/search/jql") in paths
    assert not [p for p in paths if p[1].endswith("/search")]
    comments = [e for e in journal if e["path"].endswith("/comment") and e["method"] == "POST"]
    assert [c["body"]["body"] for c in comments] == ["Still down"]
    assert all(e["auth"] == "Basic" for e in journal if e["path"].startswith("/rest/"))
