"""Value shaping: the text a person types for a field becomes the JSON Jira wants, and back.

`shape(field, text)` turns `High` into `{"name": "High"}` for priority, `a,b` into `["a", "b"]` for
labels, `2026-11-24T10:00Z` into `"2026-11-24T10:00:00.000+0000"` for a datetime, and so on. A value
that cannot be shaped raises ShapeError naming the field, the value and the form expected.

`unshape(field, json)` is the inverse used when the Create Query is edited by hand: it gives the
text that shapes back to exactly that JSON, or None when no text can (then the caller keeps the
value as a raw-JSON row). Exactness is checked, not assumed: every candidate text is shaped again
and compared with the original JSON, types and key order included.

An empty text clears a field: `""` for string and text, `[]` for list types, JSON null for the
others. Project and issue type cannot be cleared, and raw JSON must parse.

Two properties of the Jira side change the JSON: the user style (Cloud names people by
`accountId`, Server/Data Center by `name`) and the text format (v3 takes Atlassian Document
Format for description, environment, multi-line custom fields and comments; v2 and `latest` take
plain strings).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from driver.errors import ShapeError
from driver.fields import FieldDef, FieldType

__all__ = [
    "JSON",
    "TextFormat",
    "UserStyle",
    "adf_to_text",
    "canonical",
    "compact_json",
    "MAX_JSON_DEPTH",
    "loads_strict",
    "same_json",
    "shape",
    "text_format_for",
    "text_to_adf",
    "too_deep",
    "unshape",
    "user_style_for",
]

UserStyle = Literal["cloud", "datacenter"]
TextFormat = Literal["plain", "adf"]
JSON = Any
"""A JSON value as json.loads returns it (dict, list, str, int, float, bool or None)."""


def user_style_for(api_type: str) -> UserStyle:
    """The user style for a `[jira] api_type`: cloud only when it says cloud."""
    return "cloud" if str(api_type).strip().lower() == "cloud" else "datacenter"


def text_format_for(ticket_location: str) -> TextFormat:
    """ADF when the ticket location is a v3 path (`rest/api/3/issue`), else plain text."""
    return "adf" if "/api/3/" in "/" + ticket_location.strip().strip("/") + "/" else "plain"


# --- JSON helpers -----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


MAX_JSON_DEPTH = 100
"""Deepest nesting accepted in raw JSON; Jira bodies need far less, and the table is stored by
pydantic, which refuses deep recursion."""


def too_deep(value: JSON, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than limit (checked without recursion)."""
    stack: list[tuple[JSON, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def loads_strict(text: str) -> JSON:
    """json.loads without NaN/Infinity or deep nesting; raises json.JSONDecodeError or ValueError."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if too_deep(value):
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def compact_json(value: JSON) -> str:
    """The compact, key-order-preserving JSON text of a value (how raw-JSON rows show values)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def same_json(a: JSON, b: JSON) -> bool:
    """Strict JSON equality: types (1 vs 1.0 vs true) and object key order must match too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return False
    return bool(a == b)


# --- Atlassian Document Format ----------------------------------------------------------------


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: blank lines separate paragraphs, single newlines are hardBreaks."""
    content: list[dict[str, Any]] = []
    if text:
        for block in text.split("\n\n"):
            inline: list[dict[str, Any]] = []
            for i, line in enumerate(block.split("\n")):
                if i:
                    inline.append({"type": "hardBreak"})
                if line:
                    inline.append({"type": "text", "text": line})
            content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def _inline_text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    children = node.get("content")
    if not isinstance(children, list):
        attrs = node.get("attrs")
        # Mentions, emoji and the like carry their visible text in attrs.
        if isinstance(attrs, dict):
            shown = attrs.get("text") or attrs.get("shortName")
            if isinstance(shown, str):
                return shown
        return ""
    if kind in {"paragraph", "heading", "codeBlock", "text"} or not children:
        return "".join(_inline_text(c) for c in children)
    return "\n\n".join(_inline_text(c) for c in children)


def adf_to_text(doc: Any) -> str:
    """The visible text of an ADF document (best effort: formatting is dropped)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    children = doc.get("content")
    if not isinstance(children, list):
        return _inline_text(doc)
    return "\n\n".join(_inline_text(c) for c in children)


# --- shaping ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+")
_DATETIME_EXPECTED = "an ISO 8601 date-time with an offset, e.g. 2026-11-24T10:00:00.000+0000"


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _shape_number(field: FieldDef, text: str) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    if not _NUMBER.fullmatch(stripped):
        raise ShapeError(field.id, text, "a number such as 42 or 3.5")
    try:
        if re.fullmatch(r"[+-]?\d+", stripped):
            return int(stripped)
        number = float(stripped)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return int(number) if number.is_integer() else number
    except ValueError:
        raise ShapeError(field.id, text, "a finite number with at most 4300 digits") from None


def _shape_date(field: FieldDef, text: str) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        if not _DATE.fullmatch(stripped):
            raise ValueError
        return date.fromisoformat(stripped).isoformat()
    except ValueError:
        raise ShapeError(field.id, text, "a calendar date YYYY-MM-DD, e.g. 2026-11-24") from None


def _format_datetime(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    millis = moment.microsecond // 1000
    # strftime's %Y does not pad years below 1000 on every platform, so format by hand.
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    clock = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{millis:03d}"
    return f"{day}T{clock}{sign}{hours:02d}{mins:02d}"


def _shape_datetime(field: FieldDef, text: str) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        # Only ISO shapes that start with a full date: fromisoformat also takes oddities we refuse.
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].+", stripped):
            raise ValueError
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ShapeError(field.id, text, _DATETIME_EXPECTED) from None
    offset = moment.utcoffset()
    # A time without an offset means "the Jira user's zone", which a pure shaper cannot know.
    if offset is None or offset.total_seconds() % 60:
        raise ShapeError(field.id, text, _DATETIME_EXPECTED)
    return _format_datetime(moment)


def _shape_json(field: FieldDef, text: str) -> JSON:
    try:
        return loads_strict(text)
    except ValueError as exc:
        reason = f" ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else f" ({exc})"
        raise ShapeError(field.id, text, f"valid JSON{reason}") from None


def _named(key: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        return {key: text.strip()} if text.strip() else None

    return shaper


def _required_named(key: str, example: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        if not text.strip():
            raise ShapeError(field.id, text, f"a non-empty {example}")
        return {key: text.strip()}

    return shaper


def _named_list(key: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        return [{key: part} for part in _split_list(text)]

    return shaper


def _shape_parent(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    if not _ISSUE_KEY.fullmatch(stripped):
        raise ShapeError(field.id, text, "an issue key such as OPS-1")
    return {"key": stripped}


def _shape_user(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    return {"accountId": stripped} if style == "cloud" else {"name": stripped}


def _shape_text(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
    return text_to_adf(text) if fmt == "adf" else text


_SHAPERS: dict[FieldType, Callable[[FieldDef, str, UserStyle, TextFormat], JSON]] = {
    FieldType.STRING: lambda f, t, s, m: t,
    FieldType.TEXT: _shape_text,
    FieldType.NUMBER: lambda f, t, s, m: _shape_number(f, t),
    FieldType.OPTION: _named("value"),
    FieldType.MULTI_OPTION: _named_list("value"),
    FieldType.USER: _shape_user,
    FieldType.DATE: lambda f, t, s, m: _shape_date(f, t),
    FieldType.DATETIME: lambda f, t, s, m: _shape_datetime(f, t),
    FieldType.LABELS: lambda f, t, s, m: _split_list(t),
    FieldType.JSON: lambda f, t, s, m: _shape_json(f, t),
    FieldType.PROJECT: _required_named("key", "project key such as OPS"),
    FieldType.ISSUETYPE: _required_named("name", "issue type name such as Task"),
    FieldType.PRIORITY: _named("name"),
    FieldType.COMPONENTS: _named_list("name"),
    FieldType.VERSIONS: _named_list("name"),
    FieldType.PARENT: _shape_parent,
}


def shape(
    field: FieldDef,
    text: str,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> JSON:
    """The JSON Jira wants for this field and text value; raises ShapeError when there is none."""
    return _SHAPERS[field.type](field, text, user_style, text_format)


# --- unshaping --------------------------------------------------------------------------------


def _name_of(value: JSON, key: str) -> str | None:
    if isinstance(value, dict) and list(value) == [key] and isinstance(value[key], str):
        return str(value[key])
    return None


def _join_names(value: JSON, key: str | None) -> str | None:
    if not isinstance(value, list):
        return None
    parts: list[str] = []
    for item in value:
        part = item if key is None else _name_of(item, key)
        if not isinstance(part, str):
            return None
        parts.append(part)
    return ",".join(parts)


def _candidate(field: FieldDef, value: JSON, style: UserStyle, fmt: TextFormat) -> str | None:
    kind = field.type
    if kind == FieldType.JSON:
        return compact_json(value)
    if value is None:
        return ""
    if kind == FieldType.STRING:
        return value if isinstance(value, str) else None
    if kind == FieldType.TEXT:
        if fmt == "adf":
            return adf_to_text(value) if isinstance(value, dict) else None
        return value if isinstance(value, str) else None
    if kind == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return repr(value) if isinstance(value, float) else str(value)
    if kind in {FieldType.DATE, FieldType.DATETIME}:
        return value if isinstance(value, str) else None
    if kind == FieldType.LABELS:
        return _join_names(value, None)
    if kind in {FieldType.COMPONENTS, FieldType.VERSIONS}:
        return _join_names(value, "name")
    if kind == FieldType.MULTI_OPTION:
        return _join_names(value, "value")
    keys = {
        FieldType.OPTION: "value",
        FieldType.PROJECT: "key",
        FieldType.ISSUETYPE: "name",
        FieldType.PRIORITY: "name",
        FieldType.PARENT: "key",
        FieldType.USER: "accountId" if style == "cloud" else "name",
    }
    return _name_of(value, keys[kind])


def unshape(
    field: FieldDef,
    value: JSON,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> str | None:
    """The table text that shapes back to exactly this JSON, or None when there is none."""
    try:
        candidate = _candidate(field, value, user_style, text_format)
        if candidate is None:
            return None
        reshaped = shape(field, candidate, user_style, text_format)
    except (ShapeError, ValueError, RecursionError):
        return None
    return candidate if same_json(reshaped, value) else None


def canonical(
    field: FieldDef,
    text: str,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> str:
    """The normal form of a text value (`2.0` -> `2`, `a, b` -> `a,b`); raises ShapeError if invalid."""
    shaped = shape(field, text, user_style, text_format)
    normal = unshape(field, shaped, user_style, text_format)
    return text if normal is None else normal
