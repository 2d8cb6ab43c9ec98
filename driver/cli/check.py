"""`jira-driver check`: test the connection and credentials to Jira, in plain words.

0 connected (`ok: ...` on stdout), 1 Jira refused (`failed: ...` on stderr), 2 the TLS set-up of
the configuration cannot be used, 3 Jira cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_file import DEFAULT_CONFIG_FILE, config_file_in_use
from driver.contract.schemas import CheckResult


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver check`."""
    from driver.jira.check import check
    from driver.jira.client import JiraClient

    async def run() -> tuple[CheckResult, bool]:
        client = JiraClient.from_config(config.jira)
        try:
            return await check(client)
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
