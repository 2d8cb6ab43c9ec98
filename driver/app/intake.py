"""Intake: Advanced command lines and Manual executes become committed log rows (jobs).

The one path by which work enters the driver: `check_lines` (or `manual_entry` for an Execute)
makes the entries, and `Driver.accept` commits them with `commit` (driver.app.driver). A batch is
all or nothing: every line is checked before any is stored, and the first bad line raises
IntakeError naming it (nothing is queued). The rows are committed by the store before the caller
acknowledges them, then handed to the sending engine.

What is checked here is what can be known now: the grammar, the field names (against the catalog
as it stands) and the values' shapes. The request itself is built when it is sent
(driver.sending.planning, with driver.model.requests), with the catalog and the Jira flavour known
then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from driver.contract.schemas import LogType
from driver.errors import CommandError, DriverError, ShapeError, UnknownFieldError
from driver.model.alert_intake import Notice
from driver.model.calls import check_call
from driver.model.commands import Action, ResolvedCommand, parse, parse_command
from driver.model.creation_table import table_to_query
from driver.model.eligible_create import create_values, missing_placeholder
from driver.model.jobs import Job, JobPayload, NewEntry
from driver.model.request_setup import RequestSetup
from driver.model.requests import make_safe, plan_requests
from driver.model.stamps import stamp_create_body
from driver.store import Store


class IntakeError(CommandError):
    """A command line that is refused; `line` and `position` are 1-based, `table` marks a table fault."""

    def __init__(self, line: int, position: int, reason: str, command: str, *, table: bool = False) -> None:
        super().__init__(position, reason)
        self.line = line
        self.command = command
        self.table = table
        where = f"line {line}" if table else f"line {line}, position {position}"
        what = f"the Ticket Creation Table is invalid: {reason}" if table else reason
        self.args = (f"{where}: {what}",)


class TableError(DriverError):
    """The Ticket Creation Table does not make a valid create body (a Manual execute is refused)."""

    def __init__(self, error: ShapeError) -> None:
        self.error = error
        super().__init__(f"the Ticket Creation Table is invalid: {error}")


@dataclass(frozen=True)
class Line:
    """One command line of a batch: its 1-based number in the body and its text."""

    number: int
    text: str


def entry_for(line: Line, setup: RequestSetup) -> NewEntry:
    """Check one Advanced command line and make its log row; IntakeError if it is refused."""
    settings = setup.settings
    try:
        command = parse_command(line.text, setup.catalog, settings.user_style, settings.text_format)
        if command.action == Action.CREATE:
            # The table's own values must shape too, or every create would fail at send time.
            plan_requests(command, setup.table, settings, setup.catalog)
    except UnknownFieldError as exc:
        if setup.catalog_loaded:
            raise IntakeError(line.number, exc.position, exc.reason, line.text) from exc
        # Jira's field list was never loaded (Jira down since the first start): the field may
        # well exist. The row waits for the list, and is checked again when it is sent.
        raw = parse(line.text)
        return NewEntry(LogType.AUTOMATIC, raw.action, raw.guid, JobPayload(text=line.text))
    except CommandError as exc:
        raise IntakeError(line.number, exc.position, exc.reason, line.text) from exc
    except ShapeError as exc:
        raise IntakeError(line.number, 1, str(exc), line.text, table=True) from exc
    if command.action == Action.CALL:
        _check_call(line, command, setup)
        return NewEntry(
            LogType.AUTOMATIC,
            Action.CALL,
            command.guid,
            JobPayload(text=line.text),
            endpoint=command.endpoint,
        )
    if command.action == Action.CREATE and setup.eligible.enabled:
        _check_eligible(line, setup)
    summary = command.fields.get("summary")
    return NewEntry(
        LogType.AUTOMATIC,
        command.action,
        command.guid,
        JobPayload(text=line.text),
        summary=summary if isinstance(summary, str) else None,
    )


def _check_call(line: Line, command: ResolvedCommand, setup: RequestSetup) -> None:
    """A CALL names a configured endpoint and gives exactly its variables; IntakeError at the pair."""
    try:
        check_call(parse(line.text), command, setup.endpoints)
    except CommandError as exc:
        raise IntakeError(line.number, exc.position, exc.reason, line.text) from exc


def _check_eligible(line: Line, setup: RequestSetup) -> None:
    """A CREATE gives a value for every placeholder of [eligible] jql; IntakeError naming the first
    it lacks (it could not be searched for, and it must never be created blind)."""
    raw = parse(line.text)
    missing = missing_placeholder(setup.eligible, create_values(raw, setup.catalog))
    if missing is not None:
        reason = (
            f"[eligible] jql needs {{{missing}}}: this CREATE gives no value for it (add |{missing};value|)"
        )
        raise IntakeError(line.number, raw.action_position or 1, reason, line.text)


def manual_entry(setup: RequestSetup) -> NewEntry:
    """The log row of an Execute: the Create Query as it stands, made safe and stamped with a fresh GUID.

    Raises TableError when the table's values do not shape.
    """
    settings = setup.settings
    try:
        query = table_to_query(setup.table, settings.user_style, settings.text_format)
    except ShapeError as exc:
        raise TableError(exc) from exc
    body, notes = make_safe(query)
    guid = f"manual-{uuid.uuid4().hex[:12]}"
    stamped = stamp_create_body(body, guid, settings.guid_field, settings.guid_label_prefix)
    return NewEntry(LogType.MANUAL, Action.CREATE, guid, JobPayload(create=stamped, notes=notes))


def check_lines(lines: Sequence[Line], setup: RequestSetup) -> list[NewEntry]:
    """The log rows of a batch, every line checked; IntakeError at the first bad one.

    Pure work on values (the setup's parts are replaced whole, never changed in place), so a
    large batch may be checked on a worker thread while the event loop goes on.
    """
    return [entry_for(line, setup) for line in lines]


def commit(
    entries: Sequence[NewEntry],
    store: Store,
    submit: Callable[[list[Job]], None],
    max_entries: int = 0,
    idempotency: tuple[str, str] | None = None,
    notices: Sequence[Notice] = (),
) -> list[Job]:
    """Commit checked rows in one transaction (with their idempotency key, or an alert
    notification's notices), then hand them to the engine."""
    jobs = store.accept(entries, max_entries, idempotency, notices)
    submit(jobs)
    return jobs


def split_lines(text: str) -> list[Line]:
    """The non-blank lines of a text/plain body, numbered from 1.

    Only `\n` (and the `\r` of a `\r\n`) ends a line. str.splitlines also breaks on U+2028,
    U+0085, form feeds and more: a comment holding one would become two commands, the second
    whatever follows it (an injected CREATE). Every other character is data.
    """
    lines: list[Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if line.strip():
            lines.append(Line(number, line))
    return lines
