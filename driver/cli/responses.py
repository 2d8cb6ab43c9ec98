"""`jira-driver responses [--json] [--limit N] [--status 4xx]`: the newest answers heard from Jira
(the Responses table), read from the running driver. 0 printed, 1 the driver refused, 2 bad flags,
3 unreachable."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, collect_pages, format_table, say
from driver.config import Config
from driver.contract.client import LOG_PAGE_MAX, DriverClient
from driver.contract.responses import ResponseEntry

STATUS_FORM = re.compile(r"^(?:[1-5]xx|none|[1-5][0-9][0-9])$")
BODY_WIDTH = 60
"""Characters of an answer's body the table shows (`--json` has the first 2 KB)."""


async def collect(client: DriverClient, limit: int, status: str | None) -> list[ResponseEntry]:
    """The newest `limit` responses (newest first), paged by the API's page size."""

    async def fetch(before_id: int | None, size: int) -> tuple[list[ResponseEntry], int | None]:
        page = await client.responses(status=status, before_id=before_id, limit=size)
        return page.rows, page.next_before_id

    return await collect_pages(fetch, limit, LOG_PAGE_MAX)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[ResponseEntry]) -> str:
    """The answers for people: local times, status (or 'none'), ms, the log row, the body's start."""
    header = ("ID", "TIME", "KIND", "METHOD", "PATH", "STATUS", "MS", "ROW", "RETRY-AFTER", "BODY / ERROR")
    lines = [
        (
            str(r.id),
            r.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.method,
            _cut(r.path, 50),
            str(r.status) if r.status is not None else "none",
            f"{r.duration_ms:.0f}",
            str(r.log_id) if r.log_id is not None else "",
            r.retry_after or "",
            _cut(r.error or r.body, BODY_WIDTH),
        )
        for r in rows
    ]
    return format_table(header, lines) if lines else "(no responses)"


def as_json(entry: ResponseEntry) -> dict[str, Any]:
    """One `responses --json` line: the API's object."""
    data: dict[str, Any] = entry.model_dump(mode="json")
    return data


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver responses`."""
    if args.limit < 1:
        say("jira-driver responses: --limit must be at least 1")
        return ExitCode.BAD_INPUT
    status = args.status.lower() if args.status else None
    if status is not None and not STATUS_FORM.match(status):
        say(f"jira-driver responses: --status {args.status!r}: expected a class (4xx), a code (429) or none")
        return ExitCode.BAD_INPUT
    rows = ask_driver("responses", config, lambda client: collect(client, args.limit, status))
    if isinstance(rows, ExitCode):
        return rows
    if args.json:
        for entry in rows:
            print(json.dumps(as_json(entry), ensure_ascii=False))
    else:
        print(table(rows))
    return ExitCode.OK
