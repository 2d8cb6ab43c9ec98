"""Multi-value fields on an edit (pure): Jira's add/remove verbs of what the driver itself changed.

A PUT of `fields.labels` (or components, versions, a multi-select) replaces the whole set, so a
label a person added in Jira would vanish at the alarm's next UPDATE. Jira's edit also takes
`update: {"labels": [{"add": "x"}, {"remove": "y"}]}` for these fields (docs/wire-facts.md §2, spec
editIssue: FieldUpdateOperation), which changes only the values named. The driver sends the
difference between what it set on the ticket before (`TicketRecord.driver_values`, recorded from
each create and update Jira took) and what the command sets now: a value the driver never set is
never removed, and one a person removed stays removed unless the command brings it anew.

A value is compared as the JSON it is sent as (`"x"` for a label, `{"name": "x"}` for a component
or version, `{"value": "x"}` for an option): the same item named by id in one command and by name in
the next counts as two.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from driver.model.fields import FieldCatalog, FieldType
from driver.model.json_values import JSON

MULTI_TYPES = frozenset({FieldType.LABELS, FieldType.MULTI_OPTION, FieldType.COMPONENTS, FieldType.VERSIONS})
"""The field types Jira edits by add/remove (their editmeta `operations` hold both)."""
DEFAULT_MULTI = frozenset({"labels", "components", "fixVersions", "versions"})
"""Jira's system multi-value fields, for a driver that has not read Jira's field list yet."""

DriverValues = Mapping[str, Sequence[JSON]]
"""Field id -> the values the driver set on the ticket last (the GUID stamp not among them)."""


def multi_value_fields(fields: Mapping[str, JSON], catalog: FieldCatalog | None) -> list[str]:
    """The ids among `fields` of multi-value fields whose value is a list, in order."""
    found = []
    for fid, value in fields.items():
        if not isinstance(value, list):
            continue
        known = catalog.get(fid) if catalog is not None else None
        if (known.type in MULTI_TYPES) if known is not None else fid in DEFAULT_MULTI:
            found.append(fid)
    return found


def _key(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _unique(values: Iterable[JSON]) -> list[JSON]:
    seen: set[str] = set()
    result = []
    for value in values:
        key = _key(value)
        if key not in seen:
            seen.add(key)
            result.append(value)
    return result


def set_values(
    fields: Mapping[str, JSON], catalog: FieldCatalog | None, stamp: str | None = None
) -> dict[str, list[JSON]]:
    """What a create body's (or an edit's) multi-value fields set, the stamp label left out."""
    return {
        fid: [value for value in _unique(fields[fid]) if not (fid == "labels" and value == stamp)]
        for fid in multi_value_fields(fields, catalog)
    }


def as_verbs(
    body: Mapping[str, JSON],
    before: DriverValues,
    catalog: FieldCatalog | None,
    stamp: str | None = None,
) -> tuple[dict[str, JSON], dict[str, list[JSON]]]:
    """An edit body whose multi-value `fields` become `update` add/remove verbs, and the values set.

    body: an IssueUpdateDetails body (`{"fields": {...}, "update": {...}?}`). before: what the
    driver set on the ticket last, per field (a field missing there: nothing is removed from it).
    stamp: the GUID's stamp label when labels carry it; it is added whenever labels are edited (a
    person who removed it gets it back) and is never removed. A field whose verbs come out empty
    (nothing changed) leaves the body. Returns the new body and, per field edited, the values the
    command sets (to record once Jira has taken the edit).
    """
    fields = dict(body.get("fields") or {})
    update = dict(body.get("update") or {})
    sets: dict[str, list[JSON]] = {}
    for fid in multi_value_fields(fields, catalog):
        wanted = [value for value in _unique(fields.pop(fid)) if not (fid == "labels" and value == stamp)]
        earlier = {_key(value) for value in before.get(fid, ())}
        now = {_key(value) for value in wanted}
        verbs: list[JSON] = [{"add": value} for value in wanted if _key(value) not in earlier]
        verbs += [{"remove": value} for value in before.get(fid, ()) if _key(value) not in now]
        if fid == "labels" and stamp:
            verbs.insert(0, {"add": stamp})
        if verbs:
            update[fid] = verbs
        sets[fid] = wanted
    result: dict[str, JSON] = {k: v for k, v in body.items() if k not in ("fields", "update")}
    if fields or not update:
        result["fields"] = fields
    if update:
        result["update"] = update
    return result, sets
