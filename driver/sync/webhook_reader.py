"""Reading a webhook delivery's JSON for the few parts sync uses, in bounded memory (pure).

Jira renders the whole issue into every delivery, comments included, so a ticket with many long
comments makes deliveries of megabytes (Jira's bodies can reach 25 MB; docs/wire-facts.md §12). The
driver needs a handful of small parts: the event, its time and actor, the issue's id, key and the
fields sync reads, the changelog's field names, the comment's author and times. `read_webhook`
walks the body's JSON events (ijson, a streaming parser) and builds only those parts, so memory
holds the parser's buffer and the parts, never the body or its comments, whatever the body's size.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import IO, Any

import ijson

ALWAYS = frozenset(
    {
        "webhookEvent",
        "timestamp",
        "issue_event_type_name",
        "user",
        "issue.id",
        "issue.key",
        "changelog.id",
        "changelog.items.item.field",
        "changelog.items.item.fieldId",
        "comment.id",
        "comment.author",
        "comment.updateAuthor",
        "comment.created",
        "comment.updated",
    }
)
"""The parts of a delivery sync reads (driver.sync.rules.WebhookBody), as ijson prefixes."""
ISSUE_FIELDS = ("status", "resolution", "assignee", "project", "issuetype", "updated", "labels")
"""The issue's fields sync reads (driver.model.answers.IssueState); the stamp field is added."""


class WebhookUnreadable(ValueError):
    """The body is not JSON (or ends early, or nests deeper than MAX_DEPTH); the message says where."""


MAX_DEPTH = 100
"""Deepest nesting of arrays and objects read. Jira's bodies nest about ten levels; ijson names
each event by its whole path, so a body of 50,000 `[` (100 KB) would take gigabytes."""


def _events(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """ijson's basic events of the body, numbers as floats where they are not small integers (a
    4,301-digit integer crashed the C parser building a Python int), refused past MAX_DEPTH.
    Raises WebhookUnreadable (past MAX_DEPTH) and ijson.JSONError."""
    depth = 0
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_DEPTH:
                raise WebhookUnreadable(f"the body nests deeper than {MAX_DEPTH} levels")
        elif event in ("end_map", "end_array"):
            depth -= 1
        yield event, value


CONTAINERS = frozenset({"issue", "issue.fields", "changelog", "comment"})
"""Objects whose wanted parts are read one by one; any other value there is kept whole (so the
body's validation refuses it as it would the whole body)."""


_ITEMS = ("changelog.items", "changelog.items.item")


def read_webhook(stream: IO[bytes], stamp_field: str = "", fields: Collection[str] = ISSUE_FIELDS) -> Any:
    """The parts of a webhook body sync uses, as a dict in the body's own shape.

    stream: the raw body, read from its start. stamp_field: the `[ticket] guid_field` (its value
    tells a create in doubt), read with `fields`. A changelog's items keep only `field` and
    `fieldId`. What comes back validates (driver.sync.rules.WebhookBody) exactly when the whole
    body would, and means the same. A body that is not a JSON object comes back as it is.
    Raises WebhookUnreadable for text that is not JSON.
    """
    wanted = set(ALWAYS) | {f"issue.fields.{name}" for name in (*fields, stamp_field) if name}
    root: dict[str, Any] = {}
    items: list[Any] = []
    items_seen = False
    scalar_root: list[Any] = []
    builder: Any = None
    building = ""
    depth = 0
    try:
        for prefix, event, value in ijson.parse(_events(stream)):
            if builder is not None:
                builder.event(event, value)
                depth += event in ("start_map", "start_array")
                depth -= event in ("end_map", "end_array")
                if depth == 0:
                    _place(root, items, building, builder.value)
                    builder = None
                continue
            if prefix == "":
                if event not in ("start_map", "end_map", "map_key"):
                    scalar_root.append(value)
                continue
            if prefix == "changelog.items" and event in ("start_array", "end_array"):
                items_seen = True
                continue
            if prefix == "changelog.items.item" and event in ("start_map", "end_map"):
                if event == "start_map":
                    items.append({})
                continue
            if prefix in CONTAINERS and event in ("start_map", "end_map", "map_key"):
                if event == "start_map":
                    _place(root, items, prefix, {})
                continue
            if prefix not in wanted and prefix not in CONTAINERS and prefix not in _ITEMS:
                continue
            if event in ("start_map", "start_array"):
                builder, building, depth = ijson.ObjectBuilder(), prefix, 1
                builder.event(event, value)
            elif event != "map_key":
                _place(root, items, prefix, value)
    except ijson.JSONError as exc:
        raise WebhookUnreadable(f"the body is not JSON: {_one_line(exc)}") from None
    if scalar_root:
        return scalar_root[0]
    changelog = root.get("changelog")
    if items_seen and isinstance(changelog, dict):
        changelog["items"] = items
    return root


def _one_line(exc: Exception) -> str:
    """ijson's message on one line: yajl's spans three (the error, an excerpt of the body, a caret
    under it), which a log line or an HTTP answer's `detail` would break up."""
    lines = [line.strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and "(right here)" not in line]
    if len(lines) == 2:
        return f"{lines[0].rstrip('.')}, near {lines[1]!r}"
    return " ".join(lines)


def _place(root: dict[str, Any], items: list[Any], prefix: str, value: Any) -> None:
    """Put `value` where `prefix` (ijson's dotted path) says, in the dict being built."""
    if prefix == "changelog.items.item":
        items.append(value)  # an item that is not an object: kept for validation to refuse
        return
    if prefix.startswith("changelog.items.item."):
        if items and isinstance(items[-1], dict):
            items[-1][prefix.rsplit(".", 1)[1]] = value
        return
    parts = prefix.split(".")
    if parts[:2] == ["issue", "fields"] and len(parts) > 2:
        # a field id holds no dot; anything after `fields.` is the one key
        parts = ["issue", "fields", ".".join(parts[2:])]
    node = root
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node = child
    node[parts[-1]] = value


def issue_named(stream: IO[bytes]) -> str | None:
    """The id (else the key) of the issue a delivery names, read from as much of its JSON as there
    is (a body cut short, or one that stops being JSON, still names it when `issue.id` or
    `issue.key` comes first); None when it names none."""
    found: dict[str, str] = {}
    try:
        for prefix, event, value in ijson.parse(_events(stream)):
            if prefix in ("issue.id", "issue.key") and event in ("string", "number"):
                found[prefix] = str(value)
                if len(found) == 2:
                    break
    except (ijson.JSONError, WebhookUnreadable):
        pass
    issue_id = found.get("issue.id", "")
    return issue_id if issue_id.isdigit() else found.get("issue.key") or None
