"""What the driver stores as JSON text in SQLite comes back as it went in (property-based)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driver.model.commands import Action, ResolvedCommand
from driver.model.fields import FieldCatalog, FieldDef, FieldType
from driver.model.jobs import command_from_json, command_to_json

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)

commands = st.builds(
    ResolvedCommand,
    guid=st.text(min_size=1, max_size=40),
    action=st.sampled_from(list(Action)),
    fields=st.dictionaries(
        st.from_regex(r"[a-z]+|customfield_[0-9]{5}", fullmatch=True), json_values, max_size=5
    ),
    comments=st.lists(st.text(), max_size=3).map(tuple),
)


@given(commands)
def test_a_stored_command_comes_back_equal(command: ResolvedCommand) -> None:
    # through JSON text, as the log row's payload column holds it
    stored = json.dumps(command_to_json(command), ensure_ascii=False)
    assert command_from_json(json.loads(stored)) == command


field_defs = st.builds(
    FieldDef,
    id=st.from_regex(r"customfield_[0-9]{5}", fullmatch=True),
    name=st.text(min_size=1, max_size=30),
    type=st.sampled_from(list(FieldType)),
)


@given(st.lists(field_defs, max_size=8, unique_by=lambda f: f.id))
def test_a_stored_catalog_comes_back_equal(custom: list[FieldDef]) -> None:
    catalog = FieldCatalog.system()
    for definition in custom:
        catalog = catalog.with_field(definition)
    stored = json.dumps(catalog.to_list(), ensure_ascii=False)
    assert FieldCatalog.from_list(json.loads(stored)) == catalog
