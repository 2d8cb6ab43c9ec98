"""The simulator's permission schemes and create screens, as /_sim/permissions and /_sim/screens set
them: what mypermissions and createmeta say, and what writes refuse (each answer checked against
Atlassian's spec; docs/wire-facts.md §14 for Cloud's mypermissions and per-project createmeta)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.sim import SpecChecker, checked_client
from tests.integration.test_sim_behaviour import ISSUE, body


def test_a_permission_taken_away_is_said_and_enforced(sim: Any, spec_check: SpecChecker) -> None:
    with checked_client(sim, spec_check) as c:
        key = c.post(ISSUE, json=body()).json()["key"]
        sim.admin(
            "permissions",
            {
                "user": "admin",
                "project": "OPS",
                "denied": ["EDIT_ISSUES", "ADD_COMMENTS", "TRANSITION_ISSUES"],
            },
        )
        mine = c.get(
            "/rest/api/2/mypermissions",
            params={"permissions": "EDIT_ISSUES,CREATE_ISSUES", "projectKey": "OPS"},
        )
        assert mine.status_code == 200
        held = {k: v["havePermission"] for k, v in mine.json()["permissions"].items()}
        assert held == {"EDIT_ISSUES": False, "CREATE_ISSUES": True}
        edit = c.put(f"{ISSUE}/{key}", json={"fields": {"summary": "x"}})
        assert (edit.status_code, edit.json()["errorMessages"]) == (
            403,
            ["You do not have permission to edit issues in this project."],
        )
        comment = c.post(f"{ISSUE}/{key}/comment", json={"body": "x"})
        assert (comment.status_code, comment.json()["errorMessages"]) == (
            403,
            ["You do not have the permission to comment on this issue."],
        )
        assert c.get(f"{ISSUE}/{key}/transitions").json()["transitions"] == []
        move = c.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "31"}})
        assert (move.status_code, move.json()["errorMessages"]) == (
            403,
            ["You do not have permission to transition this issue."],
        )
        # nothing was changed by the refused writes
        assert sim.counters()["created"] == 1
        assert sim.admin(f"issues/{key}")["fields"]["summary"] == "Fan failure"
        elsewhere = c.get(
            "/rest/api/2/mypermissions", params={"permissions": "EDIT_ISSUES", "projectKey": "NET"}
        )
        assert elsewhere.json()["permissions"]["EDIT_ISSUES"]["havePermission"] is True
        assert c.get("/rest/api/2/mypermissions", params={"permissions": "FLY"}).status_code == 400
        sim.reset()
        assert c.post(ISSUE, json=body()).status_code == 201


def test_a_narrowed_create_screen_is_listed_and_enforced(sim: Any, spec_check: SpecChecker) -> None:
    sim.admin(
        "screens", {"project": "OPS", "issuetype": "Task", "hidden": ["labels"], "required": ["environment"]}
    )
    with checked_client(sim, spec_check) as c:
        types = c.get("/rest/api/2/issue/createmeta/OPS/issuetypes").json()["values"]
        task = next(t["id"] for t in types if t["name"] == "Task")
        fields = {
            f["fieldId"]: f
            for f in c.get(f"/rest/api/2/issue/createmeta/OPS/issuetypes/{task}").json()["values"]
        }
        assert "labels" not in fields
        assert fields["environment"]["required"] is True
        refused = c.post(ISSUE, json=body(labels=["a"]))
        assert refused.status_code == 400
        assert refused.json()["errors"] == {
            "labels": "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown.",
            "environment": "Environment is required.",
        }
        assert c.post(ISSUE, json=body(environment="lab")).status_code == 201
        assert c.post(ISSUE, json=body(project={"key": "NET"}, labels=["a"])).status_code == 201
    # a field the simulator has no such thing as cannot be required or hidden (no Jira could)
    refused = httpx.post(
        f"{sim.url}/_sim/screens", json={"project": "OPS", "required": ["components", "environment"]}
    )
    assert refused.status_code == 400
    assert "['components']" in refused.text


def test_create_issues_denied_everywhere_refuses_every_create(sim: Any, spec_check: SpecChecker) -> None:
    # no "project": the denial holds in every project, and mypermissions without projectKey says so
    sim.admin("permissions", {"user": "admin", "denied": ["CREATE_ISSUES"]})
    with checked_client(sim, spec_check) as c:
        for project in ("OPS", "NET"):
            refused = c.post(ISSUE, json=body(project={"key": project}))
            assert refused.status_code == 403
            assert refused.json()["errorMessages"] == [
                "You do not have permission to create issues in this project."
            ]
        mine = c.get("/rest/api/2/mypermissions", params={"permissions": "CREATE_ISSUES,BROWSE_PROJECTS"})
        held = {k: v["havePermission"] for k, v in mine.json()["permissions"].items()}
        assert held == {"CREATE_ISSUES": False, "BROWSE_PROJECTS": True}
        # another user keeps it; a new denied list replaces the old one
        jsmith = c.get(
            "/rest/api/2/mypermissions",
            params={"permissions": "CREATE_ISSUES"},
            auth=("jsmith", "jsmith"),
        )
        assert jsmith.json()["permissions"]["CREATE_ISSUES"]["havePermission"] is True
        sim.admin("permissions", {"user": "admin", "denied": []})
        assert c.post(ISSUE, json=body()).status_code == 201
    unknown = httpx.post(f"{sim.url}/_sim/permissions", json={"user": "admin", "denied": ["FLY"]})
    assert unknown.status_code == 400


def test_mypermissions_shape_and_no_create(sim_factory: Callable[..., Any], spec_check: SpecChecker) -> None:
    dc = sim_factory("--no-create", "admin:NET")
    with checked_client(dc, spec_check) as c:
        every = c.get("/rest/api/2/mypermissions", params={"projectKey": "NET"}).json()["permissions"]
        assert set(every) >= {
            "BROWSE_PROJECTS",
            "CREATE_ISSUES",
            "EDIT_ISSUES",
            "ADD_COMMENTS",
            "TRANSITION_ISSUES",
            "RESOLVE_ISSUES",
            "ASSIGN_ISSUES",
            "CLOSE_ISSUES",
        }
        assert every["CREATE_ISSUES"] == {
            "id": "11",
            "key": "CREATE_ISSUES",
            "name": "Create Issues",
            "type": "PROJECT",
            "description": "Ability to create issues.",
            "havePermission": False,
        }
        assert every["EDIT_ISSUES"]["havePermission"] is True
        ops = c.get("/rest/api/2/mypermissions", params={"permissions": "CREATE_ISSUES", "projectKey": "OPS"})
        assert ops.json()["permissions"]["CREATE_ISSUES"]["havePermission"] is True
        unknown = c.get("/rest/api/2/mypermissions", params={"permissions": "CREATE_ISSUES,FLY"})
        assert unknown.status_code == 400
        assert unknown.json()["errorMessages"] == ["Unrecognized permission key: FLY"]


def test_cloud_mypermissions_needs_the_list_and_global_createmeta_follows_the_screen(
    sim_factory: Callable[..., Any], spec_check: SpecChecker
) -> None:
    cloud = sim_factory("--flavor", "cloud")
    # no issuetype: every type of OPS gets this screen
    cloud.admin("screens", {"project": "OPS", "hidden": ["labels", "priority"], "required": ["environment"]})
    with checked_client(cloud, spec_check) as c:
        missing = c.get("/rest/api/3/mypermissions")
        assert missing.status_code == 400
        assert missing.json()["errorMessages"]
        asked = c.get("/rest/api/3/mypermissions", params={"permissions": "EDIT_ISSUES"})
        assert asked.json()["permissions"]["EDIT_ISSUES"]["havePermission"] is True
        meta = c.get(
            "/rest/api/2/issue/createmeta",
            params={"projectKeys": "OPS,NET", "expand": "projects.issuetypes.fields"},
        ).json()
        for project in meta["projects"]:
            for issuetype in project["issuetypes"]:
                fields = issuetype["fields"]
                if project["key"] == "OPS":
                    assert "labels" not in fields
                    assert "priority" not in fields
                    assert fields["environment"]["required"] is True
                else:
                    assert "labels" in fields
                    assert fields["environment"]["required"] is False
        refused = c.post(ISSUE, json=body(priority={"name": "High"}, environment="lab"))
        assert refused.status_code == 400
        assert refused.json()["errors"] == {
            "priority": "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."
        }
    cloud.reset()
    with checked_client(cloud, spec_check) as c:
        assert c.post(ISSUE, json=body(priority={"name": "High"})).status_code == 201
