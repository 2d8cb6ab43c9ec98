"""Data Center behaviour over real HTTP: auth, Jira's 400/403/404 bodies, edits, workflow, journal, admin."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.sim import SimProcess, SpecChecker, checked_client, running_sim

ISSUE = "/rest/api/2/issue"


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "Fan failure",
    }
    base.update(fields)
    return {"fields": {k: v for k, v in base.items() if v is not None}}


@pytest.fixture
def client(sim: SimProcess, spec_check: SpecChecker) -> Iterator[httpx.Client]:
    with checked_client(sim, spec_check) as c:
        yield c


@pytest.fixture(scope="module")
def restricted() -> Iterator[SimProcess]:
    with running_sim("--user", "viewer:pw", "--no-create", "viewer:NET", "--token", "pat-9") as sim:
        yield sim


def test_missing_or_wrong_credentials_are_401(sim: SimProcess, spec_check: SpecChecker) -> None:
    for auth in (None, ("admin", "nope"), ("ghost", "admin")):
        with checked_client(sim, spec_check, auth=auth) as c:
            response = c.get(f"{ISSUE}/OPS-1")
        assert response.status_code == 401
        assert response.json()["errorMessages"] == [
            "You are not authenticated. Authentication required to perform this operation."
        ]
    bogus = httpx.get(f"{sim.url}/rest/api/2/myself", headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401


def test_basic_with_email_and_bearer_pat_authenticate(
    restricted: SimProcess, spec_check: SpecChecker
) -> None:
    with checked_client(restricted, spec_check, auth=("admin@example.com", "admin")) as c:
        assert c.get("/rest/api/2/myself").json()["name"] == "admin"
    with checked_client(restricted, spec_check, auth=None, headers={"Authorization": "Bearer pat-9"}) as c:
        assert c.get("/rest/api/2/myself").json()["name"] == "admin"
    with checked_client(restricted, spec_check, auth=("admin", "pat-9")) as c:
        assert c.get("/rest/api/2/myself").status_code == 200


def test_user_without_create_permission_gets_403(restricted: SimProcess, spec_check: SpecChecker) -> None:
    with checked_client(restricted, spec_check, auth=("viewer", "pw")) as c:
        denied = c.post(ISSUE, json=body(project={"key": "NET"}))
        allowed = c.post(ISSUE, json=body(project={"key": "OPS"}))
    assert denied.status_code == 403
    assert denied.json() == {
        "errorMessages": ["You do not have permission to create issues in this project."],
        "errors": {},
    }
    assert allowed.status_code == 201


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"project": None, "issuetype": None, "summary": None}, {"project", "issuetype", "summary"}),
        ({"priority": "High"}, {"priority"}),
        ({"priority": {"name": "Urgent"}}, {"priority"}),
        ({"labels": "alarm-1"}, {"labels"}),
        ({"labels": ["two words"]}, {"labels"}),
        ({"labels": [7]}, {"labels"}),
        ({"labels": ["x" * 256]}, {"labels"}),
        ({"summary": "x" * 256}, {"summary"}),
        ({"description": "x" * 32_768}, {"description"}),
        ({"description": {"type": "doc", "version": 1, "content": []}}, {"description"}),
        ({"project": {"key": "NOPE"}}, {"project"}),
        ({"issuetype": {"name": "Epic"}}, {"issuetype"}),
        ({"customfield_10100": {"value": "Blocker"}}, {"customfield_10100"}),
        ({"customfield_10100": "Critical"}, {"customfield_10100"}),
        ({"customfield_10102": "three"}, {"customfield_10102"}),
        ({"customfield_10103": {"value": "Network"}}, {"customfield_10103"}),
        ({"customfield_10104": {"accountId": "x"}}, {"customfield_10104"}),
        ({"customfield_10105": "02/01/2026"}, {"customfield_10105"}),
        ({"customfield_99999": "x", "status": {"name": "Done"}}, {"customfield_99999", "status"}),
    ],
)
def test_bad_create_bodies_are_400_with_field_errors(
    client: httpx.Client, fields: dict[str, Any], errors: set[str]
) -> None:
    response = client.post(ISSUE, json=body(**fields))
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"errorMessages", "errors"}
    assert set(answer["errors"]) == errors, answer
    assert all(isinstance(m, str) and m for m in answer["errors"].values())


def test_exact_messages_of_common_mistakes(client: httpx.Client) -> None:
    answer = client.post(ISSUE, json=body(summary=None, foo=1, labels=["a b"])).json()
    assert answer["errors"] == {
        "summary": "You must specify a summary of the issue.",
        "foo": "Field 'foo' cannot be set. It is not on the appropriate screen, or unknown.",
        "labels": "The label 'a b' contains spaces which is invalid.",
    }
    long = client.post(ISSUE, json=body(summary="s" * 256)).json()
    assert long["errors"] == {"summary": "Summary must be less than 255 characters."}
    assert (
        client.post(ISSUE, content=b"{not json", headers={"Content-Type": "application/json"}).status_code
        == 400
    )


def test_unknown_issue_is_404_with_jiras_body(client: httpx.Client) -> None:
    for response in (
        client.get(f"{ISSUE}/OPS-404"),
        client.put(f"{ISSUE}/OPS-404", json={"fields": {"summary": "x"}}),
        client.post(f"{ISSUE}/OPS-404/comment", json={"body": "x"}),
        client.get(f"{ISSUE}/OPS-404/transitions"),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        }


def test_dc_has_no_v3_and_no_search_jql(client: httpx.Client, sim: SimProcess) -> None:
    assert httpx.get(f"{sim.url}/rest/api/3/myself", auth=("admin", "admin")).status_code == 404
    assert client.post("/rest/api/2/search/jql", json={"jql": "project = OPS"}).status_code == 404


def test_create_get_edit_with_all_field_types(client: httpx.Client, sim: SimProcess) -> None:
    created = client.post(
        ISSUE,
        json=body(
            description="line one\nline two",
            labels=["alarm-42"],
            priority={"id": "1"},
            assignee={"name": "admin"},
            duedate="2026-03-01",
            customfield_10100={"id": "10201"},
            customfield_10101="GUID-42",
            customfield_10102=2.5,
            customfield_10103=[{"value": "Storage"}],
            customfield_10104={"name": "admin"},
            customfield_10105="2026-02-01",
        )
        | {"properties": [{"key": "dm.alarm", "value": {"guid": "GUID-42"}}]},
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert created.json()["self"].endswith(f"/rest/api/2/issue/{created.json()['id']}")
    fields = client.get(f"{ISSUE}/{key}").json()["fields"]
    assert fields["priority"]["name"] == "Highest"
    assert fields["customfield_10100"]["value"] == "Major"
    assert fields["customfield_10102"] == 2.5
    assert [o["value"] for o in fields["customfield_10103"]] == ["Storage"]
    assert fields["customfield_10104"]["name"] == "admin"
    assert fields["assignee"]["name"] == "admin"
    assert fields["status"]["name"] == "To Do"
    assert fields["comment"]["total"] == 0
    only = client.get(f"{ISSUE}/{key}", params={"fields": "summary,labels"}).json()["fields"]
    assert set(only) == {"summary", "labels"}
    edit = client.put(
        f"{ISSUE}/{key}",
        json={
            "fields": {"summary": "Fan failure (2)", "customfield_10101": None},
            "update": {
                "labels": [{"add": "again"}, {"remove": "alarm-42"}],
                "customfield_10103": [{"add": {"value": "Network"}}],
                "comment": [{"add": {"body": "via update"}}],
            },
        },
    )
    assert edit.status_code == 204
    fields = client.get(f"{ISSUE}/{key}").json()["fields"]
    assert fields["summary"] == "Fan failure (2)"
    assert fields["labels"] == ["again"]
    assert fields["customfield_10101"] is None
    assert [o["value"] for o in fields["customfield_10103"]] == ["Storage", "Network"]
    assert [c["body"] for c in fields["comment"]["comments"]] == ["via update"]
    both = client.put(f"{ISSUE}/{key}", json={"fields": {"labels": []}, "update": {"labels": [{"add": "x"}]}})
    assert both.status_code == 400
    prop = client.get(f"{ISSUE}/{key}/properties/dm.alarm")
    assert prop.json() == {"key": "dm.alarm", "value": {"guid": "GUID-42"}}
    [stored] = sim.issues()
    assert stored["properties"] == {"dm.alarm": {"guid": "GUID-42"}}
    assert stored["fields"]["labels"] == ["again"]


def test_workflow_resolves_on_done_and_reopen_clears(client: httpx.Client) -> None:
    key = client.post(ISSUE, json=body()).json()["key"]
    names = [t["name"] for t in client.get(f"{ISSUE}/{key}/transitions").json()["transitions"]]
    assert names == ["In Progress", "Done"]
    assert client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": 21}}).status_code == 204
    done = client.post(
        f"{ISSUE}/{key}/transitions",
        json={
            "transition": {"id": "31"},
            "fields": {"resolution": {"name": "Won't Do"}},
            "update": {"comment": [{"add": {"body": "closing"}}]},
        },
    )
    assert done.status_code == 204
    fields = client.get(f"{ISSUE}/{key}").json()["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Won't Do"
    assert fields["resolutiondate"]
    assert fields["comment"]["comments"][0]["body"] == "closing"
    again = client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "31"}})
    assert again.status_code == 400
    assert client.post(f"{ISSUE}/{key}/transitions", json={}).status_code == 400
    assert client.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "11"}}).status_code == 204
    fields = client.get(f"{ISSUE}/{key}").json()["fields"]
    assert fields["resolution"] is None
    assert fields["resolutiondate"] is None


def test_comments_add_list_and_validate(client: httpx.Client) -> None:
    key = client.post(ISSUE, json=body()).json()["key"]
    added = client.post(f"{ISSUE}/{key}/comment", json={"body": "first"})
    assert added.status_code == 201
    assert added.json()["author"]["name"] == "admin"
    client.post(f"{ISSUE}/{key}/comment", json={"body": "second"})
    page = client.get(f"{ISSUE}/{key}/comment", params={"startAt": 1, "maxResults": 1}).json()
    assert page["total"] == 2
    assert [c["body"] for c in page["comments"]] == ["second"]
    assert client.post(f"{ISSUE}/{key}/comment", json={"body": ""}).status_code == 400
    adf = {"type": "doc", "version": 1, "content": []}
    rejected = client.post(f"{ISSUE}/{key}/comment", json={"body": adf})
    assert rejected.json()["errorMessages"] == ["Operation value must be a string"]


def test_search_paging_fields_and_errors(client: httpx.Client) -> None:
    keys = [client.post(ISSUE, json=body(labels=["page-me"])).json()["key"] for _ in range(5)]
    first = client.get("/rest/api/2/search", params={"jql": "labels = page-me ORDER BY key", "maxResults": 2})
    answer = first.json()
    assert (answer["startAt"], answer["maxResults"], answer["total"]) == (0, 2, 5)
    assert [i["key"] for i in answer["issues"]] == keys[:2]
    last = client.post(
        "/rest/api/latest/search",
        json={"jql": "labels = page-me ORDER BY key", "startAt": 4, "maxResults": 2, "fields": ["labels"]},
    ).json()
    assert [i["key"] for i in last["issues"]] == keys[4:]
    assert set(last["issues"][0]["fields"]) == {"labels"}
    bad = client.get("/rest/api/2/search", params={"jql": "labels = page-me AND"})
    assert bad.status_code == 400
    assert bad.json()["errorMessages"][0].startswith("Error in the JQL Query:")
    assert bad.json()["errors"] == {}
    unknown = client.get("/rest/api/2/search", params={"jql": "nosuchfield = 1"})
    assert unknown.status_code == 400


def test_journal_counters_reset_and_no_secrets(sim: SimProcess, client: httpx.Client) -> None:
    key = client.post(ISSUE, json=body(labels=["j1"])).json()["key"]
    client.put(f"{ISSUE}/{key}", json={"fields": {"summary": "edited"}})
    client.post(f"{ISSUE}/{key}/comment", json={"body": "c"})
    client.get(f"{ISSUE}/NOPE-1")
    entries = sim.journal()
    assert [(e["method"], e["status"], e["issue_key"]) for e in entries] == [
        ("POST", 201, key),
        ("PUT", 204, key),
        ("POST", 201, key),
        ("GET", 404, None),
    ]
    assert entries[0]["body"]["fields"]["labels"] == ["j1"]
    assert entries[0]["auth"] == "Basic"
    secret = base64.b64encode(b"admin:admin").decode()
    assert secret not in str(entries)
    counters = sim.counters()
    assert (counters["created"], counters["edits"], counters["comments"]) == (1, 1, 1)
    assert counters["statuses"] == {"201": 2, "204": 1, "404": 1}
    assert sim.journal(since=entries[1]["seq"])[0]["seq"] == entries[2]["seq"]
    sim.reset()
    assert sim.journal() == []
    assert sim.issues() == []
    assert client.post(ISSUE, json=body()).json()["key"] == "OPS-1"


def test_browse_page_and_metadata(client: httpx.Client, sim: SimProcess) -> None:
    key = client.post(ISSUE, json=body(summary="<Fan> failure")).json()["key"]
    page = httpx.get(f"{sim.url}/browse/{key}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "&lt;Fan&gt; failure" in page.text
    assert httpx.get(f"{sim.url}/browse/OPS-999").status_code == 404
    assert [p["key"] for p in client.get("/rest/api/2/project").json()] == ["OPS", "NET"]
    names = [p["name"] for p in client.get("/rest/api/2/priority").json()]
    assert names == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert {t["name"] for t in client.get("/rest/api/2/issuetype").json()} == {"Task", "Bug", "Incident"}
    fields = {f["id"]: f for f in client.get("/rest/api/2/field").json()}
    assert fields["customfield_10100"]["schema"] == {
        "type": "option",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
        "customId": 10100,
    }
    assert fields["customfield_10101"]["name"] == "Alarm GUID"
    kinds = {f["schema"]["type"] for f in fields.values() if f["custom"]}
    assert kinds >= {"string", "number", "option", "array", "user", "date"}
    info = client.get("/rest/api/2/serverInfo").json()
    assert (info["deploymentType"], info["versionNumbers"][0]) == ("Server", 10)
    meta = client.get("/rest/api/2/issue/createmeta/OPS/issuetypes/10003").json()
    required = {f["fieldId"] for f in meta["values"] if f["required"]}
    assert required == {"summary", "project", "issuetype"}


def test_unknown_route_is_jira_shaped_404(client: httpx.Client) -> None:
    response = client.get("/rest/api/2/nothing-here")
    assert response.status_code == 404
    assert "errorMessages" in response.json()
