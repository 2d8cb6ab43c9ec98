"""Intake's line splitting, property-based: only a line feed ends a line; every other character is data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from driver.app.intake import split_lines

BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every character but \\n that str.splitlines (Unicode line-break classes) breaks on."""

lines = st.lists(
    st.text(alphabet=st.characters(blacklist_characters="\n") | st.sampled_from(BREAKS), max_size=30),
    max_size=8,
)


@given(lines)
def test_only_line_feeds_split(parts: list[str]) -> None:
    text = "\n".join(parts)
    expected = [p.removesuffix("\r") for p in parts]
    got = split_lines(text)
    assert [line.text for line in got] == [p for p in expected if p.strip()]
    # numbers are the 1-based positions among all lines, blank ones included
    assert [line.number for line in got] == [n for n, p in enumerate(expected, start=1) if p.strip()]


@given(
    st.sampled_from(BREAKS),
    st.text(alphabet=st.characters(blacklist_characters="\n"), min_size=1, max_size=20),
)
def test_a_break_character_never_starts_a_second_command(separator: str, tail: str) -> None:
    text = f"G|UPDATE|comment;before{separator}{tail}|"
    assert len(split_lines(text)) == 1
