"""What `jira-driver check` finds before the first alarm does: permissions the account lacks, the
create screen's required fields the Ticket Creation Table leaves empty and the table's fields the
screen does not have, a lifecycle target no status of the workflow gives, a resolution Jira does not
know. Pure: it reads Jira's answers (JSON as Jira sends it) and says, one line each, what to do.

Answers read (docs/wire-facts.md §6, §9, §14): `GET mypermissions?permissions=...&projectKey=`
(`permissions.KEY.havePermission`), `GET issue/createmeta/{project}/issuetypes/{id}` (Cloud `fields`,
Data Center `values`: `fieldId`, `required`, `hasDefaultValue`), `GET project/{key}/statuses` (per
issue type, its statuses with `statusCategory.key`), `GET resolution`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from driver.model.creation_table import Mode, TicketTable
from driver.model.transitions import Target

Kind = Literal["config", "connection", "auth", "permission", "screen", "workflow", "expiry"]

PERMISSIONS: Mapping[str, str] = {
    "BROWSE_PROJECTS": "the project cannot be seen: nothing the driver does works",
    "CREATE_ISSUES": "CREATE fails",
    "EDIT_ISSUES": "UPDATE (field edits) and stamping a linked ticket fail",
    "ADD_COMMENTS": "comments fail",
    "TRANSITION_ISSUES": "RESOLVE and REOPEN fail",
    "RESOLVE_ISSUES": "RESOLVE cannot set the resolution",
}
"""The permissions the driver's work needs, and what fails without each (asked of mypermissions)."""

_SET_BY_JIRA = frozenset({"project", "issuetype"})


@dataclass(frozen=True)
class Finding:
    """One problem, in one line that ends with what to do."""

    kind: Kind
    message: str


@dataclass(frozen=True)
class CheckPlan:
    """What the driver will send, as check needs it: where creates go and what they set."""

    project: str
    issue_type: str
    fields: tuple[str, ...] = ()
    """The field ids a create sets: the table's Included rows with a value, and the GUID stamp's."""
    resolve_target: Target = field(default_factory=lambda: Target("category", "done"))
    reopen_target: Target = field(default_factory=lambda: Target("category", "new"))
    resolution: str = "Done"
    stamp: str = "labels"
    """The field the GUID stamp is in."""

    @classmethod
    def of(
        cls,
        table: TicketTable,
        project: str,
        issue_type: str,
        stamp_field: str,
        targets: tuple[Target, Target],
        resolution: str,
    ) -> CheckPlan:
        """From the Ticket Creation Table, the stamp's field (a custom field id, or '' for labels)
        and the lifecycle's targets and resolution."""
        sent = [r.field for r in table.rows if r.mode == Mode.INCLUDED and r.value.strip()]
        stamp = stamp_field or "labels"
        sent.append(stamp)
        fields = tuple(dict.fromkeys(sent))
        return cls(project, issue_type, fields, targets[0], targets[1], resolution, stamp)


def permission_findings(answer: Any, project: str, user: str) -> list[Finding]:
    """Each needed permission mypermissions says the user lacks in `project`."""
    held = answer.get("permissions") if isinstance(answer, dict) else None
    if not isinstance(held, dict):
        return [Finding("permission", "Jira's mypermissions answer had no permissions: it could not be read")]
    found: list[Finding] = []
    for key, breaks in PERMISSIONS.items():
        entry = held.get(key)
        if isinstance(entry, dict) and entry.get("havePermission") is False:
            found.append(
                Finding(
                    "permission",
                    f"{user} lacks {key} in project {project} ({breaks}): grant it in the project's"
                    " permission scheme (Project settings > Permissions)",
                )
            )
    return found


