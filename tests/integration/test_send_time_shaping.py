"""Values are shaped for the Jira that receives them, when they are sent.

Reproduction from the report: `[jira] api_type = auto`, Jira Cloud down while the driver started;
a CREATE with `assignee;<accountId>` was stored in the Data Center form (`{"name": ...}`) and Cloud
refused it when it came back: the alarm got no ticket. Now the command is kept as typed and its
request is built when it is sent; one with user fields waits for Jira to say which flavour it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.driver import DriverProcess
from tests.fixtures.proxy import free_port

EMAIL = "svc-alarms@example.com"
API_TOKEN = "ATATT-cloud-token-0042"


def test_a_user_field_taken_while_cloud_was_down_is_sent_as_an_account_id(
    sim_factory: Callable[..., Any], driver_factory: Callable[..., DriverProcess], tmp_path: Path
) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": [{"name": "svc-alarms", "email": EMAIL, "tokens": [API_TOKEN]}]}))
    port = free_port()
    flags = ("--flavor", "cloud", "--users-file", str(users), "--port", str(port))
    # learn the account id the Cloud site will have, then take the site down
    first = sim_factory(*flags)
    account_id = httpx.get(f"{first.url}/rest/api/2/myself", auth=(EMAIL, API_TOKEN), timeout=10).json()[
        "accountId"
    ]
    first.stop()

    driver = driver_factory(
        f"http://127.0.0.1:{port}",
        ini={"jira": {"username": EMAIL, "password": "", "api_type": "auto"}},
        env={"JIRA_DRIVER_JIRA_PASSWORD": API_TOKEN},
    )
    accepted = driver.send(
        f"SH-1|CREATE|summary;Link down|assignee;{account_id}|", "SH-2|CREATE|summary;no user field|"
    )
    assert accepted.status_code == 202, accepted.text
    driver.wait_rows(lambda rows: all(r["status"] == "Pending" and r["error"] for r in rows))

    sim = sim_factory(*flags)
    rows = driver.wait_rows(lambda rows: all(r["status"] == "Ok" for r in rows), timeout=60)
    assert [r["guid"] for r in rows] == ["SH-1", "SH-2"]
    creates = [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/issue")]
    with_user = [c for c in creates if c["body"]["fields"]["summary"] == "Link down"]
    assert [c["body"]["fields"]["assignee"] for c in with_user] == [{"accountId": account_id}]
    [ticket] = [i for i in sim.issues() if i["fields"]["summary"] == "Link down"]
    assert ticket["fields"]["assignee"]["accountId"] == account_id
