"""`jira-driver search JQL [--json] [--limit N]`: Get Eligible Ticket from the shell: Jira's issues
matching a JQL, newest update first, asked through the running driver (its credentials, its
connection to Jira). 0 printed, 1 the driver or Jira refused (Jira's reason on stderr), 2 bad
flags or a JQL Jira refuses (its reason on stderr), 3 unreachable."""

from __future__ import annotations

import argparse
import json

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, collect_pages, format_table, say
from driver.config import Config
from driver.contract.client import DriverClient
from driver.contract.eligible import MAX_RAW_JQL, EligibleIssue, EligibleQuery

PAGE = 100


async def collect(client: DriverClient, jql: str, limit: int) -> list[EligibleIssue]:
    """The first `limit` issues the JQL finds, paged."""

    async def fetch(cursor: str | None, size: int) -> tuple[list[EligibleIssue], str | None]:
        page = await client.eligible(EligibleQuery(jql=jql, cursor=cursor, limit=size))
        return page.issues, page.next_cursor

    return await collect_pages(fetch, limit, PAGE)


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver search`."""
    if args.limit < 1:
        say("jira-driver search: --limit must be at least 1")
        return ExitCode.BAD_INPUT
    if len(args.jql) > MAX_RAW_JQL:
        say(f"jira-driver search: the JQL is {len(args.jql)} characters (at most {MAX_RAW_JQL})")
        return ExitCode.BAD_INPUT
    issues = ask_driver("search", config, lambda client: collect(client, args.jql, args.limit))
    if isinstance(issues, ExitCode):
        return issues
    if args.json:
        for issue in issues:
            print(json.dumps(issue.model_dump(mode="json"), ensure_ascii=False))
        return ExitCode.OK
    header = ("KEY", "STATUS", "ASSIGNEE", "UPDATED", "SUMMARY")
    rows = [(i.key, i.status, i.assignee or "", i.updated or "", i.summary[:60]) for i in issues]
    print(format_table(header, rows) if rows else "(no issues)")
    return ExitCode.OK
