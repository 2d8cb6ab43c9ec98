"""The simulator's permission schemes and create screens, as /_sim/permissions and /_sim/screens set
them: what mypermissions and createmeta say, and what writes refuse (each answer checked against
Atlassian's spec)."""

from __future__ import annotations

from typing import Any

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
        assert c.put(f"{ISSUE}/{key}", json={"fields": {"summary": "x"}}).status_code == 403
        assert c.post(f"{ISSUE}/{key}/comment", json={"body": "x"}).status_code == 403
        assert c.get(f"{ISSUE}/{key}/transitions").json()["transitions"] == []
        assert c.post(f"{ISSUE}/{key}/transitions", json={"transition": {"id": "31"}}).status_code == 403
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
