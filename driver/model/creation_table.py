"""The Ticket Creation Table and the Create Query: two views of one create body, kept in sync.

The table is a list of rows (field id, display name, type, text value, mode). The Create Query is
the JSON body `POST .../issue` would send: `{"fields": {...}}` with the Included rows in table
order, plus any other top-level keys (`update`, `properties`, `transition`, ...) passed through
untouched at the position they had.

Editing the table regenerates the query (`table_to_query`); editing the query regenerates the
table (`query_to_table`):

- a field that vanishes from the query stays in the table as an Excluded row, where it was;
- a field the previous table or the catalog knows keeps that row's type when the JSON can be
  written as that type's text; otherwise (and for fields nobody knows) the row becomes raw JSON
  (type `json`, value = the compact JSON text), so nothing is ever lost;
- invalid query text raises QueryError and changes nothing.

Both round trips are identities for every table built through this module's functions and every
valid query: table -> query -> table and query -> table -> query (key order included).

Values are stored in their canonical text form (`edit_value` normalises `2.0` to `2`,
`a, b` to `a,b`), which is what makes table -> query -> table exact.

The seed table (`seed_table`) is what a fresh driver shows: project and issue type from `[ticket]`,
summary "Alarm from jira-driver", and description, priority (Medium), labels and assignee as
Excluded rows ready to be switched on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from driver.errors import QueryError, ShapeError
from driver.model.fields import FieldCatalog, FieldDef, FieldType
from driver.model.shaping import (
    JSON,
    MAX_JSON_DEPTH,
    TextFormat,
    UserStyle,
    canonical,
    compact_json,
    loads_strict,
    same_json,
    shape,
    too_deep,
    unshape,
)

__all__ = [
    "SEED_SUMMARY",
    "Mode",
    "TicketRow",
    "TicketTable",
    "add_row",
    "edit_value",
    "included_fields",
    "parse_query",
    "query_to_table",
    "remove_row",
    "render_query",
    "render_table_query",
    "seed_table",
    "set_mode",
    "table_to_query",
    "toggle_mode",
]

SEED_SUMMARY = "Alarm from jira-driver"


class Mode(StrEnum):
    """Whether a row reaches the Create Query."""

    INCLUDED = "Included"
    EXCLUDED = "Excluded"


class TicketRow(BaseModel):
    """One row of the Ticket Creation Table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    """Jira field id, e.g. summary or customfield_10010."""
    name: str
    """Display name shown in the table."""
    type: FieldType
    """How the value is shaped; `json` for raw-JSON rows."""
    value: str = ""
    """The value as text, in canonical form."""
    mode: Mode = Mode.INCLUDED

    def field_def(self) -> FieldDef:
        """The row as a field definition (its own type, which may differ from the catalog's)."""
        return FieldDef(self.field, self.name, self.type)


class TicketTable(BaseModel):
    """The whole table plus the non-field parts of the Create Query; stored and served as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: tuple[TicketRow, ...] = ()
    extras: dict[str, JsonValue] = Field(default_factory=dict)
    """Top-level query keys other than `fields` (update, properties, transition...), in order."""
    fields_position: int = Field(default=0, ge=0)
    """Where `fields` sits among the top-level keys, so a hand-written order survives."""

    @model_validator(mode="after")
    def _consistent(self) -> TicketTable:
        seen: set[str] = set()
        for row in self.rows:
            if row.field in seen:
                raise ValueError(f"field {row.field!r} has two rows")
            seen.add(row.field)
        if "fields" in self.extras:
            raise ValueError("`fields` is made from the rows, it cannot be an extra key")
        if self.fields_position > len(self.extras):
            raise ValueError("fields_position is past the last extra key")
        return self

    def row(self, field_id: str) -> TicketRow | None:
        """The row of this field id, or None."""
        for row in self.rows:
            if row.field == field_id:
                return row
        return None


def table_target(table: TicketTable) -> tuple[str, str]:
    """The project and issue type the table's creates name ('' for one it leaves out)."""

    def value(field_id: str) -> str:
        row = next((r for r in table.rows if r.field == field_id and r.mode == Mode.INCLUDED), None)
        return row.value.strip() if row is not None else ""

    return value("project"), value("issuetype")


