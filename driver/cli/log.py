"""`jira-driver log [--json] [--limit N] [--status S]`: the newest rows of the create/update log,
read from the running driver. 0 printed, 1 the driver refused, 2 bad flags, 3 unreachable."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, collect_pages, format_table, say
from driver.config import Config
from driver.contract.client import LOG_PAGE_MAX, DriverClient
from driver.contract.schemas import LogEntry

LOG_COLUMNS = (
    "id",
    "type",
    "action",
    "guid",
    "time",
    "status",
    "ticket_id",
    "ticket_key",
    "ticket_url",
    "error",
    "note",
)
"""The keys of a `log --json` line, in order (the documented contract)."""


async def collect_log(client: DriverClient, limit: int, status: str | None) -> list[LogEntry]:
    """The newest `limit` rows (newest first), paged by the API's page size."""

    async def fetch(before_id: int | None, size: int) -> tuple[list[LogEntry], int | None]:
        page = await client.log(status=status, before_id=before_id, limit=size)
        return page.rows, page.next_before_id

    return await collect_pages(fetch, limit, LOG_PAGE_MAX)


def log_row_json(entry: LogEntry) -> dict[str, Any]:
    """The documented `log --json` object of a row."""
    data = entry.model_dump(mode="json", include=set(LOG_COLUMNS))
    return {key: data[key] for key in LOG_COLUMNS}


NOTE_WIDTH = 100
"""Characters of a row's error or note `log` shows in its table."""


def _cut(text: str) -> str:
    return text if len(text) <= NOTE_WIDTH else text[: NOTE_WIDTH - 1] + "…"


def log_table(rows: list[LogEntry]) -> str:
    """The rows for people: local times, and the error (or, for a row without one, its note: what
    the driver did, e.g. "reopened it", why a RESOLVE was Cancelled) on one line, cut at NOTE_WIDTH
    characters and then ending in "…" (`jira-driver log --json` or the TUI show it whole)."""
    header = ("ID", "TYPE", "ACTION", "GUID", "TIME", "STATUS", "TICKET", "ERROR / NOTE")
    table = [
        (
            str(e.id),
            e.type.value,
            e.action,
            e.guid,
            e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            e.status.value,
            e.ticket_key or "",
            _cut((e.error or e.note).replace("\n", " ")),
        )
        for e in rows
    ]
    return format_table(header, table) if table else "(the log is empty)"


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver log`."""
    if args.limit < 1:
        say("jira-driver log: --limit must be at least 1")
        return ExitCode.BAD_INPUT

    rows = ask_driver("log", config, lambda client: collect_log(client, args.limit, args.status))
    if isinstance(rows, ExitCode):
        return rows
    if args.json:
        for entry in rows:
            print(json.dumps(log_row_json(entry), ensure_ascii=False))
    else:
        print(log_table(rows))
    return ExitCode.OK
