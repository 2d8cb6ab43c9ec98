"""A CALL checked against the endpoints configured, and the request it would make (pure).

The one check both doors share: intake (driver.app.intake) refuses a CALL that names no configured
endpoint or does not give exactly its variables, and the dry run (driver.model.dry_run) shows the
request with the ticket's `{key}` and `{id}` still to fill (they are known only when it is sent).
"""

from __future__ import annotations

from collections.abc import Mapping

from driver.errors import CommandError
from driver.model.commands import ENDPOINT, Command, ResolvedCommand
from driver.model.endpoints import TICKET_PLACEHOLDERS, Endpoint, FilledCall, check_variables


def check_call(raw: Command, command: ResolvedCommand, endpoints: Mapping[str, Endpoint]) -> Endpoint:
    """The endpoint a resolved CALL (`command`, parsed as `raw`) uses; CommandError at the pair at
    fault: the endpoint's name when none is configured by it, else the variable (or the endpoint's
    name, for one missing)."""
    named = next(p for p in raw.pairs if p.field.strip().casefold() == ENDPOINT)
    endpoint = endpoints.get(command.endpoint)
    if endpoint is None:
        known = ", ".join(sorted(endpoints)) or "none configured: add an [endpoint.NAME] section"
        raise CommandError(named.value_position, f"unknown endpoint {command.endpoint!r} (known: {known})")
    at_fault, reason = check_variables(endpoint, command.variables)
    if reason:
        pair = next((p for p in raw.pairs if at_fault and p.field.strip() == at_fault), named)
        raise CommandError(pair.field_position, reason)
    return endpoint


def planned_call(endpoint: Endpoint, command: ResolvedCommand) -> FilledCall:
    """The request of a checked CALL with `{key}` and `{id}` left for the ticket found when it is
    sent; EndpointError as Endpoint.fill."""
    values = {"guid": command.guid, **command.variables}
    return endpoint.fill(values, keep=TICKET_PLACEHOLDERS)
