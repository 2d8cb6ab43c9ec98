"""Issue 10's field reports against the simulator over real HTTP: stamps, empty values, ids, labels, lengths.

Lost create answers are the simulator's `drop_after` fault: Jira creates the issue, then the
connection drops before the answer, so the driver must find the ticket by its stamp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from driver.contract.schemas import LogStatus
from driver.errors import CommandError
from driver.model.fields import FieldCatalog, FieldDef, FieldType
from driver.model.shaping import utf16_len
from driver.model.stamps import legacy_stamp_label, stamp_jql, stamp_label, stamp_value
from driver.sending.exactly_once import exact_match
from tests.fixtures.driver import EngineHarness

Factory = Callable[..., EngineHarness]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Every test of this module on both of the store's databases (issue 22 item 1)."""
    return str(request.param)


GUID_FIELD = "customfield_10101"  # the simulator's "Alarm GUID" text field
CREATE_PATH = "/rest/api/latest/issue"
CATALOG = (
    FieldCatalog.system()
    .with_field(FieldDef("customfield_10100", "Alarm Severity", FieldType.OPTION))
    .with_field(FieldDef(GUID_FIELD, "Alarm GUID", FieldType.STRING))
    .with_field(FieldDef("customfield_10102", "Alarm Count", FieldType.NUMBER))
)


def fault(sim: Any, kind: str, count: int, method: str = "POST", path: str = CREATE_PATH) -> None:
    response = httpx.post(
        f"{sim.url}/_sim/faults",
        json={"kind": kind, "count": count, "method": method, "path": path},
        timeout=5,
    )
    assert response.status_code < 300, response.text


def jira(sim: Any, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """A request behind the driver's back, as a person or an earlier version of the driver."""
    return httpx.request(method, f"{sim.url}{path}", auth=("admin", "admin"), json=body, timeout=5)


def issue(sim: Any, key: str) -> Any:
    return httpx.get(f"{sim.url}/_sim/issues/{key}", timeout=5).json()


def engine(factory: Factory, sim: Any, **options: Any) -> EngineHarness:
    h = factory(sim.url, probe_delay=0.05, timeout=0.5, **options)
    h.engine.setup.catalog = CATALOG
    return h


# --- 1. two alarms never share a stamp --------------------------------------------------------


async def test_env_test_and_env_underscore_test_get_their_own_tickets(
    engine_factory: Factory, sim: Any
) -> None:
    h = engine(engine_factory, sim)
    await h.start()
    # A ticket an earlier version made for `env TEST`: it wrote `alarm-env_TEST`.
    old = jira(sim, "POST", "/rest/api/2/issue", {"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "old env TEST",
        "labels": [legacy_stamp_label("env TEST")],
    }}).json()  # fmt: skip
    await h.send("env TEST|CREATE|summary;spaced|")
    await h.settle()
    (spaced,) = h.rows(guid="env TEST")
    # The create for `env_TEST` is lost before Jira sees it: the probe finds only other alarms'
    # tickets (under the old scheme both carried `alarm-env_TEST`), so it must create again.
    fault(sim, "drop", 1)
    await h.send("env_TEST|CREATE|summary;underscored|")
    await h.settle()
    (underscored,) = h.rows(guid="env_TEST")
    assert spaced.status is LogStatus.OK
    assert underscored.status is LogStatus.OK
    assert "found by its GUID stamp" not in underscored.note
    assert len({old["key"], spaced.ticket_key, underscored.ticket_key}) == 3
    assert sim.counters()["issues"] == 3
    assert issue(sim, underscored.ticket_key)["fields"]["labels"] == [stamp_label("env_TEST")]
    # Its next UPDATE goes to its own ticket, not the other alarm's (nor the old one).
    await h.send("env_TEST|UPDATE|summary;underscored again|")
    await h.settle()
    assert issue(sim, underscored.ticket_key)["fields"]["summary"] == "underscored again"
    assert issue(sim, spaced.ticket_key)["fields"]["summary"] == "spaced"
    assert issue(sim, old["key"])["fields"]["summary"] == "old env TEST"


async def test_an_old_ticket_with_a_trusted_legacy_label_is_still_adopted(
    engine_factory: Factory, sim: Any
) -> None:
    guid = "G" * 256  # its legacy label was cut and digested, today's carries a key
    assert stamp_label(guid) != legacy_stamp_label(guid)
    old = jira(sim, "POST", "/rest/api/2/issue", {"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "made before the upgrade",
        "labels": [legacy_stamp_label(guid)],
    }}).json()  # fmt: skip
    h = engine(engine_factory, sim)
    await h.start()
    # Lost before Jira saw it: the probe finds the old ticket, which is this GUID's.
    fault(sim, "drop", 1)
    await h.send(f"{guid}|CREATE|summary;new|")
    await h.settle()
    (row,) = h.rows()
    assert row.status is LogStatus.OK
    assert row.ticket_key == old["key"]
    assert sim.counters()["issues"] == 1


# --- 2. the stamp search finds every GUID, in both modes, after lost create answers ------------

REPORTED = ["---", "x-1 (east) [ok]?*", "X-1", "X-1 east", "a-is-the", "***"]


