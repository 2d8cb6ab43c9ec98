"""Faults a new user's trial found, each fixed as a kind and kept as a test.

- Jira URLs that passed validation and then crashed `check` and `run` with a traceback (a port out
  of range, a space with a pasted secret after it, a query string holding a token).
- A ticket location with `..` that sent requests, with the credentials, outside the Jira URL.
- A long log search answered 503 "database unavailable" (SQLite refused the LIKE pattern), and
  `%` / `_` in the search text acted as wildcards.
- Millions of blank lines held the event loop before the body was refused; a byte-order mark at
  the start of a text body was refused as part of the first GUID.
- A stamp search finding several tickets with one GUID's stamp silently adopted the first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver.config_file import load_config
from driver.contract.schemas import LogStatus
from driver.errors import ConfigError
from driver.model.stamps import stamp_label
from driver.store.database_file import PROBE_ALWAYS
from tests.fixtures.driver import DriverProcess, EngineHarness
from tests.fixtures.sim import SimProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("http://127.0.0.1:99999", ""),
        ("http://127.0.0.1:39755 Hunter2Secret", "Hunter2Secret"),
        ("http://jira.example.com/?token=T0ken-42", "T0ken-42"),
        ("http://jira.example.com/jira#frag", ""),
        ("http://:8080", ""),
    ],
)
def test_a_jira_url_that_cannot_work_is_refused_in_one_line(tmp_path: Path, url: str, hidden: str) -> None:
    ini = tmp_path / "bad.ini"
    ini.write_text(f"[jira]\nurl = {url}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(ini, environ={})
    message = str(refused.value)
    assert message.startswith("[jira] url")
    assert "\n" not in message
    if hidden:
        assert hidden not in message


@pytest.mark.parametrize(
    "location",
    ["../../../etc/passwd", "rest/api/../../x", "http://evil.example/x", "rest/api?x=1", "rest\\..\\x"],
)
def test_a_ticket_location_outside_the_jira_url_is_refused(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess, location: str
) -> None:
    driver = driver_factory(sim.url)
    with driver.client() as api:
        refused = api.put("/api/settings/jira", json={"ticket_location": location})
        assert refused.status_code == 400, refused.text
        assert "ticket_location" in refused.json()["error"]
        assert api.get("/api/settings").json()["jira"]["ticket_location"] == "rest/api/latest/issue"


def test_log_search_is_bounded_and_literal(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url)
    assert driver.send("under_score|CREATE|summary;x|", "plain|CREATE|summary;y|").status_code == 202
    driver.wait_settled()
    with driver.client() as api:
        too_long = api.get("/api/log", params={"q": "a" * 50_000})
        assert too_long.status_code == 400
        assert "q" in too_long.json()["error"]
        assert [r["guid"] for r in api.get("/api/log", params={"q": "_"}).json()["rows"]] == ["under_score"]
        assert api.get("/api/log", params={"q": "%"}).json()["total"] == 0
        assert api.get("/api/status").json()["database"] == "ok"


def test_blank_lines_are_counted_before_they_are_split_and_a_bom_is_not_a_guid(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"driver": {"max_batch_lines": "100"}})
    with driver.client() as api:
        blank = api.post(
            "/api/advanced",
            content="\n" * 201 + "B|CREATE|summary;x|",
            headers={"Content-Type": "text/plain"},
        )
        assert blank.status_code == 413
        assert "max_batch_lines = 100" in blank.json()["error"]
        bom = api.post(
            "/api/advanced",
            content="\ufeffBOM-1|CREATE|summary;x|".encode(),
            headers={"Content-Type": "text/plain"},
        )
        assert bom.status_code == 202, bom.text
        assert [a["guid"] for a in bom.json()["accepted"]] == ["BOM-1"]


def stamped_ticket(sim: SimProcess, summary: str, label: str) -> None:
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary, "labels": [label]}
    made = httpx.post(
        f"{sim.url}/rest/api/2/issue", json={"fields": fields}, auth=("admin", "admin"), timeout=10
    )
    assert made.status_code == 201, made.text


async def test_several_tickets_with_one_stamp_are_not_adopted(
    engine_factory: Callable[..., EngineHarness], sim: SimProcess
) -> None:
    # Two tickets carry GUID X's stamp, e.g. a Ticket Creation Table that sets the label itself.
    for summary in ("one", "two"):
        stamped_ticket(sim, summary, stamp_label("X"))
    h = engine_factory(sim.url)
    # the database lost the link (a take-over with --init): the GUID is searched before anything else
    h.engine.probe_unknown_while(PROBE_ALWAYS)
    await h.start()
    await h.send("X|UPDATE|comment;which one?|")
    await h.settle()
    (row,) = h.rows()
    assert row.status is LogStatus.FAILED
    assert "2 tickets carry the stamp of GUID 'X'" in row.error
    issues: list[Any] = sim.issues()
    assert all(not i["fields"]["comment"]["comments"] for i in issues)
