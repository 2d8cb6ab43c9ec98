"""What the sub-commands share: diagnostics on stderr, aligned tables on stdout, asking the driver."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from driver.cli.exit_codes import ExitCode
from driver.config import Config
from driver.contract.client import DriverClient, DriverInputRefused, DriverRejected, DriverUnreachable
from driver.contract.schemas import AdvancedAccepted

T = TypeVar("T")


def say(text: str) -> None:
    """One diagnostic line (or a few) on stderr; stdout is kept for the command's result."""
    print(text, file=sys.stderr)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, for people."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


BAD_INPUT_STATUSES = (400, 413, 422)
"""The driver's answers that refuse the input itself (its API's errors: driver.api.errors)."""


def ask_driver(command: str, config: Config, call: Callable[[DriverClient], Awaitable[T]]) -> T | ExitCode:
    """One request to the running driver; on failure the line said and the exit code instead of
    the answer: 3 unreachable, 2 for input refused as such (by the API's contract before sending,
    or by the driver: 400, 413, 422; nothing changed), 1 for any other refusal."""

    async def run() -> T:
        async with DriverClient.from_config(config) as client:
            return await call(client)

    try:
        return asyncio.run(run())
    except DriverUnreachable as exc:
        say(f"jira-driver {command}: {exc}")
        return ExitCode.UNREACHABLE
    except DriverRejected as exc:
        say(f"jira-driver {command}: {exc}")
        return ExitCode.BAD_INPUT if exc.status in BAD_INPUT_STATUSES else ExitCode.FAILED
    except DriverInputRefused as exc:
        say(f"jira-driver {command}: {exc}")
        return ExitCode.BAD_INPUT


def print_accepted(accepted: AdvancedAccepted) -> None:
    """One line per row the driver accepted: `accepted #ID ACTION GUID` (scripts read it)."""
    for item in accepted.accepted:
        print(f"accepted #{item.id} {item.action} {item.guid}")


def ask_for_rows(
    command: str, config: Config, call: Callable[[DriverClient], Awaitable[AdvancedAccepted]]
) -> int:
    """A request that makes rows (resolve, retry): the rows printed and 0, or ask_driver's code."""
    accepted = ask_driver(command, config, call)
    if isinstance(accepted, ExitCode):
        return accepted
    print_accepted(accepted)
    return ExitCode.OK


Cursor = TypeVar("Cursor")
Row = TypeVar("Row")


async def collect_pages(
    fetch: Callable[[Cursor | None, int], Awaitable[tuple[list[Row], Cursor | None]]],
    limit: int,
    page_max: int,
) -> list[Row]:
    """The first `limit` rows of a paged read: `fetch(cursor, size)` gives a page and the next
    page's cursor (None on the last), at most `page_max` rows a page."""
    rows: list[Row] = []
    cursor: Cursor | None = None
    while len(rows) < limit:
        page, cursor = await fetch(cursor, min(page_max, limit - len(rows)))
        rows.extend(page)
        if cursor is None or not page:
            break
    return rows[:limit]
