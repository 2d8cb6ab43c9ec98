"""The dry run of an Advanced command: what it would send to Jira, without sending. Pure.

One function for both doors: `jira-driver parse COMMAND` prints its result as JSON (indent 2), and
POST /api/parse returns it. The shape (driver.schemas.DryRun):

    {"guid", "action", "method", "path", "body", "comments"}

`path` is relative to the Jira URL; an UPDATE's ticket key is only known at run time, so its paths
hold `{key}`. `comments` is a list of `{"method", "path", "body"}` requests, sent after the edit.
An UPDATE with only comments sends no edit: method, path and body are then null.
The notes about bodies made safe (cut summaries, label spaces) come beside it, not inside.
"""

from __future__ import annotations

from dataclasses import dataclass

from driver.commands import parse_command
from driver.fields import FieldCatalog
from driver.schemas import DryRun
from driver.ticket_requests import RequestSettings, plan_requests
from driver.ticket_table import TicketTable


@dataclass(frozen=True)
class DryRunResult:
    """The requests a command would make, and the notes about bodies made safe."""

    dry_run: DryRun
    notes: tuple[str, ...]


def build_dry_run(
    command_text: str, table: TicketTable, catalog: FieldCatalog, settings: RequestSettings
) -> DryRunResult:
    """The dry run of one Advanced command against this table, catalog and settings.

    Raises CommandError (with its 1-based position) when the command does not parse or one of its
    values does not fit its field, and ShapeError when a value of the Ticket Creation Table itself
    no longer fits its field (the command is fine, the table is not).
    """
    command = parse_command(command_text, catalog, settings.user_style, settings.text_format)
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
