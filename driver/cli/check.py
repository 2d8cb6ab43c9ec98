"""`jira-driver check`: test the connection and credentials to Jira, and that tickets can be created
in the Ticket Creation Table's project with its issue type, in plain words.

0 connected and nothing found (`ok: ...` on stdout; an expiry warning may follow), else the class
of the first problem: 2 configuration (the TLS set-up, a project or issue type), 3 Jira cannot be
reached, 4 the credentials are refused, 5 a permission is missing, 6 the create screen or the
workflow refuses what the driver sends; 1 anything else. Each finding is one line (stderr) naming
what to do; --json prints the whole result as one object with its exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import ssl
from pathlib import Path

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_file import DEFAULT_CONFIG_FILE, config_file_in_use, exposed_secrets_warning, quoted_values
from driver.contract.schemas import CheckResult
from driver.errors import ConfigError
from driver.model.creation_table import TicketTable


def target_of(config: Config) -> tuple[str, str, TicketTable]:
    """The project and issue type creates use, and the table: the stored Ticket Creation Table's
    (what the driver sends), else the config file's seed."""
    from driver.model.creation_table import seed_table, table_target
    from driver.store import DatabaseFileError, read_ticket_state

    try:
        stored = read_ticket_state(config.driver.database)
    except (DatabaseFileError, sqlite3.Error, ValueError):
        stored = None  # `run` says what is wrong with the database; check asks about Jira
    if stored is not None:
        return (*table_target(stored[0]), stored[0])
    project, issue_type = config.ticket.project.strip(), config.ticket.issue_type.strip()
    return project, issue_type, seed_table(project, issue_type)


_EXIT_BY_KIND = {
    "config": ExitCode.BAD_INPUT,
    "connection": ExitCode.UNREACHABLE,
    "auth": ExitCode.AUTH,
    "permission": ExitCode.PERMISSION,
    "screen": ExitCode.SCREEN,
    "workflow": ExitCode.SCREEN,
}


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver check`."""
    from driver.app.alert_templates import compile_all
    from driver.app.credential_expiry import credential_expiry
    from driver.jira.check import check
    from driver.jira.client import JiraClient
    from driver.model.diagnosis import CheckPlan
    from driver.store.oauth_grant import GrantFile

    project, issue_type, table = target_of(config)
    lifecycle = config.lifecycle_settings()
    plan = CheckPlan.of(
        table,
        project,
        issue_type,
        config.ticket.guid_field,
        (lifecycle.resolve_target, lifecycle.reopen_target),
        lifecycle.resolution,
    )
    secret_warning = config.jira.client_secret_trimmed()[1] if config.jira.auth.startswith("oauth") else ""

    async def run() -> tuple[CheckResult, bool]:
        client = JiraClient.from_config(config.jira, grants=GrantFile(Path(config.driver.database)))
        try:
            return await check(client, project, issue_type, plan, credential_expiry(config))
        finally:
            await client.aclose()

    try:
        # what `run` refuses before it starts, refused here too (an OAuth secret missing: nothing
        # to ask the token endpoint with; a webhook without its secret; a template that does not
        # compile), and nothing is sent
        config.check_for_the_driver()
        compile_all(config)
    except ConfigError as exc:
        say(f"jira-driver check: configuration error: {exc}")
        return ExitCode.BAD_INPUT
    config_file = config_file_in_use(getattr(args, "config", None))
    if config_file is None:
        # said first: a 401 that follows is then no riddle
        say(
            f"no config file: {DEFAULT_CONFIG_FILE} not found and no --config given; checking with the"
            " built-in defaults and JIRA_DRIVER_* variables"
        )
    elif exposed := exposed_secrets_warning(config_file):
        # check is the first command people run: it says what `run` would
        say(f"warning: {exposed}")
    if secret_warning:
        say(f"warning: {secret_warning}")
    for quoted in quoted_values(config):
        say(f"warning: {quoted}")
    try:
        result, unreachable = asyncio.run(run())
    except ssl.SSLError as exc:
        # a [jira] ca_bundle that exists but holds no usable PEM certificate
        say(f"jira-driver check: configuration error: [jira] ca_bundle: {exc.reason or exc}")
        return ExitCode.BAD_INPUT
    except ConfigError as exc:
        say(f"jira-driver check: configuration error: {exc}")
        return ExitCode.BAD_INPUT
    status = _status(result, unreachable)
    if args.json:
        print(json.dumps({**result.model_dump(mode="json"), "exit": int(status)}))
        return status
    if result.ok:
        print(f"ok: {result.message}")
    else:
        say(f"failed: {result.message}")
    for finding in result.findings:
        if finding.message == result.message:
            continue  # the one problem is the answer: said once
        line = f"{'warning' if finding.kind == 'expiry' else finding.kind}: {finding.message}"
        if result.ok:
            print(line)
        else:
            say(line)
    return status


def _status(result: CheckResult, unreachable: bool) -> ExitCode:
    """The exit status of the most basic class of problem found (config first, then connection,
    auth, permission, screen); 0 when there is none (an expiry warning alone included)."""
    if result.ok:
        return ExitCode.OK
    if unreachable:
        return ExitCode.UNREACHABLE
    codes = [_EXIT_BY_KIND[f.kind] for f in result.findings if f.kind in _EXIT_BY_KIND]
    order = list(_EXIT_BY_KIND.values())
    return min(codes, key=order.index) if codes else ExitCode.FAILED
