"""The PyPI `jira` package, a client nobody here wrote, drives the DC simulator end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jira import JIRA, JIRAError

from tests.fixtures.sim import SimProcess, running_sim


@pytest.fixture(scope="module")
def dc() -> Iterator[SimProcess]:
    with running_sim("--token", "pat-secret-1") as sim:
        yield sim


def _client(sim: SimProcess, **auth: object) -> JIRA:
    # max_retries=0: a failure must surface at once, not after the package's back-off sleeps.
    return JIRA(server=sim.url, max_retries=0, timeout=10, **auth)  # type: ignore[arg-type]


def test_basic_auth_create_edit_comment_transition_search(dc: SimProcess) -> None:
    jira = _client(dc, basic_auth=("admin", "admin"))
    assert jira.server_info()["deploymentType"] == "Server"
    assert jira.myself()["name"] == "admin"
    issue = jira.create_issue(
        project="OPS",
        issuetype={"name": "Incident"},
        summary="Link down on core-1",
        description="BGP session lost",
        labels=["alarm-pkg-1"],
        customfield_10100={"value": "Critical"},
    )
    assert issue.key.startswith("OPS-")
    issue.update(fields={"summary": "Link down on core-1 (flapping)"}, update={"labels": [{"add": "flap"}]})
    jira.add_comment(issue, "Seen again at 10:02")
    names = {t["name"] for t in jira.transitions(issue)}
    assert names == {"In Progress", "Done"}
    jira.transition_issue(issue, "Done")
    found = jira.search_issues('project = OPS AND labels = "alarm-pkg-1" AND resolution is not EMPTY')
    assert [i.key for i in found] == [issue.key]
    fresh = jira.issue(issue.key)
    assert fresh.fields.summary == "Link down on core-1 (flapping)"
    assert set(fresh.fields.labels) == {"alarm-pkg-1", "flap"}
    assert fresh.fields.status.name == "Done"
    resolution = fresh.fields.resolution
    assert resolution is not None
    assert resolution.name == "Done"
    assert fresh.fields.customfield_10100.value == "Critical"
    assert [c.body for c in jira.comments(issue)] == ["Seen again at 10:02"]
    jira.transition_issue(issue, "To Do")
    assert jira.issue(issue.key).fields.resolution is None
    assert dc.journal()[-1]["auth"] == "Basic"


def test_token_auth_and_paged_search(dc: SimProcess) -> None:
    jira = _client(dc, token_auth="pat-secret-1")
    keys = [
        jira.create_issue(project="NET", issuetype={"name": "Task"}, summary=f"Port {n} errors").key
        for n in range(3)
    ]
    page = jira.search_issues("project = NET ORDER BY key ASC", maxResults=2)
    assert page.total >= 3
    assert [i.key for i in page] == sorted(keys, key=lambda k: int(k.split("-")[1]))[:2]
    everything = jira.search_issues("project = NET ORDER BY key ASC", maxResults=False)
    assert {i.key for i in everything} >= set(keys)
    entries = [e for e in dc.journal() if e["auth"] == "Bearer"]
    assert entries
    assert all("pat-secret-1" not in str(e) for e in dc.journal())


def test_bad_credentials_and_bad_jql_are_jira_errors(dc: SimProcess) -> None:
    with pytest.raises(JIRAError) as denied:
        _client(dc, basic_auth=("admin", "wrong")).myself()
    assert denied.value.status_code == 401
    jira = _client(dc, basic_auth=("admin", "admin"))
    with pytest.raises(JIRAError) as bad:
        jira.search_issues("project = OPS AND (", maxResults=1)
    assert bad.value.status_code == 400
    assert "Error in the JQL Query" in str(bad.value.text)
