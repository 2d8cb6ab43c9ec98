"""`jira-driver parse COMMAND`: show, as JSON, what an Advanced command would send, without sending.

For people writing automation scripts. stdout is the dry run of driver.model.dry_run as one JSON object
(indent 2); notes about bodies made safe (cut summaries, label spaces) go to stderr as `note: ...`.

The Ticket Creation Table and field catalog come from the driver's database when it has them,
else from the seed built from `[ticket]` and the system catalog. Every error is exit 2 with stderr
only: an invalid command prints the error with a caret under its position; a stored table that no
longer shapes, or a database that cannot be read (not a database, locked, written by a newer
version), prints one line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.contract.schemas import DryRun
from driver.errors import CommandError, ShapeError
from driver.model.creation_table import TicketTable, seed_table
from driver.model.dry_run import DryRunResult, build_dry_run
from driver.model.fields import FieldCatalog


class UnreadableDatabase(Exception):
    """The driver's database is there but its ticket model cannot be read; the message says why."""


def load_ticket_model(config: Config) -> tuple[TicketTable, FieldCatalog]:
    """The stored table and catalog when the database has them, else the seed and system catalog.

    No database file, or one without a stored table yet, means the seed. Raises UnreadableDatabase
    when the file is not a readable SQLite database (corrupt, locked past SQLite's busy wait) or its
    stored table or catalog is not one this version reads: showing the seed then would show
    requests the driver does not send.
    """
    seed = (seed_table(config.ticket.project, config.ticket.issue_type), FieldCatalog.system())
    path = Path(config.driver.database)
    if not path.is_file():
        return seed
    # the store is imported only now, so that `parse` stays cheap when there is no database at all
    from driver.store import DatabaseFileError, read_ticket_state

    try:
        state = read_ticket_state(path)
    except DatabaseFileError as exc:
        raise UnreadableDatabase(str(exc)) from None
    except sqlite3.Error as exc:
        raise UnreadableDatabase(f"cannot read the database {path}: {exc}") from None
    except ValueError as exc:
        # json and pydantic errors are ValueErrors; their first line is the useful one
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableDatabase(
            f"the Ticket Creation Table stored in {path} cannot be read: {reason}"
        ) from None
    return seed if state is None else state


def caret_message(text: str, error: CommandError) -> str:
    """The error as a compiler shows it: the command, a caret under the position, the reason."""
    shown = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    caret = " " * max(error.position - 1, 0) + "^"
    return f"jira-driver: invalid command: {error}\n  {shown}\n  {caret}\n"


def dry_run(text: str, config: Config) -> DryRunResult:
    """The dry run of a command with this configuration's stored (or seeded) ticket model.

    Raises CommandError, ShapeError (driver.model.dry_run.build_dry_run) and UnreadableDatabase.
    """
    table, catalog = load_ticket_model(config)
    return build_dry_run(
        text, table, catalog, config.request_settings(), config.lifecycle_settings(), config.endpoint_map()
    )


def dry_run_json(result: DryRun) -> str:
    """The documented stdout of `parse`, without the final newline."""
    return json.dumps(result.model_dump(), indent=2, ensure_ascii=False)


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver parse`: 0 with the JSON on stdout, 2 with the error on stderr."""
    text: str = args.command_text
    try:
        result = dry_run(text, config)
    except CommandError as exc:
        sys.stderr.write(caret_message(text, exc))
        return ExitCode.BAD_INPUT
    except ShapeError as exc:
        say(f"jira-driver parse: the Ticket Creation Table is invalid: {exc}")
        return ExitCode.BAD_INPUT
    except UnreadableDatabase as exc:
        say(f"jira-driver parse: {exc}")
        return ExitCode.BAD_INPUT
    for note in result.notes:
        say(f"note: {note}")
    print(dry_run_json(result.dry_run))
    return ExitCode.OK
