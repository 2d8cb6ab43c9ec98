"""Secrets never leave the places they are needed: not the log, the log table, the API or the CLI.

A driver runs against a simulator with distinctive credentials, succeeds, gets refused (400),
is given a wrong password (401) and a new one over the API, then every output is searched for
the secrets in clear text and in the Base64 form a Basic Authorization header would carry.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

USER = "ops-bot"
PASSWORD = "Pw-7Q9x-SECRET-41"
WRONG_PASSWORD = "Pw-WRONG-SECRET-93"
API_TOKEN = "api-TOKEN-SECRET-58"


def _forms(secret: str) -> list[str]:
    """The secret as text, and inside a Basic header (alone and with the user)."""
    both = base64.b64encode(f"{USER}:{secret}".encode()).decode()
    alone = base64.b64encode(secret.encode()).decode()
    return [secret, both, alone]


def test_no_secret_in_stderr_log_table_api_or_cli(
    sim_factory: Callable[..., Any], driver_factory: Callable[..., DriverProcess]
) -> None:
    sim = sim_factory("--user", f"{USER}:{PASSWORD}")
    driver = driver_factory(
        sim.url,
        api_token=API_TOKEN,
        ini={"jira": {"username": USER, "password": ""}},
        env={"JIRA_DRIVER_JIRA_PASSWORD": PASSWORD},
    )
    seen: list[str] = []
    with driver.client() as api:
        assert driver.send("S-1|CREATE|summary;fine|", "S-2|CREATE|priority;Nonexistent|").status_code == 202
        driver.wait_settled()
        # the wrong password: Jira answers 401 and sending stops
        wrong = {"mode": "basic", "username": USER, "secret": WRONG_PASSWORD}
        assert api.put("/api/settings/auth", json=wrong).status_code == 200
        assert driver.send("S-1|UPDATE|comment;after the wrong password|").status_code == 202
        wait_for(
            lambda: api.get("/api/status").json()["jira_state"] == "auth_failed",
            "the 401 seen",
            20,
            every=0.1,
        )
        seen.append(api.get("/api/status").text)
        # the right one again: sending resumes and the update goes out
        right = {"mode": "basic", "username": USER, "secret": PASSWORD}
        assert api.put("/api/settings/auth", json=right).status_code == 200
        driver.wait_settled()
        seen.append(api.post("/api/check").text)
        page = api.get("/api/log", params={"limit": 100}).json()
        statuses = sorted(row["status"] for row in page["rows"])
        assert statuses == ["Failed", "Ok", "Ok"]
        seen.append(json.dumps(page))
        seen.extend(api.get(f"/api/log/{row['id']}").text for row in page["rows"])
        for path in ("/api/settings", "/api/status", "/api/ticket", "/api/stats"):
            seen.append(api.get(path).text)
        seen.append(httpx.get(f"{driver.url}/api/status", timeout=5).text)  # the 401 answer itself

    env = {**os.environ, "JIRA_DRIVER_URL": driver.url, "JIRA_DRIVER_DRIVER_API_TOKEN": API_TOKEN}
    for args in (["log", "--json"], ["log"], ["stats"]):
        done = subprocess.run(
            [sys.executable, "-m", "driver", *args, "--config", str(driver.config_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        seen.extend([done.stdout, done.stderr])
    assert driver.stop() == 0
    seen.append(driver.stderr_path.read_text(encoding="utf-8"))
    with sqlite3.connect(driver.db_path) as db:
        log_rows = db.execute("SELECT * FROM log").fetchall()
    seen.append(json.dumps(log_rows, default=str))
    # what reached "Jira" is only the scheme, never the credentials
    seen.append(json.dumps(sim.journal()))

    everything = "\n".join(seen)
    assert "S-1" in everything  # the haystack is real
    for secret in (PASSWORD, WRONG_PASSWORD, API_TOKEN):
        for form in _forms(secret):
            assert form not in everything, f"a form of a secret leaked: {form[:6]}..."
