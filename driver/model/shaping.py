"""Value shaping: the text a person types for a field becomes the JSON Jira wants, and back.

`shape(field, text)` turns `High` into `{"name": "High"}` for priority, `a,b` into `["a", "b"]` for
labels, `2026-11-24T10:00Z` into `"2026-11-24T10:00:00.000+0000"` for a datetime, and so on. A value
that cannot be shaped raises ShapeError naming the field, the value and the form expected.

`unshape(field, json)` is the inverse used when the Create Query is edited by hand: it gives the
text that shapes back to exactly that JSON, or None when no text can (then the caller keeps the
value as a raw-JSON row). Exactness is checked, not assumed: every candidate text is shaped again
and compared with the original JSON, types and key order included.

An empty text clears a field: `""` for string and text, `[]` for list types, JSON null for the
others. Project and issue type cannot be cleared, and raw JSON must parse. (What an empty value
means in a command depends on the action: driver.model.commands leaves it out of a CREATE.)

Fields whose values are Jira objects with an id or a name (project, issue type, priority,
components, versions, select options) also take an explicit id, `id:10001`, which
becomes `{"id": "10001"}`; `name:` forces the name form for a name that starts with `id:`.

Numbers are read as Jira keeps them, 64-bit floating point: ASCII digits only, and at most
2**53 in size (see MAX_NUMBER). Lengths Jira limits are counted as Jira (Java) counts them, in
UTF-16 code units (`utf16_len`, `cut_utf16`).

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
from decimal import Decimal
from typing import Any, Literal

from driver.errors import ShapeError
from driver.model.fields import FieldDef, FieldType
from driver.model.json_values import JSON

__all__ = [
    "JSON",
    "MAX_NUMBER",
    "TextFormat",
    "UserStyle",
    "adf_to_text",
    "canonical",
    "compact_json",
    "cut_utf16",
    "MAX_JSON_DEPTH",
    "loads_strict",
    "same_json",
    "shape",
    "text_format_for",
    "text_to_adf",
    "too_deep",
    "unshape",
    "user_style_for",
    "utf16_len",
]

UserStyle = Literal["cloud", "datacenter"]
TextFormat = Literal["plain", "adf"]


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


# --- lengths as Jira counts them --------------------------------------------------------------


def utf16_len(text: str) -> int:
    """The length of a text in UTF-16 code units, as Java's String.length() (and so Jira) counts it.

    A character outside the Basic Multilingual Plane (an emoji, U+1F600) counts 2.
    """
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cut_utf16(text: str, limit: int) -> str:
    """The longest start of text at most `limit` UTF-16 units long; never splits a surrogate pair.

    Cuts between code points, so an astral character is kept whole or left out whole.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit // 2 or utf16_len(text) <= limit:
        return text
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


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

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+")
_DATETIME_EXPECTED = "an ISO 8601 date-time with an offset, e.g. 2026-11-24T10:00:00.000+0000"


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


MAX_NUMBER = 2**53
"""The largest magnitude a number field takes: 9,007,199,254,740,992.

Jira stores number fields as Java doubles. Up to 2**53 every whole number is stored exactly;
beyond it Jira would keep a different number than the one sent (12345678901234567890 becomes
12345678901234567168) without saying so, so the driver refuses it at intake instead.
"""
_NUMBER_RANGE = (
    f"a finite number Jira can store, between -{MAX_NUMBER} and {MAX_NUMBER} (at most 16 digits "
    "before the point; Jira keeps numbers as 64-bit floating point)"
)


def _shape_number(field: FieldDef, text: str) -> JSON:
    stripped = text.strip()
    if not stripped:
        return None
    if not _NUMBER.fullmatch(stripped):
        if any(ch.isdigit() and not ("0" <= ch <= "9") for ch in stripped):
            raise ShapeError(field.id, text, "a number written with the digits 0-9, such as 42 or 3.5")
        raise ShapeError(field.id, text, "a number such as 42 or 3.5")
    # Decimal reads any length of digits exactly (int() stops at 4,300 digits), so the range
    # check sees the number as written, not as float() rounded it.
    try:
        exact = Decimal(stripped)
        too_big = exact.copy_abs() > MAX_NUMBER
        number = float(exact)
    except ArithmeticError:  # an exponent past what decimal compares (1e99999999999999999999)
        too_big, number = True, math.inf
    if too_big:
        raise ShapeError(field.id, text, _NUMBER_RANGE)
    if number == 0 and exact != 0:
        raise ShapeError(field.id, text, "a number Jira can store: this one is too close to zero")
    return int(number) if number.is_integer() else number


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


_ID_FORM = "id:"
_NAME_FORM = "name:"
_ID_EXAMPLE = "an id of digits after id:, e.g. id:10001"


def _reference(field: FieldDef, text: str, key: str, item: str) -> dict[str, JSON]:
    """`{key: item}`, `{"id": N}` for `id:N`, `{key: rest}` for `name:rest` (item is stripped)."""
    lowered = item.lower()
    if lowered.startswith(_ID_FORM):
        ident = item[len(_ID_FORM) :].strip()
        # Jira's ids of priorities, types, options, components, versions and projects are numbers.
        if not (ident.isascii() and ident.isdigit()):
            raise ShapeError(field.id, text, _ID_EXAMPLE)
        return {"id": ident}
    if lowered.startswith(_NAME_FORM):
        name = item[len(_NAME_FORM) :].strip()
        if not name:
            raise ShapeError(field.id, text, f"a name after {_NAME_FORM}")
        return {key: name}
    return {key: item}


def _named(key: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        return _reference(field, text, key, text.strip()) if text.strip() else None

    return shaper


def _required_named(key: str, example: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        if not text.strip():
            raise ShapeError(field.id, text, f"a non-empty {example}")
        return _reference(field, text, key, text.strip())

    return shaper


def _named_list(key: str) -> Callable[[FieldDef, str, UserStyle, TextFormat], JSON]:
    def shaper(field: FieldDef, text: str, style: UserStyle, fmt: TextFormat) -> JSON:
        return [_reference(field, text, key, part) for part in _split_list(text)]

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


def _name_of(value: JSON, key: str, reference: bool = True) -> str | None:
    """The text of `{key: name}`; `name:` in front when the name itself reads as an id or name form.

    An `{"id": ...}` object gives None: names are the table's spelling, and a query edited to
    hold an id keeps it as a raw JSON row (or as the row's own `id:` text, see ticket_table).
    """
    if isinstance(value, dict) and list(value) == [key] and isinstance(value[key], str):
        name = str(value[key])
        if reference and name.strip().lower().startswith((_ID_FORM, _NAME_FORM)):
            return _NAME_FORM + name
        return name
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
    if kind == FieldType.USER:
        return _name_of(value, "accountId" if style == "cloud" else "name", reference=False)
    if kind == FieldType.PARENT:
        return _name_of(value, "key", reference=False)
    keys = {
        FieldType.OPTION: "value",
        FieldType.PROJECT: "key",
        FieldType.ISSUETYPE: "name",
        FieldType.PRIORITY: "name",
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
