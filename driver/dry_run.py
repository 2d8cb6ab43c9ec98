"""`jira-driver parse COMMAND`: show, as JSON, what an Advanced command would send, without sending.

For people writing automation scripts. The output is one JSON object (indent 2):

    {"guid", "action", "method", "path", "body", "comments"}

`path` is relative to the Jira URL; an UPDATE's ticket key is only known at run time, so its paths
hold `{key}`. `comments` is a list of `{"method", "path", "body"}` requests, sent after the edit.
An UPDATE with only comments sends no edit: method, path and body are then null.
Notes about bodies made safe (cut summaries, label spaces) go to stderr as `note: ...` lines.

The Ticket Creation Table and field catalog come from the driver's database when it has them,
else from the seed built from `[ticket]` and the system catalog. An invalid command prints the
error with a caret under its position on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from driver.commands import parse_command
from driver.config import Config
from driver.errors import CommandError
from driver.fields import FieldCatalog
from driver.ticket_requests import RequestSettings, plan_requests
from driver.ticket_table import TicketTable, seed_table

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def load_ticket_model_for_dry_run(config: Config) -> tuple[TicketTable, FieldCatalog]:
    """The stored table and catalog when the database has them, else the seed and system catalog."""
    seed = (seed_table(config.ticket.project, config.ticket.issue_type), FieldCatalog.system())
    path = Path(config.driver.database)
    if not path.is_file():
        return seed
    # A dry run must not fail because of the database: one that predates the ticket tables, is
    # locked, or holds a table this version cannot read means "no stored model", so use the seed.
    # The store is imported lazily so `parse` stays cheap when there is no database at all.
    try:
        from driver.store import read_ticket_state

        state = read_ticket_state(path)
    except Exception:
        return seed
    if state is None:
        return seed
    table, catalog = state
    if isinstance(table, TicketTable) and isinstance(catalog, FieldCatalog):
        return table, catalog
    return seed


def caret_message(text: str, error: CommandError) -> str:
    """The error as a compiler shows it: the command, a caret under the position, the reason."""
    shown = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    caret = " " * max(error.position - 1, 0) + "^"
    return f"jira-driver: invalid command: {error}\n  {shown}\n  {caret}\n"


def dry_run(text: str, config: Config) -> tuple[dict[str, object], tuple[str, ...]]:
    """The JSON the parse command prints, and the notes; raises CommandError."""
    table, catalog = load_ticket_model_for_dry_run(config)
    settings = RequestSettings.from_config(config)
    command = parse_command(text, catalog, settings.user_style, settings.text_format)
    plan = plan_requests(command, table, settings, catalog)
    main = plan.main
    output: dict[str, object] = {
        "guid": plan.guid,
        "action": plan.action.value,
        "method": main.method if main else None,
        "path": main.path if main else None,
        "body": main.body if main else None,
        "comments": [c.to_json() for c in plan.comments],
    }
    return output, plan.notes


def main(args: argparse.Namespace, config: Config) -> int:
    """The `parse` sub-command: 0 with the JSON on stdout, 2 with the error on stderr."""
    text: str = args.command_text
    try:
        output, notes = dry_run(text, config)
    except CommandError as exc:
        sys.stderr.write(caret_message(text, exc))
        return EXIT_BAD_INPUT
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    sys.stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK
