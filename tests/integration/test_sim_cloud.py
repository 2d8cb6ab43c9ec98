"""The Cloud flavour: 410 on the removed search, ADF on v3, strings on v2, /search/jql paging, search lag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.sim import SimProcess, SpecChecker, checked_client, running_sim

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
}
GONE = {
    "errorMessages": [
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full "
        "migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
    ],
    "errors": {},
}


@pytest.fixture(scope="module")
def cloud_sim() -> Iterator[SimProcess]:
    # a manual clock: the search-lag test advances it instead of sleeping
    with running_sim("--flavor", "cloud", "--manual-clock") as sim:
        yield sim


@pytest.fixture
def cloud(cloud_sim: SimProcess, spec_check: SpecChecker) -> Iterator[httpx.Client]:
    cloud_sim.reset()
    with checked_client(cloud_sim, spec_check) as client:
        yield client


def fields(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Incident"},
        "summary": "CPU hot",
    }
    return {"fields": base | extra}


@pytest.mark.parametrize("version", ["2", "3", "latest"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_old_search_is_gone(cloud: httpx.Client, version: str, method: str) -> None:
    response = cloud.request(method, f"/rest/api/{version}/search", params={"jql": "project = OPS"})
    assert response.status_code == 410
    assert response.json() == GONE


def test_v3_takes_adf_and_rejects_strings(cloud: httpx.Client) -> None:
    plain = cloud.post("/rest/api/3/issue", json=fields(description="plain text"))
    assert plain.status_code == 400
    assert plain.json()["errors"] == {
        "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    }
    created = cloud.post("/rest/api/3/issue", json=fields(description=ADF, environment=ADF))
    assert created.status_code == 201
    key = created.json()["key"]
    comment = cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": "plain"})
    assert comment.status_code == 400
    assert comment.json() == {"errorMessages": ["Comment body is not valid!"], "errors": {}}
    assert cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF}).status_code == 201
    issue = cloud.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert issue["description"] == ADF
    assert issue["comment"]["comments"][0]["body"] == ADF
    assert cloud.get(f"/rest/api/2/issue/{key}").json()["fields"]["description"] == "x"


def test_v2_takes_strings_and_rejects_adf(cloud: httpx.Client) -> None:
    rejected = cloud.post("/rest/api/2/issue", json=fields(description=ADF))
    assert rejected.status_code == 400
    assert rejected.json()["errors"] == {"description": "Operation value must be a string"}
    key = cloud.post("/rest/api/latest/issue", json=fields(description="line 1\nline 2")).json()["key"]
    comment = cloud.post(f"/rest/api/2/issue/{key}/comment", json={"body": ADF})
    assert comment.json()["errorMessages"] == ["Operation value must be a string"]
    as_adf = cloud.get(f"/rest/api/3/issue/{key}").json()["fields"]["description"]
    assert [p["content"][0]["text"] for p in as_adf["content"]] == ["line 1", "line 2"]


def test_users_are_accounts_on_cloud(cloud: httpx.Client) -> None:
    me = cloud.get("/rest/api/3/myself").json()
    assert "accountId" in me
    assert "name" not in me
    by_name = cloud.post("/rest/api/3/issue", json=fields(assignee={"name": "admin"}))
    assert by_name.status_code == 400
    assert set(by_name.json()["errors"]) == {"assignee"}
    ok = cloud.post("/rest/api/3/issue", json=fields(assignee={"accountId": me["accountId"]}))
    assert ok.status_code == 201
    info = cloud.get("/rest/api/3/serverInfo").json()
    assert (info["deploymentType"], info["version"]) == ("Cloud", "1001.0.0-SNAPSHOT")


def test_bearer_is_not_a_cloud_site_credential(cloud_sim: SimProcess) -> None:
    response = httpx.get(f"{cloud_sim.url}/rest/api/3/myself", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401


def test_search_jql_pages_by_token_with_ids_by_default(cloud: httpx.Client) -> None:
    keys = [cloud.post("/rest/api/3/issue", json=fields(labels=["p"])).json()["key"] for _ in range(5)]
    jql = "labels = p ORDER BY key ASC"
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        payload: dict[str, Any] = {"jql": jql, "maxResults": 2, "fields": ["key", "summary"]}
        if token:
            payload["nextPageToken"] = token
        page = cloud.post("/rest/api/3/search/jql", json=payload).json()
        assert "total" not in page
        seen += [i["key"] for i in page["issues"]]
        pages += 1
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
    assert (seen, pages) == (keys, 3)
    ids_only = cloud.get("/rest/api/3/search/jql", params={"jql": jql}).json()
    assert set(ids_only["issues"][0]) == {"id"}
    unbounded = cloud.post("/rest/api/3/search/jql", json={"jql": "ORDER BY key"})
    assert unbounded.status_code == 400
    bad_token = cloud.post("/rest/api/3/search/jql", json={"jql": jql, "nextPageToken": "garbage"})
    assert bad_token.status_code == 400
    count = cloud.post("/rest/api/3/search/approximate-count", json={"jql": jql})
    assert count.json() == {"count": 5}


def test_search_lag_hides_new_issues_until_it_passes(cloud_sim: SimProcess, cloud: httpx.Client) -> None:
    cloud_sim.config(search_lag=0.6)
    created = cloud.post("/rest/api/3/issue", json=fields(labels=["lagged"])).json()
    query = {"jql": "labels = lagged", "fields": ["key"]}
    assert cloud.post("/rest/api/3/search/jql", json=query).json()["issues"] == []
    assert cloud.get(f"/rest/api/3/issue/{created['key']}").status_code == 200
    reconciled = cloud.post("/rest/api/3/search/jql", json=query | {"reconcileIssues": [int(created["id"])]})
    assert [i["key"] for i in reconciled.json()["issues"]] == [created["key"]]
    cloud_sim.advance(0.5)
    assert cloud.post("/rest/api/3/search/jql", json=query).json()["issues"] == []
    cloud_sim.advance(0.2)
    assert [i["key"] for i in cloud.post("/rest/api/3/search/jql", json=query).json()["issues"]] == [
        created["key"]
    ]


def test_a_search_shows_the_newest_40_histories_and_getchangelogs_pages_them_all(
    cloud_sim: SimProcess, cloud: httpx.Client
) -> None:
    key = cloud.post("/rest/api/3/issue", json=fields()).json()["key"]
    for n in range(45):
        edited = httpx.post(
            f"{cloud_sim.url}/_sim/act",
            json={"user": "jsmith", "key": key, "action": "edit", "fields": {"summary": f"edit {n}"}},
            timeout=10,
        )
        assert edited.status_code == 200, edited.text
    found = cloud.post(
        "/rest/api/3/search/jql", json={"jql": f"key = {key}", "fields": ["summary"], "expand": "changelog"}
    ).json()
    changelog = found["issues"][0]["changelog"]
    assert (changelog["total"], changelog["startAt"], len(changelog["histories"])) == (45, 5, 40)
    assert changelog["histories"][-1]["items"][0]["toString"] == "edit 44"
    first = cloud.get(f"/rest/api/3/issue/{key}/changelog", params={"maxResults": 30}).json()
    assert (first["total"], first["startAt"], first["isLast"], len(first["values"])) == (45, 0, False, 30)
    assert first["values"][0]["items"][0]["toString"] == "edit 0"
    rest = cloud.get(f"/rest/api/3/issue/{key}/changelog", params={"startAt": 30, "maxResults": 30}).json()
    assert (rest["isLast"], len(rest["values"])) == (True, 15)
