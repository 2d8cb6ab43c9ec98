"""JSON values as Python holds them (dicts, lists, str, int, float, bool, None), and their copy."""

from __future__ import annotations

from typing import Any, TypeVar, cast

JSON = Any
"""A value json.loads returns or json.dumps takes."""

T = TypeVar("T")


def copy_json(value: T) -> T:
    """A deep copy of a JSON value: new dicts and lists, the same immutable leaves.

    copy.deepcopy does the same for any object, at several times the cost (its memo and dispatch);
    request bodies are copied on every request, so this one is kept to what JSON holds.
    """
    return cast(T, _copy(value))


def _copy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