@pytest.mark.parametrize("guid_field", ["", GUID_FIELD], ids=["label", "guid_field"])
async def test_every_guid_is_found_after_a_lost_create_answer(
    engine_factory: Factory, sim: Any, guid_field: str
) -> None:
    h = engine(engine_factory, sim, guid_field=guid_field)
    await h.start()
    fault(sim, "drop_after", len(REPORTED))
    await h.send(*(f"{guid}|CREATE|summary;alarm {n}|" for n, guid in enumerate(REPORTED)))
    await h.settle()
    rows = h.rows()
    assert [r.status for r in rows] == [LogStatus.OK] * len(REPORTED)
    assert all("found by its GUID stamp" in r.note for r in rows)
    assert sim.counters()["issues"] == len(REPORTED)
    assert len({r.ticket_key for r in rows}) == len(REPORTED)
    for row in rows:
        fields = issue(sim, row.ticket_key)["fields"]
        if guid_field:
            assert fields[guid_field] == stamp_value(row.guid)
        else:
            assert stamp_label(row.guid) in fields["labels"]
        assert fields["summary"] == f"alarm {REPORTED.index(row.guid)}"


# --- 5. a CREATE sends only what can be set; priority cannot be cleared -----------------------


async def test_empty_values_are_left_out_of_a_create(engine_factory: Factory, sim: Any) -> None:
    h = engine(engine_factory, sim)
    await h.start()
    # The simulator's projects have no components: `"components": []` would be refused.
    await h.send("E-1|CREATE|summary;x|components;|priority;|fixVersions;|")
    await h.settle()
    (row,) = h.rows()
    assert row.status is LogStatus.OK, row.note
    assert "left out (empty value): components, priority, fixVersions" in row.note
    assert issue(sim, row.ticket_key)["fields"]["priority"]["name"] == "Medium"  # Jira's default


async def test_jira_and_the_driver_agree_that_priority_cannot_be_null(
    engine_factory: Factory, sim: Any
) -> None:
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    refused = jira(sim, "POST", "/rest/api/2/issue", {"fields": {**body["fields"], "priority": None}})
    assert refused.status_code == 400
    assert "priority" in refused.json()["errors"]
    made = jira(sim, "POST", "/rest/api/2/issue", body).json()
    edit = jira(sim, "PUT", f"/rest/api/2/issue/{made['key']}", {"fields": {"priority": None}})
    assert edit.status_code == 400
    h = engine(engine_factory, sim)
    with pytest.raises(CommandError, match="cannot be cleared"):
        await h.send("E-2|UPDATE|priority;|")


# --- 6. ids as well as names ----------------------------------------------------------------


async def test_ids_reach_jira_as_ids(engine_factory: Factory, sim: Any) -> None:
    h = engine(engine_factory, sim)
    await h.start()
    await h.send("I-1|CREATE|summary;x|priority;id:2|issuetype;id:10002|Alarm Severity;id:10201|")
    await h.settle()
    (row,) = h.rows()
    assert row.status is LogStatus.OK, row.note
    fields = issue(sim, row.ticket_key)["fields"]
    assert (fields["priority"]["name"], fields["issuetype"]["name"]) == ("High", "Bug")
    assert fields["customfield_10100"]["value"] == "Major"
    await h.send("I-1|UPDATE|priority;id:4|")
    await h.settle()
    assert issue(sim, row.ticket_key)["fields"]["priority"]["name"] == "Low"


# --- 7. the driver's own stamp survives an UPDATE of labels ---------------------------------


@pytest.mark.parametrize("guid_field", ["", GUID_FIELD], ids=["label", "guid_field"])
async def test_an_update_of_labels_keeps_the_stamp(
    engine_factory: Factory, sim: Any, guid_field: str
) -> None:
    h = engine(engine_factory, sim, guid_field=guid_field)
    await h.start()
    await h.send("L 1|CREATE|summary;x|labels;old|")
    await h.settle()
    key = h.rows()[0].ticket_key
    await h.send("L 1|UPDATE|labels;a,b|Alarm GUID;someone else|", "L 1|UPDATE|labels;|")
    await h.settle()
    assert [r.status for r in h.rows()] == [LogStatus.OK] * 3
    fields = issue(sim, key)["fields"]
    if guid_field:
        assert fields["labels"] == []
        assert fields[guid_field] == stamp_value("L 1")
    else:
        assert fields["labels"] == [stamp_label("L 1")]
    # Should the database lose the link, the stamp still finds the ticket.
    found = await h.jira.search_by_stamp(stamp_jql("L 1", guid_field), [guid_field or "labels"])
    settings = h.engine.setup.settings
    assert exact_match("L 1", found, settings.guid_field, settings.guid_label_prefix).key == key


# --- 8. lengths as Jira counts them ----------------------------------------------------------


async def test_an_emoji_summary_is_cut_to_what_jira_takes(engine_factory: Factory, sim: Any) -> None:
    h = engine(engine_factory, sim)
    await h.start()
    await h.send("U-1|CREATE|summary;" + "😀" * 300 + "|Alarm Count;9007199254740992|")
    await h.settle()
    (row,) = h.rows()
    assert row.status is LogStatus.OK, row.note
    fields = issue(sim, row.ticket_key)["fields"]
    assert 250 <= utf16_len(fields["summary"]) <= 255
    assert fields["summary"].startswith("😀" * 100)
    assert fields["customfield_10102"] == 9007199254740992
    with pytest.raises(CommandError, match="between -9007199254740992 and 9007199254740992"):
        await h.send("U-2|CREATE|Alarm Count;1e400|")
    with pytest.raises(CommandError, match="digits 0-9"):
        await h.send("U-3|CREATE|Alarm Count;٣|")
