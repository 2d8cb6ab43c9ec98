"""`jira-driver ui [--url URL]`: the operator TUI on a running driver (--url, else $JIRA_DRIVER_URL,
else the address of [driver] listen). The TUI is imported only here, when the command runs."""

from __future__ import annotations

import argparse

from driver.cli.exit_codes import ExitCode
from driver.config import Config
from driver.contract.client import driver_url


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver ui`: 0 when the operator quits."""
    from ui.app import run_app

    url = driver_url(config, override=args.url)
    run_app(url, config.driver.api_token.get_secret_value() or None)
    return ExitCode.OK
