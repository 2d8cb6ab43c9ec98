"""`jira-driver alarms [--json] [--state S] [--limit N]`: the Alarms table, one row per GUID the
driver knows, newest activity first, read from the running driver. 0 printed, 1 the driver
refused, 2 bad flags, 3 unreachable."""

from __future__ import annotations

import argparse
import json

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, collect_pages, format_table, say
from driver.config import Config
from driver.contract.alarms import AlarmEntry
from driver.contract.client import LOG_PAGE_MAX, DriverClient

SUMMARY_WIDTH = 40


async def collect(client: DriverClient, limit: int, state: str | None, q: str | None) -> list[AlarmEntry]:
    """The `limit` alarms of newest activity, paged by the API's page size."""

    async def fetch(before: int | None, size: int) -> tuple[list[AlarmEntry], int | None]:
        page = await client.alarms(state=state, q=q, before=before, limit=size)
        return page.rows, page.next_before

    return await collect_pages(fetch, limit, LOG_PAGE_MAX)


def _cut(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[AlarmEntry]) -> str:
    """The alarms for people: state, ticket and Jira status, last command and when, row counts."""
    header = (
        "GUID",
        "STATE",
        "TICKET",
        "JIRA STATUS",
        "LAST",
        "WHEN",
        "SENT",
        "WAITING",
        "FAILED",
        "SUMMARY",
    )
    lines = [
        (
            a.guid,
            a.state,
            a.ticket_key or "",
            a.jira_status or "",
            a.last_action,
            a.last_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            str(a.updates_sent),
            str(a.updates_waiting),
            str(a.failed_rows),
            _cut(a.summary, SUMMARY_WIDTH),
        )
        for a in rows
    ]
    return format_table(header, lines) if lines else "(no alarms)"


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver alarms`."""
    if args.limit < 1:
        say("jira-driver alarms: --limit must be at least 1")
        return ExitCode.BAD_INPUT
    rows = ask_driver("alarms", config, lambda client: collect(client, args.limit, args.state, args.search))
    if isinstance(rows, ExitCode):
        return rows
    if args.json:
        for entry in rows:
            print(json.dumps(entry.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(table(rows))
    return ExitCode.OK
