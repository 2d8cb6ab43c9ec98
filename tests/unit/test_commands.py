"""The Advanced command language: table-driven syntax cases, every error and its position, round
trips render <-> parse, and a fuzz test that arbitrary text only yields a Command or a CommandError."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.errors import CommandError
from driver.model.commands import (
    ACTIONS,
    MAX_GUID_LENGTH,
    Action,
    Command,
    Pair,
    escape,
    parse,
    parse_command,
    render,
    resolve,
)
from driver.model.fields import FieldCatalog, FieldDef, FieldType

CATALOG = FieldCatalog.system().with_field(FieldDef("customfield_10010", "Alarm Severity", FieldType.OPTION))


def pairs(command: Command) -> list[tuple[str, str]]:
    return [(p.field, p.value) for p in command.pairs]


@pytest.mark.parametrize(
    ("text", "guid", "action", "expected"),
    [
        ("A1|CREATE|summary;Disk full|", "A1", Action.CREATE, [("summary", "Disk full")]),
        ("A1|CREATE|summary;Disk full", "A1", Action.CREATE, [("summary", "Disk full")]),
        ("A1|create|", "A1", Action.CREATE, []),
        ("A1|Update", "A1", Action.UPDATE, []),
        ("  A1  |  UPDATE  |", "A1", Action.UPDATE, []),
        ("12/345/6789|CREATE|summary;x|", "12/345/6789", Action.CREATE, [("summary", "x")]),
        (
            "9f1c2d3e-aaaa-bbbb-cccc-0123456789ab|UPDATE|comment;hi|",
            "9f1c2d3e-aaaa-bbbb-cccc-0123456789ab",
            Action.UPDATE,
            [("comment", "hi")],
        ),
        ("A|CREATE|summary;a;b;c|", "A", Action.CREATE, [("summary", "a;b;c")]),
        ("A|CREATE|summary;|", "A", Action.CREATE, [("summary", "")]),
        ("A|CREATE|summary;  spaced  |", "A", Action.CREATE, [("summary", "  spaced  ")]),
        ("A|CREATE|  Summary  ;x|", "A", Action.CREATE, [("Summary", "x")]),
        (r"A|CREATE|summary;a\|b|", "A", Action.CREATE, [("summary", "a|b")]),
        (r"A|CREATE|summary;C:\\temp|", "A", Action.CREATE, [("summary", "C:\\temp")]),
        (r"A|CREATE|description;one\ntwo|", "A", Action.CREATE, [("description", "one\ntwo")]),
        (r"A\|B|CREATE|", "A|B", Action.CREATE, []),
        ("A|CREATE|summary;x|   ", "A", Action.CREATE, [("summary", "x")]),
        ("A|CREATE|summary;x|\n", "A", Action.CREATE, [("summary", "x")]),
        ("A|CREATE|summary;x\r\n", "A", Action.CREATE, [("summary", "x")]),
        ("Ålarm ✓|CREATE|summary;Диск полон 💾|", "Ålarm ✓", Action.CREATE, [("summary", "Диск полон 💾")]),
        (
            "A|UPDATE|comment;one|priority;High|comment;two|",
            "A",
            Action.UPDATE,
            [("comment", "one"), ("priority", "High"), ("comment", "two")],
        ),
        ("G" * MAX_GUID_LENGTH + "|CREATE|", "G" * MAX_GUID_LENGTH, Action.CREATE, []),
    ],
)
def test_parse_valid(text: str, guid: str, action: Action, expected: list[tuple[str, str]]) -> None:
    command = parse(text)
    assert command.guid == guid
    assert command.action == action
    assert pairs(command) == expected


def test_ten_kilobyte_value() -> None:
    value = ("x;y " * 2560)[:10_240]
    command = parse(f"A|CREATE|description;{value}|")
    assert command.pairs[0].value == value


def test_positions_of_pairs() -> None:
    command = parse("A|CREATE|summary;Disk|  priority ;High|")
    first, second = command.pairs
    assert (first.field_position, first.value_position) == (10, 18)
    assert (second.field_position, second.value_position) == (25, 35)


def test_positions_count_escapes_in_the_raw_text() -> None:
    command = parse(r"A\|B|CREATE|summary;x|")
    assert command.pairs[0].field_position == 13


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 1, "empty GUID"),
        ("|CREATE|", 1, "empty GUID"),
        ("   |CREATE|", 1, "empty GUID"),
        ("A", 2, "missing action"),
        ("A1", 3, "missing action"),
        ("A1|", 4, "missing action"),
        ("A1|  |summary;x", 4, "missing action"),
        ("A1|DELETE|", 4, "unknown action 'DELETE'"),
        ("A1| close |", 5, "unknown action 'close'"),
        ("A1|CREATE|summary", 11, "expected field;value"),
        ("A1|CREATE|summary;x|  priority", 23, "expected field;value"),
        ("A1|CREATE|;x|", 11, "empty field name"),
        ("A1|CREATE|  ;x|", 13, "empty field name"),
        ("A1|CREATE||summary;x|", 11, "empty pair"),
        ("A1|CREATE|summary;x\\", 20, "dangling \\"),
        ("A1\\", 3, "dangling \\"),
        (r"A1|CREATE|summary;C:\temp|", 21, "unknown escape \\t"),
        (r"A1|CREATE|summary;\;|", 19, "unknown escape \\;"),
        ("G" * (MAX_GUID_LENGTH + 1) + "|CREATE|", 1, "GUID too long: 257 characters"),
        ("A\tB|CREATE|", 2, "non-printable character"),
        (r"A\nB|CREATE|", 2, "non-printable character"),
    ],
)
def test_parse_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert caught.value.position == position
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("A|CREATE|nosuch;x|", 10, "unknown field 'nosuch'"),
        ("A|CREATE|summary;x|  Nope ;y|", 22, "unknown field 'Nope'"),
        ("A|CREATE|priority;High|duedate;2026-02-30|", 32, "duedate"),
        ("A|CREATE|customfield_10010;|duedate;tomorrow|", 37, "YYYY-MM-DD"),
        ("A|CREATE|comment;hello|", 10, "comments can only be added by UPDATE"),
        ("A|UPDATE|comment;   |", 18, "empty comment"),
        ("A|UPDATE|project;|", 18, "non-empty project key"),
    ],
)
def test_resolve_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text, CATALOG)
    assert caught.value.position == position
    assert reason in caught.value.reason


def test_resolve_fields_by_id_or_display_name() -> None:
    resolved = parse_command(
        "A|CREATE| SUMMARY ;Disk full|alarm severity;Major|Fix Version/s;1.0,2.0|", CATALOG
    )
    assert resolved.fields == {
        "summary": "Disk full",
        "customfield_10010": {"value": "Major"},
        "fixVersions": [{"name": "1.0"}, {"name": "2.0"}],
    }
    assert resolved.comments == ()


def test_resolve_comments_in_order_and_last_value_wins() -> None:
    resolved = parse_command(
        "A|update|comment;first|priority;Low|COMMENT;second; with semicolon|priority;High|", CATALOG
    )
    assert resolved.action == Action.UPDATE
    assert resolved.fields == {"priority": {"name": "High"}}
    assert resolved.comments == ("first", "second; with semicolon")


def test_resolve_user_style() -> None:
    cloud = parse_command("A|UPDATE|assignee;5b10ac8d82e05b22cc7d4ef5|", CATALOG, "cloud")
    dc = parse_command("A|UPDATE|assignee;jsmith|", CATALOG, "datacenter")
    assert cloud.fields == {"assignee": {"accountId": "5b10ac8d82e05b22cc7d4ef5"}}
    assert dc.fields == {"assignee": {"name": "jsmith"}}


def test_resolve_adf_for_v3() -> None:
    resolved = parse_command(r"A|CREATE|description;a\nb|", CATALOG, text_format="adf")
    assert resolved.fields["description"]["type"] == "doc"


def test_every_action_is_in_the_table() -> None:
    assert {spec.action for spec in ACTIONS.values()} == set(Action)


def test_render_escapes() -> None:
    command = Command("A|B", Action.UPDATE, (Pair("summary", "a|b\\c\nd;e"),))
    assert render(command) == r"A\|B|UPDATE|summary;a\|b\\c\nd;e|"
    assert parse(render(command)) == command
    assert escape("\\|\n") == r"\\\|\n"


def _outcome(function: Callable[[str], object], text: str) -> object:
    """The result, or the CommandError; any other exception escapes and fails the test."""
    try:
        return function(text)
    except CommandError as exc:
        return exc


# --- properties -------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(list("|;\\n ab\t✓é\r") + ["\n"])
_heavy_text = st.text(alphabet=_ALPHABET, max_size=60)
_any_text = st.one_of(_heavy_text, st.text(max_size=80))

_guids = (
    st.text(min_size=1, max_size=MAX_GUID_LENGTH)
    .map(str.strip)
    .filter(lambda g: bool(g) and g.isprintable() and len(g) <= MAX_GUID_LENGTH)
)
_fields = st.text(min_size=1, max_size=20).map(str.strip).filter(lambda f: bool(f) and ";" not in f)
_values = st.text(max_size=40)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    raw_pairs = draw(st.lists(st.tuples(_fields, _values), max_size=5))
    # A last pair whose value is all spaces would be... still a pair: its `;` makes it non-empty.
    return Command(
        guid=draw(_guids),
        action=draw(st.sampled_from(list(Action))),
        pairs=tuple(Pair(f, v) for f, v in raw_pairs),
    )


@settings(max_examples=200)
@given(commands())
def test_render_then_parse_is_identity(command: Command) -> None:
    assert parse(render(command)) == command


@settings(max_examples=200)
@given(_any_text)
def test_parse_then_render_then_parse_is_stable(text: str) -> None:
    try:
        command = parse(text)
    except CommandError:
        return
    assert parse(render(command)) == command


@settings(max_examples=300)
@given(_any_text)
def test_fuzz_parse_yields_command_or_command_error(text: str) -> None:
    outcome = _outcome(parse, text)
    if isinstance(outcome, CommandError):
        assert 1 <= outcome.position <= len(text) + 1
        assert outcome.reason
    else:
        assert isinstance(outcome, Command)


@settings(max_examples=300)
@given(st.one_of(_heavy_text, st.text(max_size=80), st.builds(lambda t: "A|UPDATE|" + t, _any_text)))
def test_fuzz_parse_command_yields_resolved_or_command_error(text: str) -> None:
    outcome = _outcome(lambda t: parse_command(t, CATALOG), text)
    if isinstance(outcome, CommandError):
        assert 1 <= outcome.position <= len(text) + 1


@settings(max_examples=200)
@given(
    st.sampled_from([f.id for f in CATALOG] + [f.name for f in CATALOG]),
    st.text(alphabet=st.sampled_from(list('0123456789-:T+.,;| abHighZ{}[]"\\')), max_size=30),
)
def test_fuzz_values_of_known_fields(field: str, value: str) -> None:
    text = "A|UPDATE|" + escape(field) + ";" + escape(value) + "|"
    outcome = _outcome(lambda t: resolve(parse(t), CATALOG, "cloud", "adf"), text)
    if isinstance(outcome, CommandError):
        assert 1 <= outcome.position <= len(text) + 1


def test_the_pure_modules_import_no_io_library() -> None:
    code = (
        "import sys, driver.model.commands, driver.model.fields, driver.model.shaping, "
        "driver.model.creation_table, "
        "driver.model.requests\n"
        "heavy = ('httpx', 'sqlite_utils', 'fastapi', 'textual', 'uvicorn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
