"""`jira-driver check`: test the connection and credentials to Jira, and that tickets can be created
in the Ticket Creation Table's project with its issue type, in plain words.

0 connected (`ok: ...` on stdout), 1 Jira refused (`failed: ...` on stderr), 2 the TLS set-up of
the configuration cannot be used, 3 Jira cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import ssl
from pathlib import Path

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_file import DEFAULT_CONFIG_FILE, config_file_in_use
from driver.contract.schemas import CheckResult


def target_of(config: Config) -> tuple[str, str]:
    """The project and issue type creates use: the stored Ticket Creation Table's (what the
    driver sends), else the config file's seed."""
    from driver.model.creation_table import table_target
    from driver.store import DatabaseFileError, read_ticket_state

    try:
        stored = read_ticket_state(config.driver.database)
    except (DatabaseFileError, sqlite3.Error, ValueError):
        stored = None  # `run` says what is wrong with the database; check asks about Jira
    if stored is not None:
        return table_target(stored[0])
    return config.ticket.project.strip(), config.ticket.issue_type.strip()


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver check`."""
    from driver.jira.check import check
    from driver.jira.client import JiraClient
    from driver.store.oauth_grant import GrantFile

    project, issue_type = target_of(config)

    async def run() -> tuple[CheckResult, bool]:
        client = JiraClient.from_config(config.jira, grants=GrantFile(Path(config.driver.database)))
        try:
            return await check(client, project, issue_type)
        finally:
            await client.aclose()

    if config_file_in_use(getattr(args, "config", None)) is None:
        # said first: a 401 that follows is then no riddle
        say(
            f"no config file: {DEFAULT_CONFIG_FILE} not found and no --config given; checking with the"
            " built-in defaults and JIRA_DRIVER_* variables"
        )
    try:
        result, unreachable = asyncio.run(run())
    except ssl.SSLError as exc:
        # a [jira] ca_bundle that exists but holds no usable PEM certificate
        say(f"jira-driver check: configuration error: [jira] ca_bundle: {exc.reason or exc}")
        return ExitCode.BAD_INPUT
    if result.ok:
        print(f"ok: {result.message}")
        return ExitCode.OK
    say(f"failed: {result.message}")
    return ExitCode.UNREACHABLE if unreachable else ExitCode.FAILED
