"""copy_json: a deep copy of JSON values, cheaper than copy.deepcopy on the hot path."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driver.model.json_values import copy_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=25,
)


def containers(value: Any) -> list[Any]:
    """Every dict and list inside a value, the value too."""
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in containers(item))]
    if isinstance(value, list):
        return [value, *(c for item in value for c in containers(item))]
    return []


@given(json_values)
def test_copy_equals_deepcopy_and_shares_no_container(value: Any) -> None:
    copied = copy_json(value)
    assert json.dumps(copied, sort_keys=True) == json.dumps(copy.deepcopy(value), sort_keys=True)
    originals = {id(c) for c in containers(value)}
    assert not originals & {id(c) for c in containers(copied)}


def test_changing_the_copy_leaves_the_original() -> None:
    body: dict[str, Any] = {"fields": {"labels": ["a"], "project": {"key": "OPS"}}}
    copied = copy_json(body)
    copied["fields"]["labels"].append("b")
    copied["fields"]["project"]["key"] = "NET"
    assert body == {"fields": {"labels": ["a"], "project": {"key": "OPS"}}}
