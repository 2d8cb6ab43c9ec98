"""Every simulator answer exercised here is validated against Atlassian's spec of its flavour and version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.sim import KNOWN_DEFECTS, SimProcess, SpecChecker, running_sim

AUTH = ("admin", "admin")
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}],
}


def create_body(summary: str = "Disk full on host-1", **extra: Any) -> dict[str, Any]:
    fields = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Incident"},
        "summary": summary,
        "labels": ["alarm-g1"],
        "priority": {"name": "High"},
        "customfield_10100": {"value": "Major"},
        "customfield_10101": "g1",
        "customfield_10102": 3,
        "customfield_10103": [{"value": "Network"}],
        "customfield_10105": "2026-01-02",
    }
    fields.update(extra)
    return {"fields": fields}


@pytest.fixture(scope="module")
def cloud() -> Iterator[SimProcess]:
    with running_sim("--flavor", "cloud") as sim:
        yield sim


@pytest.fixture
def dc_client(sim: SimProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, auth=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def cloud_client(cloud: SimProcess) -> Iterator[httpx.Client]:
    cloud.reset()
    with httpx.Client(base_url=cloud.url, auth=AUTH, timeout=10) as client:
        yield client


@pytest.mark.parametrize("version", ["2", "latest"])
def test_dc_issue_lifecycle_matches_the_dc_spec(
    dc_client: httpx.Client, spec_check: SpecChecker, version: str
) -> None:
    base = f"/rest/api/{version}"
    created = dc_client.post(f"{base}/issue", json=create_body())
    assert created.status_code == 201
    spec_check(created)
    key = created.json()["key"]
    for path in (
        f"{base}/issue/{key}",
        f"{base}/issue/{key}?fields=summary,status,labels,comment",
        f"{base}/issue/{key}/transitions",
        f"{base}/issue/{key}/comment",
        f"{base}/serverInfo",
        f"{base}/myself",
        f"{base}/field",
        f"{base}/project",
        f"{base}/project/OPS",
        f"{base}/priority",
        f"{base}/issuetype",
        f"{base}/issue/createmeta/OPS/issuetypes",
        f"{base}/issue/createmeta/OPS/issuetypes/10003",
        f"{base}/search?jql=project%20%3D%20OPS%20ORDER%20BY%20key",
    ):
        response = dc_client.get(path)
        assert response.status_code == 200, (path, response.text)
        spec_check(response)
    comment = dc_client.post(f"{base}/issue/{key}/comment", json={"body": "first"})
    assert comment.status_code == 201
    spec_check(comment)
    edited = dc_client.put(f"{base}/issue/{key}", json={"update": {"labels": [{"add": "x"}]}})
    assert edited.status_code == 204
    spec_check(edited)
    moved = dc_client.post(f"{base}/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert moved.status_code == 204
    spec_check(moved)
    searched = dc_client.post(
        f"{base}/search", json={"jql": f"key = {key}", "fields": ["summary", "resolution"]}
    )
    assert searched.status_code == 200
    spec_check(searched)
    assert searched.json()["issues"][0]["fields"]["resolution"]["name"] == "Done"


def test_dc_error_answers_match_the_dc_spec(sim: SimProcess, spec_check: SpecChecker) -> None:
    with httpx.Client(base_url=sim.url, timeout=10) as anonymous:
        spec_check(anonymous.get("/rest/api/2/myself"))
        spec_check(anonymous.get("/rest/api/2/serverInfo"))
    with httpx.Client(base_url=sim.url, auth=AUTH, timeout=10) as client:
        bad = client.post("/rest/api/2/issue", json={"fields": {"summary": "x"}})
        assert bad.status_code == 400
        spec_check(bad)
        missing = client.get("/rest/api/2/issue/OPS-999")
        assert missing.status_code == 404
        spec_check(missing)
        bad_jql = client.get("/rest/api/2/search", params={"jql": "project = "})
        assert bad_jql.status_code == 400
        spec_check(bad_jql)


def test_cloud_v3_lifecycle_matches_the_v3_spec(cloud_client: httpx.Client, spec_check: SpecChecker) -> None:
    created = cloud_client.post("/rest/api/3/issue", json=create_body(description=ADF))
    assert created.status_code == 201, created.text
    spec_check(created, "cloud")
    key = created.json()["key"]
    for path in (
        f"/rest/api/3/issue/{key}",
        f"/rest/api/3/issue/{key}/transitions",
        f"/rest/api/3/issue/{key}/comment",
        "/rest/api/3/serverInfo",
        "/rest/api/3/myself",
        "/rest/api/3/field",
        "/rest/api/3/project",
        "/rest/api/3/project/OPS",
        "/rest/api/3/priority",
        "/rest/api/3/issuetype",
        "/rest/api/3/issue/createmeta?projectKeys=OPS&expand=projects.issuetypes.fields",
        "/rest/api/3/issue/createmeta/OPS/issuetypes",
        "/rest/api/3/issue/createmeta/OPS/issuetypes/10003",
        "/rest/api/3/search/jql?jql=project%20%3D%20OPS&fields=summary,status",
        "/rest/api/3/search/jql?jql=project%20%3D%20OPS",
    ):
        response = cloud_client.get(path)
        assert response.status_code == 200, (path, response.text)
        spec_check(response, "cloud")
    comment = cloud_client.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF})
    assert comment.status_code == 201, comment.text
    spec_check(comment, "cloud")
    edited = cloud_client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "new"}})
    assert edited.status_code == 204
    spec_check(edited, "cloud")
    moved = cloud_client.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "21"}})
    assert moved.status_code == 204
    spec_check(moved, "cloud")
    searched = cloud_client.post(
        "/rest/api/3/search/jql", json={"jql": "project = OPS", "fields": ["summary", "comment"]}
    )
    assert searched.status_code == 200
    spec_check(searched, "cloud")
    gone = cloud_client.get("/rest/api/3/search", params={"jql": "project = OPS"})
    assert gone.status_code == 410
    assert spec_check(gone, "cloud") == {"cloud-search-410-undeclared"}


def test_cloud_v2_answers_match_the_v2_spec(cloud_client: httpx.Client, spec_check: SpecChecker) -> None:
    created = cloud_client.post("/rest/api/2/issue", json=create_body(description="plain"))
    assert created.status_code == 201, created.text
    spec_check(created, "cloud")
    key = created.json()["key"]
    comment = cloud_client.post(f"/rest/api/2/issue/{key}/comment", json={"body": "plain"})
    assert comment.status_code == 201
    spec_check(comment, "cloud")
    for path in (f"/rest/api/2/issue/{key}", f"/rest/api/latest/issue/{key}/comment", "/rest/api/2/myself"):
        response = cloud_client.get(path)
        assert response.status_code == 200
        spec_check(response, "cloud")
    searched = cloud_client.post("/rest/api/2/search/jql", json={"jql": f"key = {key}", "fields": ["*all"]})
    assert searched.status_code == 200
    spec_check(searched, "cloud")
    gone = cloud_client.post("/rest/api/latest/search", json={"jql": "project = OPS"})
    assert gone.status_code == 410
    spec_check(gone, "cloud")


def test_dc_bearer_requests_are_outside_the_dc_spec_by_its_own_defect(
    sim_factory: Any, spec_check: SpecChecker
) -> None:
    # The DC spec declares Basic only; PATs are real (docs/wire-facts.md §9). The request check must fail on
    # security and nothing else, and the answer must still match.
    sim = sim_factory("--token", "pat-1")
    response = httpx.get(f"{sim.url}/rest/api/2/myself", headers={"Authorization": "Bearer pat-1"})
    assert response.status_code == 200
    spec_check(response)
    errors = spec_check.request_errors(response.request, "datacenter")
    assert errors
    assert all("security" in e.lower() for e in errors), errors


def test_every_known_defect_states_its_reason() -> None:
    for defect in KNOWN_DEFECTS:
        assert len(defect.reason) > 40, defect.name


def test_the_checker_rejects_a_body_the_spec_forbids(spec_check: SpecChecker) -> None:
    # CreatedIssue is additionalProperties: false in v3; a made-up answer must not slip through.
    request = httpx.Request("POST", "http://127.0.0.1:1/rest/api/3/issue", json={"fields": {}})
    response = httpx.Response(201, json={"id": "1", "key": "OPS-1", "self": "x", "extra": 1}, request=request)
    unexplained, _ = spec_check.errors(response, "cloud")
    assert any("extra" in line for line in unexplained), unexplained


def test_the_known_defects_in_use_are_the_documented_ones(spec_check: SpecChecker) -> None:
    assert spec_check.used_defects <= {d.name for d in KNOWN_DEFECTS}
