"""Request parts more than one resource reads: entity properties, the transition of a body, its screen.

What the changes then do to an issue (history, webhooks) is `jira_sim.lifecycle`.
"""

from __future__ import annotations

import json
from typing import Any

from jira_sim import issues as shapes
from jira_sim.data import Catalog, Resolution, RichText, Transition
from jira_sim.errors import JiraError
from jira_sim.issues import Api, FieldProblem

PROPERTY_VALUE_MAX = 32768
"""Bytes of JSON an entity property value may hold (docs/wire-facts.md §10)."""


def read_properties(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The `properties` list of a create or edit body as {key: value}; problems go into `errors`."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p for p in value
    ):
        errors["properties"] = "Properties must be a list of objects with 'key' and 'value'."
        return {}
    result: dict[str, Any] = {}
    for prop in value:
        if not prop["key"] or len(prop["key"]) > 255:
            errors["properties"] = "The property key must be between 1 and 255 characters long."
        elif len(json.dumps(prop["value"])) > PROPERTY_VALUE_MAX:
            errors["properties"] = "The property value is too long: at most 32768 bytes."
        else:
            result[prop["key"]] = prop["value"]
    return result


def transition_id(value: Any) -> str:
    """The id of a `{"transition": {"id": ...}}` body part; JiraError 400 when it is missing."""
    if not isinstance(value, dict) or value.get("id") is None:
        raise JiraError(400, ["Missing 'transition' identifier"])
    return str(value["id"])


RESOLUTION_REQUIRED = "Field Resolution is required."
"""Jira's answer to a transition whose screen requires a resolution the request does not give (400,
in errorMessages; seen from Jira in checkmarx-cxflow-github-action#46 and jira-bugzilla-integration#1055)."""


def not_valid(transition: str) -> JiraError:
    """Jira's 400 for a transition id the workflow lacks or the issue's status does not offer."""
    return JiraError(400, [f"Transition id '{transition}' is not valid for this issue."])


def read_screen(
    api: Api, catalog: Catalog, transition: Transition, body: dict[str, Any]
) -> tuple[Resolution | None, list[RichText]]:
    """The resolution and comments of a doTransition body, checked against the transition's screen.

    JiraError 400: a field not on the screen (`errors[field]`: "cannot be set"), an unknown resolution
    (`errors.resolution`), a missing required resolution (`RESOLUTION_REQUIRED`), a bad comment.
    A screenless transition's comments come back empty: Jira answers 204 and drops them.
    """
    fields_in = body.get("fields") or {}
    if not isinstance(fields_in, dict):
        raise JiraError(400, ["Can not deserialize instance of java.util.HashMap out of START_ARRAY token"])
    resolution = None
    errors: dict[str, str] = {}
    for fid, value in fields_in.items():
        if fid != "resolution" or transition.resolution == "absent":
            errors[fid] = shapes.NOT_SETTABLE.format(fid)
            continue
        try:
            name, ident = shapes._by_name_or_id(value, "resolution")
        except FieldProblem as problem:
            errors[fid] = str(problem)
            continue
        resolution = (
            catalog.resolution_by_name.get(name.lower())
            if name
            else catalog.resolution_by_id.get(ident or "")
        )
        if resolution is None:
            errors[fid] = f"Resolution '{name or ident}' is not valid"
    comments: list[RichText] = []
    update = body.get("update") or {}
    if isinstance(update, dict) and update:
        changes = shapes.Changes({}, {}, {}, [], {})
        for fid, operations in update.items():
            if fid == "comment":
                shapes._read_comment_updates(api, operations, changes)
            else:
                errors[fid] = shapes.NOT_SETTABLE.format(fid)
        errors.update(changes.errors)
        comments = changes.comments
    if errors:
        raise JiraError(400, [], errors)
    if transition.resolution == "required" and resolution is None:
        raise JiraError(400, [RESOLUTION_REQUIRED])
    if not transition.has_screen:
        return resolution, []
    return resolution, comments


def screen_fields_json(api: Api, catalog: Catalog, transition: Transition) -> dict[str, Any]:
    """The `fields` of a transition under `expand=transitions.fields`: its screen's resolution, if any."""
    if transition.resolution == "absent":
        return {}
    meta = shapes.field_meta_json(
        api, catalog, catalog.field_by_id["resolution"], with_field_id=not api.cloud
    )
    meta["required"] = transition.resolution == "required"
    meta["allowedValues"] = [shapes.resolution_json(api, r) for r in catalog.resolutions]
    return {"resolution": meta}
