"""A person's call of a custom API endpoint (POST /api/endpoints/NAME, `jira-driver call`, the TUI):
the same row an Advanced `GUID|CALL|endpoint;NAME|var;value|` makes, checked the same way, marked
Manual (a person asked: the update limit does not hold it back)."""

from __future__ import annotations

from collections.abc import Mapping

from driver.app.intake import Line, entry_for
from driver.contract.schemas import LogType
from driver.errors import DriverError
from driver.model.commands import ENDPOINT, Action, Command, Pair, render
from driver.model.jobs import NewEntry
from driver.model.request_setup import RequestSetup


class UnknownEndpoint(DriverError):
    """No `[endpoint.NAME]` section has that name (404)."""


def call_entry(setup: RequestSetup, name: str, guid: str, variables: Mapping[str, str]) -> NewEntry:
    """The log row of one call; UnknownEndpoint, or IntakeError (driver.app.intake) naming what is
    wrong with the GUID or the variables, exactly as for the Advanced command."""
    if name not in setup.endpoints:
        known = ", ".join(sorted(setup.endpoints)) or "none configured: add an [endpoint.NAME] section"
        raise UnknownEndpoint(f"unknown endpoint {name!r} (known: {known})")
    pairs = (Pair(ENDPOINT, name), *(Pair(key, value) for key, value in variables.items()))
    text = render(Command(guid, Action.CALL, pairs))
    checked = entry_for(Line(1, text), setup)
    return NewEntry(
        LogType.MANUAL,
        Action.CALL,
        checked.guid,
        checked.payload,
        note="called from the API",
        endpoint=checked.endpoint,
    )