def screen_findings(answer: Any, plan: CheckPlan, names: Mapping[str, str] | None = None) -> list[Finding]:
    """The create screen's required fields the creates leave empty, and the fields they set that
    the screen does not have (Jira refuses a create with "cannot be set. It is not on the
    appropriate screen")."""
    listed = _field_list(answer)
    if listed is None:
        return [Finding("screen", f"the create screen of {plan.project}/{plan.issue_type} could not be read")]
    names = names or {}
    on_screen = {str(f.get("fieldId") or f.get("key")): f for f in listed}
    where = f"{plan.project}/{plan.issue_type}'s create screen"
    found: list[Finding] = []
    for field_id, entry in on_screen.items():
        required = entry.get("required") is True and entry.get("hasDefaultValue") is not True
        if required and field_id not in plan.fields and field_id not in _SET_BY_JIRA:
            name = str(entry.get("name") or field_id)
            found.append(
                Finding(
                    "screen",
                    f"{where} requires {name} ({field_id}), which the Ticket Creation Table leaves"
                    " empty: include it with a value, or make it optional in Jira",
                )
            )
    for field_id in plan.fields:
        if field_id not in on_screen and field_id not in _SET_BY_JIRA:
            name = names.get(field_id, field_id)
            if field_id == plan.stamp:
                role = "the GUID stamp's field"
                fix = "add it to the screen, or set [ticket] guid_field to a custom field that is on it"
            else:
                role = "in the Ticket Creation Table"
                fix = "add it to the screen, or exclude it from the table"
            found.append(
                Finding(
                    "screen",
                    f"{name} ({field_id}, {role}) is not on {where}: Jira refuses creates that set it; {fix}",
                )
            )
    return found


def _field_list(answer: Any) -> list[dict[str, Any]] | None:
    if not isinstance(answer, dict):
        return None
    items = answer.get("fields", answer.get("values"))
    if isinstance(items, dict):  # the older global createmeta's fields, by id
        items = [{"fieldId": k, **v} for k, v in items.items() if isinstance(v, dict)]
    if not isinstance(items, list):
        return None
    return [f for f in items if isinstance(f, dict)]


def workflow_findings(statuses: Any, resolutions: Any, plan: CheckPlan) -> list[Finding]:
    """A lifecycle target no status of the issue type's workflow gives (so no transition can lead
    there), and a resolution Jira does not have."""
    found: list[Finding] = []
    mine = _type_statuses(statuses, plan.issue_type)
    if mine is not None:
        for action, target, key in (
            ("RESOLVE", plan.resolve_target, "resolve_target"),
            ("REOPEN", plan.reopen_target, "reopen_target"),
        ):
            if not _gives(mine, target):
                offered = ", ".join(sorted({name for name, _ in mine})) or "none"
                found.append(
                    Finding(
                        "workflow",
                        f"{action} goes to {_said(target)}, which no status of {plan.project}/"
                        f"{plan.issue_type}'s workflow is (it has: {offered}): set [lifecycle] {key}",
                    )
                )
    if plan.resolution and isinstance(resolutions, list):
        known = [str(r.get("name", "")) for r in resolutions if isinstance(r, dict)]
        if known and plan.resolution.casefold() not in {k.casefold() for k in known}:
            found.append(
                Finding(
                    "workflow",
                    f"the resolution {plan.resolution!r} is not one Jira has ({', '.join(known)}):"
                    " set [lifecycle] resolution",
                )
            )
    return found


def _type_statuses(answer: Any, issue_type: str) -> list[tuple[str, str]] | None:
    if not isinstance(answer, list):
        return None
    for entry in answer:
        if isinstance(entry, dict) and str(entry.get("name", "")).casefold() == issue_type.casefold():
            return list(_statuses(entry.get("statuses")))
    return None


def _statuses(items: Any) -> Iterable[tuple[str, str]]:
    for status in items if isinstance(items, list) else []:
        if isinstance(status, dict):
            category = status.get("statusCategory")
            key = str(category.get("key", "")) if isinstance(category, dict) else ""
            yield str(status.get("name", "")), key


def _gives(statuses: Sequence[tuple[str, str]], target: Target) -> bool:
    if target.kind == "category":
        return any(key == target.value for _, key in statuses)
    return any(name.casefold() == target.value.casefold() for name, _ in statuses)


def _said(target: Target) -> str:
    return f"status category {target.value!r}" if target.kind == "category" else f"status {target.value!r}"
