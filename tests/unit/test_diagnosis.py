"""What `check` finds, judged from Jira's answers without a server (driver.model.diagnosis). Against
the simulator, end to end: tests/integration/test_check.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from driver.model.creation_table import Mode, seed_table
from driver.model.diagnosis import (
    PERMISSIONS,
    CheckPlan,
    permission_findings,
    screen_findings,
    workflow_findings,
)
from driver.model.transitions import Target

DONE = Target("category", "done")
NEW = Target("category", "new")


def plan(fields: tuple[str, ...] = ("summary", "labels"), **kw: object) -> CheckPlan:
    return CheckPlan("OPS", "Task", fields, **kw)  # type: ignore[arg-type]


def test_the_plan_holds_the_tables_included_fields_with_a_value_and_the_stamp() -> None:
    table = seed_table("OPS", "Task")
    made = CheckPlan.of(table, "OPS", "Task", "customfield_10050", (DONE, NEW), "Fixed")
    included = [r.field for r in table.rows if r.mode == Mode.INCLUDED and r.value.strip()]
    assert made.fields == (*included, "customfield_10050")
    assert made.stamp == "customfield_10050"
    assert CheckPlan.of(table, "OPS", "Task", "", (DONE, NEW), "Fixed").stamp == "labels"


def test_each_missing_permission_is_named_with_what_it_breaks() -> None:
    answer = {
        "permissions": {
            key: {"key": key, "havePermission": key not in ("TRANSITION_ISSUES", "ADD_COMMENTS")}
            for key in PERMISSIONS
        }
    }
    found = permission_findings(answer, "OPS", "svc")
    assert [f.kind for f in found] == ["permission", "permission"]
    assert "svc lacks ADD_COMMENTS in project OPS (comments fail)" in found[0].message
    assert "TRANSITION_ISSUES" in found[1].message
    assert "RESOLVE and REOPEN fail" in found[1].message
    assert "permission scheme" in found[1].message
    assert permission_findings({"nothing": 1}, "OPS", "svc")[0].message.endswith("could not be read")


def test_a_required_field_left_empty_and_a_field_not_on_the_screen_are_named() -> None:
    screen = {
        "fields": [
            {"fieldId": "summary", "required": True, "name": "Summary"},
            {"fieldId": "project", "required": True},
            {"fieldId": "components", "required": True, "name": "Components"},
            {"fieldId": "priority", "required": True, "hasDefaultValue": True},
        ]
    }
    found = screen_findings(screen, plan(("summary", "labels")))
    assert [f.kind for f in found] == ["screen", "screen"]
    assert (
        "requires Components (components), which the Ticket Creation Table leaves empty" in found[0].message
    )
    assert "labels (labels, the GUID stamp's field) is not on OPS/Task's create screen" in found[1].message
    assert "set [ticket] guid_field to a custom field that is on it" in found[1].message
    # Data Center's shape (values), nothing wrong
    dc = {"values": [{"fieldId": "summary", "required": True}, {"fieldId": "labels", "required": False}]}
    assert screen_findings(dc, plan()) == []


fields = st.sampled_from(["summary", "labels", "priority", "components", "customfield_1", "project"])


@given(
    st.dictionaries(fields, st.booleans(), max_size=6),
    st.lists(fields, min_size=1, max_size=6, unique=True),
)
def test_screen_findings_are_exactly_the_two_differences(screen: dict[str, bool], sent: list[str]) -> None:
    answer = {"fields": [{"fieldId": f, "required": r} for f, r in screen.items()]}
    found = screen_findings(answer, plan(tuple(sent)))
    required_missing = {f for f, r in screen.items() if r and f not in sent and f != "project"}
    not_on_screen = {f for f in sent if f not in screen and f != "project"}
    assert len(found) == len(required_missing) + len(not_on_screen)
    for field in required_missing | not_on_screen:
        assert any(f"({field}" in finding.message for finding in found)


STATUSES = [
    {
        "name": "Task",
        "statuses": [
            {"name": "To Do", "statusCategory": {"key": "new"}},
            {"name": "Done", "statusCategory": {"key": "done"}},
        ],
    },
    {"name": "Bug", "statuses": [{"name": "Closed", "statusCategory": {"key": "done"}}]},
]


def test_an_unreachable_target_and_an_unknown_resolution_are_named() -> None:
    resolutions = [{"name": "Done"}, {"name": "Won't Do"}]
    assert workflow_findings(STATUSES, resolutions, plan()) == []
    found = workflow_findings(
        STATUSES,
        resolutions,
        plan(
            resolve_target=Target("status", "Resolved"),
            reopen_target=Target("category", "indeterminate"),
            resolution="Fixed",
        ),
    )
    assert [f.kind for f in found] == ["workflow"] * 3
    assert (
        "RESOLVE goes to status 'Resolved', which no status of OPS/Task's workflow is (it has: Done, To Do)"
        in found[0].message
    )
    assert "[lifecycle] resolve_target" in found[0].message
    assert "REOPEN goes to status category 'indeterminate'" in found[1].message
    assert "the resolution 'Fixed' is not one Jira has (Done, Won't Do)" in found[2].message
