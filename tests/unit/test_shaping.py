"""Value shaping for every field type, good and bad values, the exact inverse, and ADF."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.errors import ShapeError
from driver.model.fields import FieldDef, FieldType
from driver.model.shaping import (
    TextFormat,
    adf_to_text,
    canonical,
    cut_utf16,
    same_json,
    shape,
    text_format_for,
    text_to_adf,
    unshape,
    user_style_for,
    utf16_len,
)


def f(kind: FieldType, field_id: str = "customfield_1") -> FieldDef:
    return FieldDef(field_id, "Some field", kind)


GOOD: list[tuple[FieldType, str, Any]] = [
    (FieldType.STRING, "Disk full", "Disk full"),
    (FieldType.STRING, "  spaced ; | ", "  spaced ; | "),
    (FieldType.STRING, "", ""),
    (FieldType.TEXT, "line 1\nline 2", "line 1\nline 2"),
    (FieldType.NUMBER, "42", 42),
    (FieldType.NUMBER, " -7 ", -7),
    (FieldType.NUMBER, "2.0", 2),
    (FieldType.NUMBER, "3.5", 3.5),
    (FieldType.NUMBER, "1e3", 1000),
    (FieldType.NUMBER, ".5", 0.5),
    (FieldType.NUMBER, "", None),
    (FieldType.OPTION, "Major", {"value": "Major"}),
    (FieldType.OPTION, "", None),
    (FieldType.MULTI_OPTION, "a, b", [{"value": "a"}, {"value": "b"}]),
    (FieldType.MULTI_OPTION, "", []),
    (FieldType.USER, "jsmith", {"name": "jsmith"}),
    (FieldType.USER, "", None),
    (FieldType.DATE, "2026-11-24", "2026-11-24"),
    (FieldType.DATE, "2028-02-29", "2028-02-29"),
    (FieldType.DATE, "", None),
    (FieldType.DATETIME, "2026-11-24T10:00:00.000+0000", "2026-11-24T10:00:00.000+0000"),
    (FieldType.DATETIME, "2026-11-24T10:00:00Z", "2026-11-24T10:00:00.000+0000"),
    (FieldType.DATETIME, "2026-11-24T10:00+01:00", "2026-11-24T10:00:00.000+0100"),
    (FieldType.DATETIME, "2026-11-24 10:00:00.123456-05:30", "2026-11-24T10:00:00.123-0530"),
    (FieldType.DATETIME, "0999-01-01T00:00:00+00:00", "0999-01-01T00:00:00.000+0000"),
    (FieldType.DATETIME, "", None),
    (FieldType.LABELS, "a,b", ["a", "b"]),
    (FieldType.LABELS, " a , ,b ", ["a", "b"]),
    (FieldType.LABELS, "", []),
    (FieldType.JSON, '{"id": "10001"}', {"id": "10001"}),
    (FieldType.JSON, "[1, 2.5, null, true]", [1, 2.5, None, True]),
    (FieldType.PROJECT, "OPS", {"key": "OPS"}),
    (FieldType.ISSUETYPE, "Bug", {"name": "Bug"}),
    (FieldType.PRIORITY, "High", {"name": "High"}),
    (FieldType.PRIORITY, "", None),
    (FieldType.COMPONENTS, "X,Y", [{"name": "X"}, {"name": "Y"}]),
    (FieldType.VERSIONS, "1.0", [{"name": "1.0"}]),
    (FieldType.PARENT, "OPS-1", {"key": "OPS-1"}),
    (FieldType.PARENT, "", None),
]


@pytest.mark.parametrize(("kind", "text", "expected"), GOOD)
def test_shape_good(kind: FieldType, text: str, expected: Any) -> None:
    assert same_json(shape(f(kind), text), expected)


BAD: list[tuple[FieldType, str, str]] = [
    (FieldType.NUMBER, "ten", "a number"),
    (FieldType.NUMBER, "1_000", "a number"),
    (FieldType.NUMBER, "nan", "a number"),
    (FieldType.NUMBER, "inf", "a number"),
    (FieldType.NUMBER, "1e999", "finite"),
    (FieldType.NUMBER, "9" * 5000, "digits"),
    (FieldType.DATE, "2026-02-30", "YYYY-MM-DD"),
    (FieldType.DATE, "24/11/2026", "YYYY-MM-DD"),
    (FieldType.DATE, "20261124", "YYYY-MM-DD"),
    (FieldType.DATE, "2026-11-24T10:00", "YYYY-MM-DD"),
    (FieldType.DATETIME, "2026-11-24T10:00", "offset"),
    (FieldType.DATETIME, "2026-11-24", "offset"),
    (FieldType.DATETIME, "yesterday", "offset"),
    (FieldType.DATETIME, "2026-13-24T10:00Z", "offset"),
    (FieldType.JSON, "{not json}", "valid JSON"),
    (FieldType.JSON, "", "valid JSON"),
    (FieldType.JSON, "NaN", "valid JSON"),
    (FieldType.PROJECT, "  ", "project key"),
    (FieldType.ISSUETYPE, "", "issue type"),
    (FieldType.PARENT, "not a key", "issue key"),
]


@pytest.mark.parametrize(("kind", "text", "expected"), BAD)
def test_shape_bad(kind: FieldType, text: str, expected: str) -> None:
    field = f(kind, "customfield_42")
    with pytest.raises(ShapeError) as caught:
        shape(field, text)
    assert caught.value.field == "customfield_42"
    assert caught.value.value == text
    assert expected in caught.value.expected


def test_user_style_cloud() -> None:
    assert shape(f(FieldType.USER), "abc123", "cloud") == {"accountId": "abc123"}
    assert unshape(f(FieldType.USER), {"accountId": "abc123"}, "cloud") == "abc123"
    assert unshape(f(FieldType.USER), {"name": "abc123"}, "cloud") is None


def test_text_in_v3_is_adf() -> None:
    doc = shape(f(FieldType.TEXT), "a\nb\n\nc", text_format="adf")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "b"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "c"}]},
        ],
    }
    assert unshape(f(FieldType.TEXT), doc, text_format="adf") == "a\nb\n\nc"
    # A plain string stays a string type for single-line fields, even in v3.
    assert shape(f(FieldType.STRING), "a", text_format="adf") == "a"


def test_adf_to_text_best_effort() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Hi ", "marks": [{"type": "strong"}]}],
            },
            {"type": "paragraph", "content": [{"type": "mention", "attrs": {"id": "1", "text": "@Ann"}}]},
            {
                "type": "bulletList",
                "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": []}]}],
            },
        ],
    }
    assert adf_to_text(doc) == "Hi \n\n@Ann\n\n"
    # Formatting cannot be written as table text, so the inverse refuses it.
    assert unshape(f(FieldType.TEXT), doc, text_format="adf") is None
    assert adf_to_text("plain") == "plain"
    assert adf_to_text(None) == ""


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (FieldType.NUMBER, True),
        (FieldType.NUMBER, "42"),
        (FieldType.OPTION, {"id": "10001"}),
        (FieldType.OPTION, {"value": "a", "id": "1"}),
        (FieldType.LABELS, ["a,b"]),
        (FieldType.LABELS, [" a"]),
        (FieldType.LABELS, [""]),
        (FieldType.LABELS, "a"),
        (FieldType.MULTI_OPTION, [{"value": "x,y"}]),
        (FieldType.COMPONENTS, [{"id": "1"}]),
        (FieldType.PRIORITY, {"name": " High"}),
        (FieldType.PRIORITY, {"id": "3"}),
        (FieldType.DATETIME, "2026-11-24T10:00:00Z"),
        (FieldType.DATE, "2026-2-3"),
        (FieldType.STRING, 5),
        (FieldType.TEXT, {"type": "doc"}),
        (FieldType.PROJECT, None),
        (FieldType.PARENT, {"key": "x"}),
    ],
)
def test_unshape_refuses_what_the_table_cannot_express(kind: FieldType, value: Any) -> None:
    assert unshape(f(kind), value) is None


@pytest.mark.parametrize(("kind", "text", "expected"), GOOD)
def test_unshape_inverts_shape(kind: FieldType, text: str, expected: Any) -> None:
    text_back = unshape(f(kind), expected)
    assert text_back is not None
    assert same_json(shape(f(kind), text_back), expected)


def test_canonical_forms() -> None:
    assert canonical(f(FieldType.NUMBER), "2.0") == "2"
    assert canonical(f(FieldType.LABELS), " a , b ") == "a,b"
    assert canonical(f(FieldType.JSON), '{ "a" : [1, 2] }') == '{"a":[1,2]}'
    assert canonical(f(FieldType.DATETIME), "2026-11-24T10:00Z") == "2026-11-24T10:00:00.000+0000"
    with pytest.raises(ShapeError):
        canonical(f(FieldType.DATE), "soon")


def test_flavour_helpers() -> None:
    assert user_style_for("cloud") == "cloud"
    assert user_style_for("auto") == "datacenter"
    assert user_style_for("datacenter") == "datacenter"
    assert text_format_for("rest/api/3/issue") == "adf"
    assert text_format_for("/rest/api/3/issue/") == "adf"
    assert text_format_for("rest/api/2/issue") == "plain"
    assert text_format_for("rest/api/latest/issue") == "plain"


def test_same_json_is_strict() -> None:
    assert same_json({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert not same_json({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same_json(1, 1.0)
    assert not same_json(1, True)
    assert not same_json(float("nan"), float("nan"))


# --- properties -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(st.sampled_from(list(FieldType)), _json, st.sampled_from(["cloud", "datacenter"]), st.booleans())
def test_unshape_is_exact_or_none(kind: FieldType, value: Any, style: Any, adf: bool) -> None:
    fmt: TextFormat = "adf" if adf else "plain"
    text = unshape(f(kind), value, style, fmt)
    if text is not None:
        assert same_json(shape(f(kind), text, style, fmt), value)


@settings(max_examples=200)
@given(st.text())
def test_adf_round_trip_of_any_text(text: str) -> None:
    assert adf_to_text(text_to_adf(text)) == text


@settings(max_examples=200)
@given(st.sampled_from(list(FieldType)), st.text(max_size=30))
def test_shape_raises_only_shape_error(kind: FieldType, text: str) -> None:
    with contextlib.suppress(ShapeError):
        shape(f(kind), text, "cloud", "adf")


# --- numbers as Jira stores them, lengths as Jira counts them, id forms (issue 10) ------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e400", "between -9007199254740992 and 9007199254740992"),
        ("9" * 5000, "between -9007199254740992 and 9007199254740992"),
        ("9007199254740993", "64-bit floating point"),
        ("1e99999999999999999999", "Jira can store"),
        ("1e-400", "too close to zero"),
        ("٣", "the digits 0-9"),
        ("１２", "the digits 0-9"),
        ("4٣", "the digits 0-9"),
    ],
)
def test_numbers_jira_cannot_store_are_refused_plainly(text: str, expected: str) -> None:
    with pytest.raises(ShapeError) as caught:
        shape(f(FieldType.NUMBER, "customfield_42"), text)
    assert expected in caught.value.expected
    assert "4300" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9007199254740992", 9007199254740992), ("-9007199254740992", -9007199254740992), ("1e15", 10**15)],
)
def test_numbers_up_to_two_to_the_53_are_exact(text: str, expected: int) -> None:
    assert same_json(shape(f(FieldType.NUMBER), text), expected)


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_every_whole_number_in_range_round_trips(number: int) -> None:
    shaped = shape(f(FieldType.NUMBER), str(number))
    assert shaped == number
    assert float(shaped) == number


_astral_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]) | st.characters(min_codepoint=0x10000), max_size=400
)


@given(_astral_text, st.integers(min_value=0, max_value=300))
def test_cut_utf16_fits_and_never_splits_a_character(text: str, limit: int) -> None:
    cut = cut_utf16(text, limit)
    assert text.startswith(cut)
    assert utf16_len(cut) <= limit
    # Longest such start: one more character would not fit.
    if cut != text:
        assert utf16_len(text[: len(cut) + 1]) > limit
    # Every character is whole: encodable, with no lone surrogate left by the cut.
    cut.encode("utf-16-le")


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("😀" * 300) == 600
    assert utf16_len("aé中") == 3


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (FieldType.PRIORITY, "id:2", {"id": "2"}),
        (FieldType.PRIORITY, " ID: 2 ", {"id": "2"}),
        (FieldType.PRIORITY, "name:id:2", {"name": "id:2"}),
        (FieldType.ISSUETYPE, "id:10002", {"id": "10002"}),
        (FieldType.PROJECT, "id:10000", {"id": "10000"}),
        (FieldType.OPTION, "id:10200", {"id": "10200"}),
        (FieldType.MULTI_OPTION, "id:10210,Storage", [{"id": "10210"}, {"value": "Storage"}]),
        (FieldType.COMPONENTS, "id:10000, Backend", [{"id": "10000"}, {"name": "Backend"}]),
        (FieldType.VERSIONS, "name:name:x", [{"name": "name:x"}]),
    ],
)
def test_id_forms(kind: FieldType, text: str, expected: Any) -> None:
    assert same_json(shape(f(kind), text), expected)


@pytest.mark.parametrize("text", ["id:", "id:High", "id:٣", "name:"])
def test_bad_id_forms(text: str) -> None:
    with pytest.raises(ShapeError):
        shape(f(FieldType.PRIORITY), text)


def test_names_that_look_like_id_forms_unshape_with_name_prefix() -> None:
    field = f(FieldType.PRIORITY)
    assert unshape(field, {"name": "id:2"}) == "name:id:2"
    assert unshape(field, {"name": "Name:x"}) == "name:Name:x"
    assert unshape(field, {"id": "2"}) is None
    # People are not references: a user called "id:x" is just that name.
    assert unshape(f(FieldType.USER), {"name": "id:x"}) == "id:x"