def with_target(table: TicketTable, project: str, issue_type: str) -> TicketTable:
    """The table with its project and issue type rows set to these values (Included); other rows
    as they are, and a row the table lacks added as the seed has it."""
    seed = {row.field: row for row in seed_table(project, issue_type).rows[:2]}
    rows = [seed.get(row.field, row) for row in table.rows]
    missing = [row for field, row in seed.items() if all(r.field != field for r in table.rows)]
    return table.model_copy(update={"rows": tuple(missing + rows)})


def seed_table(project: str, issue_type: str) -> TicketTable:
    """The table of a fresh driver, from `[ticket] project` and `issue_type`."""
    system = FieldCatalog.system()

    def row(field_id: str, value: str, mode: Mode = Mode.INCLUDED) -> TicketRow:
        f = system.get(field_id)
        assert f is not None
        return TicketRow(field=f.id, name=f.name, type=f.type, value=value, mode=mode)

    return TicketTable(
        rows=(
            row("project", project.strip()),
            row("issuetype", issue_type.strip()),
            row("summary", SEED_SUMMARY),
            row("description", "", Mode.EXCLUDED),
            row("priority", "Medium", Mode.EXCLUDED),
            row("labels", "", Mode.EXCLUDED),
            row("assignee", "", Mode.EXCLUDED),
        )
    )


def _index(table: TicketTable, field_id: str) -> int:
    for i, row in enumerate(table.rows):
        if row.field == field_id:
            return i
    raise KeyError(f"no row for field {field_id!r} in the Ticket Creation Table")


def _replace(table: TicketTable, index: int, row: TicketRow) -> TicketTable:
    rows = list(table.rows)
    rows[index] = row
    return table.model_copy(update={"rows": tuple(rows)})


