"""`jira-driver ticket GUID [--json]`: what the running driver records of one GUID, its ticket (with
its Jira state), its earlier tickets and its alarm's state (GET /api/tickets/{guid}).

Plain text by default (aligned `key: value` lines, then the GUID's tickets as a table); `--json`
prints the API's TicketView as one JSON object. 0 printed, 1 the driver refused (a GUID it has
never seen included), 2 not a GUID (empty, over 256 characters, a control character), 3 unreachable.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, format_table, say
from driver.config import Config
from driver.contract.tickets import CurrentTicket, TicketView
from driver.model.commands import MAX_GUID_LENGTH

NONE = "-"


def _when(moment: datetime | None) -> str:
    return NONE if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _text(value: str | None) -> str:
    return value if value else NONE


def _ticket_lines(ticket: CurrentTicket) -> list[tuple[str, str]]:
    status = _text(ticket.status)
    if ticket.status_category:
        status += f" ({ticket.status_category})"
    changed = _text(ticket.changed_by)
    if ticket.changed_by_driver is not None:
        changed += " (the driver)" if ticket.changed_by_driver else " (a person)"
    resolved = _when(ticket.resolved_at)
    if ticket.resolved_at is not None and ticket.resolved_by_driver is not None:
        resolved += " by the driver" if ticket.resolved_by_driver else " in Jira"
    deleted = f"yes, {_when(ticket.deleted_at)}" if ticket.deleted else "no"
    return [
        ("ticket", ticket.key or "(no key yet)"),
        ("generation", str(ticket.generation)),
        ("state", ticket.state),
        ("url", _text(ticket.url)),
        ("status", status),
        ("resolution", _text(ticket.resolution)),
        ("assignee", _text(ticket.assignee)),
        ("changed by", changed),
        ("resolved", resolved),
        ("deleted", deleted),
        ("jira updated", _when(ticket.jira_updated)),
        ("synced", _when(ticket.synced_at)),
        ("created", _when(ticket.created_at)),
    ]


def view_text(view: TicketView) -> str:
    """The view for people: aligned `key: value` lines, local times, then the tickets over time."""
    alarm = view.alarm if view.hold_until is None else f"{view.alarm} until {_when(view.hold_until)}"
    pairs: list[tuple[str, str]] = [("guid", view.guid), ("alarm", alarm)]
    pairs += _ticket_lines(view.ticket) if view.ticket is not None else [("ticket", "none yet")]
    pairs.append(("open rows", str(view.open_rows)))
    row = view.last_row
    if row is None:
        pairs.append(("last row", NONE))
    else:
        last = f"#{row.id} {row.action} {row.status.value} {_when(row.time)}"
        if row.error:
            last += ": " + row.error.replace("\n", " ")[:80]
        pairs.append(("last row", last))
    width = max(len(key) for key, _ in pairs) + 1
    lines = [f"{key + ':':<{width}} {value}" for key, value in pairs]
    if view.tickets:
        table = [
            (
                str(t.generation),
                _text(t.key),
                _when(t.created_at),
                "current" if t.ended is None else f"{t.ended} {_when(t.ended_at)}",
            )
            for t in view.tickets
        ]
        lines += ["", format_table(("GEN", "TICKET", "CREATED", "ENDED"), table)]
    return "\n".join(lines)


def guid_problem(guid: str) -> str | None:
    """Why this text cannot be a GUID (as driver.model.commands takes them), or None."""
    if not guid:
        return "the GUID is empty"
    if len(guid) > MAX_GUID_LENGTH:
        return f"GUID too long: {len(guid)} characters (at most {MAX_GUID_LENGTH})"
    if not guid.isprintable():
        return "a GUID holds no control characters"
    return None


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver ticket`."""
    # As the command parser does: surrounding spaces are not part of a GUID.
    guid = args.guid.strip()
    problem = guid_problem(guid)
    if problem is not None:
        say(f"jira-driver ticket: {problem}")
        return ExitCode.BAD_INPUT
    view = ask_driver("ticket", config, lambda client: client.ticket_view(guid))
    if isinstance(view, ExitCode):
        return view
    if args.json:
        print(json.dumps(view.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(view_text(view))
    return ExitCode.OK
