"""The Ticket Creation Table <-> Create Query sync: editing functions, errors, and property tests that
table -> query -> table and query -> table -> query are identities."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from driver.errors import QueryError, ShapeError
from driver.model.creation_table import (
    SEED_SUMMARY,
    Mode,
    TicketRow,
    TicketTable,
    add_row,
    edit_value,
    query_to_table,
    remove_row,
    render_query,
    render_table_query,
    seed_table,
    set_mode,
    table_to_query,
    toggle_mode,
)
from driver.model.fields import SYSTEM_FIELDS, FieldCatalog, FieldDef, FieldType
from driver.model.shaping import TextFormat, UserStyle, compact_json, same_json

SEVERITY = FieldDef("customfield_10010", "Alarm Severity", FieldType.OPTION)
CATALOG = FieldCatalog.system().with_field(SEVERITY)


def test_seed_table() -> None:
    table = seed_table("OPS", "Incident")
    assert [(r.field, r.value, r.mode) for r in table.rows] == [
        ("project", "OPS", Mode.INCLUDED),
        ("issuetype", "Incident", Mode.INCLUDED),
        ("summary", SEED_SUMMARY, Mode.INCLUDED),
        ("description", "", Mode.EXCLUDED),
        ("priority", "Medium", Mode.EXCLUDED),
        ("labels", "", Mode.EXCLUDED),
        ("assignee", "", Mode.EXCLUDED),
    ]
    assert table_to_query(table) == {
        "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"}, "summary": SEED_SUMMARY}
    }


def test_render_query_is_indented_in_table_order() -> None:
    table = seed_table("OPS", "Task")
    assert render_table_query(table) == (
        "{\n"
        '  "fields": {\n'
        '    "project": {\n      "key": "OPS"\n    },\n'
        '    "issuetype": {\n      "name": "Task"\n    },\n'
        '    "summary": "Alarm from jira-driver"\n'
        "  }\n"
        "}"
    )
    assert render_query({"b": 1, "a": "é"}) == '{\n  "b": 1,\n  "a": "é"\n}'


def test_editing_rows_regenerates_the_query() -> None:
    table = seed_table("OPS", "Task")
    table = toggle_mode(table, "priority")
    table = edit_value(table, "priority", "High")
    table = add_row(table, SEVERITY, "Major")
    table = add_row(table, FieldCatalog.system().resolve("labels") or SEVERITY, " a, b ")
    table = set_mode(table, "summary", Mode.EXCLUDED)
    assert table.row("labels") == TicketRow(field="labels", name="Labels", type=FieldType.LABELS, value="a,b")
    assert table_to_query(table) == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "priority": {"name": "High"},
            "labels": ["a", "b"],
            "customfield_10010": {"value": "Major"},
        }
    }
    table = remove_row(table, "customfield_10010")
    assert "customfield_10010" not in table_to_query(table)["fields"]


def test_edit_value_refuses_bad_values_and_unknown_rows() -> None:
    table = seed_table("OPS", "Task")
    table = add_row(table, FieldCatalog.system().resolve("duedate") or SEVERITY, "", Mode.EXCLUDED)
    with pytest.raises(ShapeError) as caught:
        edit_value(table, "duedate", "2026-02-30")
    assert caught.value.field == "duedate"
    with pytest.raises(KeyError):
        edit_value(table, "nope", "x")
    with pytest.raises(KeyError):
        toggle_mode(table, "nope")
    with pytest.raises(ShapeError):
        add_row(table, SEVERITY.__class__("customfield_1", "N", FieldType.NUMBER), "ten")


def test_user_style_and_adf_apply_when_the_query_is_made() -> None:
    table = seed_table("OPS", "Task")
    table = edit_value(set_mode(table, "assignee", Mode.INCLUDED), "assignee", "abc")
    table = edit_value(set_mode(table, "description", Mode.INCLUDED), "description", "x")
    cloud = table_to_query(table, "cloud", "adf")["fields"]
    assert cloud["assignee"] == {"accountId": "abc"}
    assert cloud["description"]["type"] == "doc"
    assert table_to_query(table)["fields"]["assignee"] == {"name": "abc"}


def test_query_edits_keep_vanished_fields_as_excluded_rows() -> None:
    table = seed_table("OPS", "Task")
    query = json.dumps(
        {
            "fields": {
                "project": {"key": "OPS"},
                "priority": {"name": "High"},
                "summary": "Edited",
                "customfield_10010": {"value": "Minor"},
                "customfield_99999": {"any": ["thing"]},
                "labels": ["a b"],
            },
            "update": {"comment": [{"add": {"body": "hi"}}]},
        }
    )
    new = query_to_table(query, table, CATALOG)
    assert [(r.field, r.type, r.value, r.mode) for r in new.rows] == [
        ("project", FieldType.PROJECT, "OPS", Mode.INCLUDED),
        ("issuetype", FieldType.ISSUETYPE, "Task", Mode.EXCLUDED),
        ("priority", FieldType.PRIORITY, "High", Mode.INCLUDED),
        ("summary", FieldType.STRING, "Edited", Mode.INCLUDED),
        ("description", FieldType.TEXT, "", Mode.EXCLUDED),
        ("customfield_10010", FieldType.OPTION, "Minor", Mode.INCLUDED),
        ("customfield_99999", FieldType.JSON, '{"any":["thing"]}', Mode.INCLUDED),
        ("labels", FieldType.LABELS, "a b", Mode.INCLUDED),
        ("assignee", FieldType.USER, "", Mode.EXCLUDED),
    ]
    assert new.row("customfield_10010") == TicketRow(
        field="customfield_10010", name="Alarm Severity", type=FieldType.OPTION, value="Minor"
    )
    assert new.row("customfield_99999") is not None
    assert new.extras == {"update": {"comment": [{"add": {"body": "hi"}}]}}
    assert list(table_to_query(new)) == ["fields", "update"]


def test_query_values_the_type_cannot_express_become_raw_json() -> None:
    table = seed_table("OPS", "Task")
    new = query_to_table({"fields": {"priority": {"id": "3"}, "project": {"key": "OPS"}}}, table, CATALOG)
    row = new.row("priority")
    assert row is not None
    assert (row.type, row.value, row.name) == (FieldType.JSON, '{"id":"3"}', "Priority")
    # The row stays raw JSON even when the value could be typed again: it was made raw on purpose.
    again = query_to_table({"fields": {"priority": {"name": "Low"}}}, new, CATALOG)
    assert again.row("priority") == TicketRow(
        field="priority", name="Priority", type=FieldType.JSON, value='{"name":"Low"}'
    )


def test_top_level_key_order_survives() -> None:
    query = {"transition": {"id": "5"}, "fields": {"summary": "x"}, "properties": [{"key": "k", "value": 1}]}
    table = query_to_table(query, TicketTable(), CATALOG)
    assert table.fields_position == 1
    assert list(table_to_query(table)) == ["transition", "fields", "properties"]
    assert render_query(table_to_query(table)) == render_query(query)


@pytest.mark.parametrize(
    ("text", "reason", "line", "column"),
    [
        ('{"fields": {"summary": "x",}}', "not valid JSON", 1, 28),
        ('{\n  "fields": {\n    "summary": x\n  }\n}', "not valid JSON", 3, 16),
        ("", "not valid JSON", 1, 1),
        ('{"fields": NaN}', "not valid JSON", None, None),
        ("[1, 2]", "must be a JSON object", None, None),
        ('{"update": {}}', "needs a `fields` object", None, None),
        ('{"fields": []}', "`fields` must be an object", None, None),
        ('{"fields": "x"}', "`fields` must be an object", None, None),
        ("[" * 100_000, "nested deeper than 100 levels", None, None),
        ('{"fields": {}, "update": ' + "[" * 101 + "]" * 101 + "}", "nested deeper", None, None),
    ],
)
def test_invalid_query_is_a_query_error(text: str, reason: str, line: int | None, column: int | None) -> None:
    table = seed_table("OPS", "Task")
    before = table.model_dump(mode="json")
    with pytest.raises(QueryError) as caught:
        query_to_table(text, table, CATALOG)
    assert reason in caught.value.reason
    assert (caught.value.line, caught.value.column) == (line, column)
    assert table.model_dump(mode="json") == before


def test_deep_but_allowed_nesting_round_trips() -> None:
    deep: Any = []
    for _ in range(96):  # the body, `fields` and 97 lists: 99 levels
        deep = [deep]
    query = {"fields": {"customfield_1": deep}, "update": deep}
    table = query_to_table(query, TicketTable(), CATALOG)
    assert same_json(table_to_query(table), query)
    with pytest.raises(QueryError, match="nested deeper"):
        query_to_table({"fields": {"customfield_1": [[deep]]}}, TicketTable(), CATALOG)


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from(list('{}[]":,fieldsupdat 01.-eE\\n')), max_size=60))
def test_fuzz_query_text_yields_table_or_query_error(text: str) -> None:
    with contextlib.suppress(QueryError):
        query_to_table(text, seed_table("OPS", "Task"), CATALOG)


def test_table_model_validation() -> None:
    row = TicketRow(field="summary", name="Summary", type=FieldType.STRING, value="x")
    with pytest.raises(ValidationError, match="two rows"):
        TicketTable(rows=(row, row))
    with pytest.raises(ValidationError, match="cannot be an extra key"):
        TicketTable(extras={"fields": {}})
    with pytest.raises(ValidationError, match="past the last"):
        TicketTable(fields_position=1)


def test_serialised_table_round_trip() -> None:
    table = query_to_table(
        {"update": {"labels": [{"add": "x"}]}, "fields": {"summary": "x", "customfield_1": 1.0}},
        seed_table("OPS", "Task"),
        CATALOG,
    )
    dumped = table.model_dump(mode="json")
    assert dumped["rows"][0] == {
        "field": "project",
        "name": "Project",
        "type": "project",
        "value": "OPS",
        "mode": "Excluded",
    }
    text = json.dumps(dumped)
    again = TicketTable.model_validate(json.loads(text))
    assert again == table
    assert same_json(table_to_query(again), table_to_query(table))


# --- properties -------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_word = st.text(alphabet=st.characters(blacklist_characters=",", blacklist_categories=["Cs"]), max_size=8)
_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))

_TEXT_FOR: dict[FieldType, st.SearchStrategy[str]] = {
    FieldType.STRING: st.text(max_size=20),
    FieldType.TEXT: st.text(max_size=20),
    FieldType.NUMBER: st.one_of(
        st.integers().map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr), st.just("")
    ),
    FieldType.OPTION: st.text(max_size=10),
    FieldType.MULTI_OPTION: st.lists(_word, max_size=3).map(",".join),
    FieldType.USER: st.text(max_size=10),
    FieldType.DATE: st.one_of(st.dates().map(lambda d: d.isoformat()), st.just("")),
    FieldType.DATETIME: st.datetimes(timezones=_offsets).map(lambda d: d.isoformat()),
    FieldType.LABELS: st.lists(_word, max_size=3).map(",".join),
    FieldType.JSON: _json.map(compact_json),
    FieldType.PROJECT: st.from_regex(r"[A-Z][A-Z0-9]{1,5}", fullmatch=True),
    FieldType.ISSUETYPE: st.sampled_from(["Task", "Bug", "Incident", "id:10001"]),
    FieldType.PRIORITY: st.sampled_from(["", "High", "Low", "id:3", "name:id:3"]),
    FieldType.COMPONENTS: st.lists(_word | st.just("id:10000"), max_size=3).map(",".join),
    FieldType.VERSIONS: st.lists(_word, max_size=3).map(",".join),
    FieldType.PARENT: st.one_of(st.from_regex(r"[A-Z]{2,4}-[1-9][0-9]{0,3}", fullmatch=True), st.just("")),
}

_field_defs = st.one_of(
    st.sampled_from(list(SYSTEM_FIELDS) + [SEVERITY]),
    # A known field typed as raw JSON, as query edits leave it.
    st.sampled_from(list(SYSTEM_FIELDS)).map(lambda d: FieldDef(d.id, d.name, FieldType.JSON)),
    st.builds(
        FieldDef,
        st.integers(min_value=10000, max_value=10020).map(lambda n: f"customfield_{n}"),
        st.text(min_size=1, max_size=8),
        st.sampled_from(list(FieldType)),
    ),
)
_styles: st.SearchStrategy[tuple[UserStyle, TextFormat]] = st.sampled_from(
    [("datacenter", "plain"), ("cloud", "adf"), ("cloud", "plain")]
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[TicketTable, Any, Any]:
    style, fmt = draw(_styles)
    table = TicketTable()
    for definition in draw(st.lists(_field_defs, max_size=8, unique_by=lambda d: d.id)):
        text = draw(_TEXT_FOR[definition.type])
        mode = draw(st.sampled_from(list(Mode)))
        try:
            table = add_row(table, definition, text, mode, style, fmt)
        except ShapeError:
            continue
    extra_keys = draw(st.lists(st.sampled_from(["update", "properties", "transition", "x"]), unique=True))
    extras = {key: draw(_json) for key in extra_keys}
    position = draw(st.integers(min_value=0, max_value=len(extras)))
    return TicketTable(rows=table.rows, extras=extras, fields_position=position), style, fmt


@settings(max_examples=200, deadline=None)
@given(tables())
def test_table_to_query_to_table_is_identity(case: tuple[TicketTable, Any, Any]) -> None:
    table, style, fmt = case
    query = table_to_query(table, style, fmt)
    assert query_to_table(query, table, CATALOG, style, fmt) == table
    assert query_to_table(render_query(query), table, CATALOG, style, fmt) == table
    assert TicketTable.model_validate(json.loads(json.dumps(table.model_dump(mode="json")))) == table


_field_ids = st.one_of(
    st.sampled_from([f.id for f in SYSTEM_FIELDS] + [SEVERITY.id]),
    st.text(min_size=1, max_size=6),
)
_typed_values = st.one_of(
    _json,
    st.builds(lambda v: {"name": v}, st.text(max_size=6)),
    st.builds(lambda v: {"value": v}, st.text(max_size=6)),
    st.builds(lambda v: {"key": v}, st.sampled_from(["OPS", "OPS-1", " x"])),
    st.lists(st.builds(lambda v: {"name": v}, _word), max_size=3),
    st.lists(_word, max_size=3),
    st.sampled_from(["2026-11-24", "2026-11-24T10:00:00.000+0000", "2026-11-24T10:00:00Z"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(st.dictionaries(_field_ids, _typed_values, max_size=8))
    extras = draw(
        st.dictionaries(st.sampled_from(["update", "properties", "transition", "y"]), _json, max_size=3)
    )
    items = list(extras.items())
    items.insert(draw(st.integers(min_value=0, max_value=len(items))), ("fields", fields))
    return dict(items)


@settings(max_examples=200, deadline=None)
@given(queries(), st.one_of(st.just(None), tables()), _styles)
def test_query_to_table_to_query_is_identity(
    query: dict[str, Any], previous: tuple[TicketTable, Any, Any] | None, style: tuple[Any, Any]
) -> None:
    user_style, fmt = style
    before = previous[0] if previous else seed_table("OPS", "Task")
    table = query_to_table(render_query(query), before, CATALOG, user_style, fmt)
    again = table_to_query(table, user_style, fmt)
    assert same_json(again, query)
    assert render_query(again) == render_query(query)
    # Rows that vanished from the query are all still there, excluded.
    assert {r.field for r in before.rows} <= {r.field for r in table.rows}