def add_row(
    table: TicketTable,
    field: FieldDef,
    value: str = "",
    mode: Mode = Mode.INCLUDED,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> TicketTable:
    """Add Field: a table with this field's row appended, or its existing row replaced in place.

    Raises ShapeError when the value does not fit the field's type.
    """
    text = canonical(field, value, user_style, text_format)
    new = TicketRow(field=field.id, name=field.name, type=field.type, value=text, mode=mode)
    try:
        return _replace(table, _index(table, field.id), new)
    except KeyError:
        return table.model_copy(update={"rows": (*table.rows, new)})


def remove_row(table: TicketTable, field_id: str) -> TicketTable:
    """A table without this field's row; raises KeyError when there is none."""
    index = _index(table, field_id)
    return table.model_copy(update={"rows": table.rows[:index] + table.rows[index + 1 :]})


def set_mode(table: TicketTable, field_id: str, mode: Mode) -> TicketTable:
    """A table with this row's mode set; raises KeyError for an unknown field id."""
    index = _index(table, field_id)
    return _replace(table, index, table.rows[index].model_copy(update={"mode": mode}))


def toggle_mode(table: TicketTable, field_id: str) -> TicketTable:
    """A table with this row switched between Included and Excluded; KeyError if unknown."""
    row = table.rows[_index(table, field_id)]
    return set_mode(table, field_id, Mode.EXCLUDED if row.mode == Mode.INCLUDED else Mode.INCLUDED)


def edit_value(
    table: TicketTable,
    field_id: str,
    value: str,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> TicketTable:
    """A table with this row's value replaced (canonical form); ShapeError if invalid, KeyError if unknown."""
    index = _index(table, field_id)
    row = table.rows[index]
    text = canonical(row.field_def(), value, user_style, text_format)
    return _replace(table, index, row.model_copy(update={"value": text}))


def included_fields(
    table: TicketTable,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> dict[str, JSON]:
    """The Included rows as a `fields` object, in table order; ShapeError for an invalid stored value."""
    return {
        row.field: shape(row.field_def(), row.value, user_style, text_format)
        for row in table.rows
        if row.mode == Mode.INCLUDED
    }


def table_to_query(
    table: TicketTable,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> dict[str, JSON]:
    """The Create Query for this table: Included rows in `fields`, extras passed through in place."""
    fields = included_fields(table, user_style, text_format)
    items = list(table.extras.items())
    position = min(table.fields_position, len(items))
    items.insert(position, ("fields", fields))
    return dict(items)


def render_query(query: Mapping[str, JSON]) -> str:
    """The query as the Create Query box shows it: 2-space indented JSON, keys in their order."""
    return json.dumps(query, indent=2, ensure_ascii=False, allow_nan=False)


def render_table_query(
    table: TicketTable,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> str:
    """render_query(table_to_query(...)) in one call."""
    return render_query(table_to_query(table, user_style, text_format))


def parse_query(query: str | Mapping[str, Any]) -> dict[str, JSON]:
    """The query text as a checked dict; QueryError with 1-based line/column when it is not valid."""
    if isinstance(query, str):
        try:
            data = loads_strict(query)
        except json.JSONDecodeError as exc:
            raise QueryError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except ValueError as exc:
            raise QueryError(f"not valid JSON: {exc}") from None
    else:
        data = dict(query)
        if too_deep(data):
            raise QueryError(f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(data, dict):
        raise QueryError('the query must be a JSON object such as {"fields": {...}}')
    if "fields" not in data:
        raise QueryError("the query needs a `fields` object")
    if not isinstance(data["fields"], dict):
        raise QueryError("`fields` must be an object")
    try:
        compact_json(data)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"not JSON: {exc}") from None
    return data


def _row_for(
    field_id: str,
    value: JSON,
    previous: TicketRow | None,
    catalog: FieldCatalog,
    user_style: UserStyle,
    text_format: TextFormat,
) -> TicketRow:
    known = catalog.get(field_id)
    name = previous.name if previous else known.name if known else field_id
    if previous is not None and previous.type != FieldType.JSON:
        # The row's own text still gives this JSON (an `id:` spelling, which unshape never
        # writes): keep it as it was written.
        try:
            same = same_json(shape(previous.field_def(), previous.value, user_style, text_format), value)
        except ShapeError:
            same = False
        if same:
            return TicketRow(field=field_id, name=name, type=previous.type, value=previous.value)
    # The previous row's type first: a row someone made raw JSON must stay raw JSON.
    for candidate in (previous.field_def() if previous else None, known):
        if candidate is None:
            continue
        text = unshape(candidate, value, user_style, text_format)
        if text is not None:
            return TicketRow(field=field_id, name=name, type=candidate.type, value=text)
    return TicketRow(field=field_id, name=name, type=FieldType.JSON, value=compact_json(value))


def query_to_table(
    query: str | Mapping[str, Any],
    previous_table: TicketTable,
    catalog: FieldCatalog,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> TicketTable:
    """The table for an edited Create Query; QueryError (and nothing changes) when it is invalid."""
    data = parse_query(query)
    fields: dict[str, JSON] = data["fields"]
    previous = {row.field: row for row in previous_table.rows}

    # Rows that vanished from the query stay, Excluded, right after the row they followed.
    leading: list[TicketRow] = []
    trailing: dict[str, list[TicketRow]] = {}
    anchor: str | None = None
    for row in previous_table.rows:
        if row.field in fields:
            anchor = row.field
            continue
        kept = row if row.mode == Mode.EXCLUDED else row.model_copy(update={"mode": Mode.EXCLUDED})
        (trailing.setdefault(anchor, []) if anchor is not None else leading).append(kept)

    rows = list(leading)
    for field_id, value in fields.items():
        rows.append(_row_for(field_id, value, previous.get(field_id), catalog, user_style, text_format))
        rows.extend(trailing.get(field_id, ()))

    keys = list(data)
    extras = {k: v for k, v in data.items() if k != "fields"}
    try:
        return TicketTable(rows=tuple(rows), extras=extras, fields_position=keys.index("fields"))
    except ValidationError as exc:  # defensive: parse_query already refused what pydantic would
        raise QueryError(f"not a ticket body: {exc.errors()[0]['msg']}") from None


def unknown_fields(table: TicketTable, previous: TicketTable, catalog: FieldCatalog) -> list[str]:
    """The fields of an edited table (query_to_table's) that are neither rows of the previous table
    nor in the catalog: what a Create Query typed by hand gets refused for, as an Advanced command
    naming an unknown field is (else each CREATE after it is refused by Jira, long after)."""
    before = {row.field for row in previous.rows}
    return [row.field for row in table.rows if row.field not in before and catalog.get(row.field) is None]


def check_value(
    field: FieldDef,
    value: str,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> str | ShapeError:
    """The canonical value, or the ShapeError explaining why not (for live validation in editors)."""
    try:
        return canonical(field, value, user_style, text_format)
    except ShapeError as exc:
        return exc
