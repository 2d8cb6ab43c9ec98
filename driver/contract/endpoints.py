"""The bodies of GET /api/endpoints and POST /api/endpoints/{name}: the custom API endpoints of
the configuration (`[endpoint.NAME]`, driver.model.endpoints) and one call of one. Pure pydantic."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from driver.contract.schemas import MAX_GUID_LENGTH, Body

VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A CALL's variable name (a placeholder of its endpoint's templates)."""
MAX_VARIABLES = 32
"""Variables one CALL may give."""
MAX_VALUE = 8_192
"""Characters of one variable's value."""


class EndpointInfo(Body):
    """One configured endpoint, as its section says (with the variables a call must give)."""

    name: str
    method: str
    path: str
    """The path template, relative to the Jira URL."""
    body: Any = None
    """The body template as JSON (None: no body)."""
    expect: list[int]
    idempotent: bool
    variables: list[str]
    """The placeholders a call gives (those other than guid, key and id)."""
    needs_ticket: bool
    """It names {key} or {id}: it waits for the GUID's ticket, like an UPDATE."""


class EndpointList(Body):
    """GET /api/endpoints: every configured endpoint, by name."""

    endpoints: list[EndpointInfo]


class EndpointCall(BaseModel):
    """The body of POST /api/endpoints/{name}: the GUID whose ticket it is for, and the variables."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    guid: str = Field(min_length=1, max_length=MAX_GUID_LENGTH)
    variables: dict[str, str] = Field(default_factory=dict, max_length=MAX_VARIABLES)

    @field_validator("variables")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not VARIABLE.fullmatch(name):
                raise ValueError(
                    f"variable {name[:64]!r}: expected letters, digits and _ (starting with a letter or _)"
                )
            if len(text) > MAX_VALUE:
                raise ValueError(f"variable {name!r}: longer than {MAX_VALUE} characters")
        return value
