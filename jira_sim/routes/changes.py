"""Changes that more than one resource makes to an issue: comments, workflow moves, entity properties."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jira_sim.data import Comment, Issue, Resolution, User, now
from jira_sim.errors import JiraError
from jira_sim.state import SimState

PROPERTY_VALUE_MAX = 32768
"""Bytes of JSON an entity property value may hold (WIRE-FACTS §10)."""


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


def move(state: SimState, issue: Issue, transition: str, resolution: Resolution | None) -> None:
    """Put the issue in the transition's target status; a done status gets a resolution and its date."""
    target = state.catalog.transition_by_id[transition].to
    issue.status = target
    if target.category.key == "done":
        issue.resolution = resolution or state.catalog.resolutions[0]
        issue.resolutiondate = now(state.clock)
    else:
        issue.resolution = None
        issue.resolutiondate = None


def add_comment(state: SimState, issue: Issue, user: User, text: Any, stamp: datetime) -> Comment:
    """Append a comment (plain text or ADF, as it came) written at `stamp`; the issue is updated then too."""
    comment = Comment(state.store.next_comment_id(), user, text, stamp, stamp)
    issue.comments.append(comment)
    issue.updated = stamp
    state.journal.counters.comments += 1
    return comment
