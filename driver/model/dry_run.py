"""The dry run of an Advanced command: what it would send to Jira, without sending. Pure.

One function for both doors: `jira-driver parse COMMAND` prints its result as JSON (indent 2), and
POST /api/parse returns it. The shape (driver.contract.schemas.DryRun):

    {"guid", "action", "method", "path", "body", "comments"}

`path` is relative to the Jira URL; an UPDATE's ticket key is only known at run time, so its paths
hold `{key}`. `comments` is a list of `{"method", "path", "body"}` requests, sent after the edit.
An UPDATE with only comments sends no edit: method, path and body are then null.
A CALL shows its endpoint's request (`action` is `CALL NAME`), with `{key}` and `{id}` still to fill.
A RESOLVE or REOPEN is a transition (`POST .../issue/{key}/transitions`): which transition reaches
the target is asked of Jira when it is sent, so its id shows as `{transition}`; the body shows the
resolution (when the screen has one), the fields and the comments as they would go out in the one
request. Fields the transition's screen does not take are set by an edit first (docs/wire-facts.md §4).
The notes about bodies made safe (cut summaries, label spaces) come beside it, not inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from driver.contract.schemas import DryRun
from driver.errors import CommandError
from driver.model.calls import check_call, planned_call
from driver.model.commands import Action, ResolvedCommand, parse, parse_command
from driver.model.creation_table import TicketTable
from driver.model.endpoints import Endpoint, EndpointError
from driver.model.fields import FieldCatalog
from driver.model.lifecycle import LifecycleSettings
from driver.model.requests import RequestSettings, plan_requests
from driver.model.shaping import JSON


@dataclass(frozen=True)
class DryRunResult:
    """The requests a command would make, and the notes about bodies made safe."""

    dry_run: DryRun
    notes: tuple[str, ...]


def build_dry_run(
    command_text: str,
    table: TicketTable,
    catalog: FieldCatalog,
    settings: RequestSettings,
    lifecycle: LifecycleSettings | None = None,
    endpoints: Mapping[str, Endpoint] | None = None,
) -> DryRunResult:
    """The dry run of one Advanced command against this table, catalog and settings.

    Raises CommandError (with its 1-based position) when the command does not parse or one of its
    values does not fit its field, and ShapeError when a value of the Ticket Creation Table itself
    no longer fits its field (the command is fine, the table is not).
    """
    command = parse_command(command_text, catalog, settings.user_style, settings.text_format)
    if command.action == Action.CALL:
        endpoint = check_call(parse(command_text), command, endpoints or {})
        try:
            call = planned_call(endpoint, command)
        except EndpointError as exc:
            raise CommandError(1, exc.reason) from None
        dry_run = DryRun(
            guid=command.guid,
            action=f"CALL {endpoint.name}",
            method=call.method,
            path=call.path,
            body=call.body,
        )
        return DryRunResult(dry_run, ())
    if command.action.transitions:
        return _transition_dry_run(command, table, catalog, settings, lifecycle or LifecycleSettings())
    plan = plan_requests(command, table, settings, catalog)
    main = plan.main
    dry_run = DryRun(
        guid=plan.guid,
        action=plan.action.value,
        method=main.method if main else None,
        path=main.path if main else None,
        body=main.body if main else None,
        comments=[c.to_json() for c in plan.comments],
    )
    return DryRunResult(dry_run, plan.notes)


def _transition_dry_run(
    command: ResolvedCommand,
    table: TicketTable,
    catalog: FieldCatalog,
    settings: RequestSettings,
    lifecycle: LifecycleSettings,
) -> DryRunResult:
    as_update = ResolvedCommand(command.guid, Action.UPDATE, command.fields, command.comments)
    plan = plan_requests(as_update, table, settings, catalog)
    body: dict[str, JSON] = {"transition": {"id": "{transition}"}}
    fields: dict[str, JSON] = dict(plan.main.body.get("fields") or {}) if plan.main else {}
    resolution = command.resolution or (lifecycle.resolution if command.action == Action.RESOLVE else "")
    if resolution:
        fields["resolution"] = {"name": resolution}
    if fields:
        body["fields"] = fields
    update: dict[str, JSON] = dict(plan.main.body.get("update") or {}) if plan.main else {}
    if plan.comments:
        update["comment"] = [{"add": dict(c.body)} for c in plan.comments]
    if update:
        body["update"] = update
    target = lifecycle.target(command.action)
    path = _transitions_path(settings.ticket_location)
    notes = (
        f"{command.action.value} moves the ticket to {target} by the transition Jira offers for it"
        " (looked up when sent; an issue already there is left alone)",
        *plan.notes,
    )
    dry_run = DryRun(
        guid=command.guid,
        action=command.action.value,
        method="POST",
        path=path,
        body=body,
        comments=[],
    )
    return DryRunResult(dry_run, notes)


def _transitions_path(location: str) -> str:
    return location.strip().strip("/") + "/{key}/transitions"
