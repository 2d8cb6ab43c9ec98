"""`jira-driver demo [--seconds S] [--no-ui]`: the simulator, a driver against it and a feed of
sample alarms (driver.demo), in the TUI when a terminal is there, else as printed log rows.
0 after Ctrl-C, SIGTERM, SIGHUP or --seconds (the children stopped), 1 when the demo could not run."""

from __future__ import annotations

import argparse
import sys

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver demo`; it writes its own configuration, so `config` is not used."""
    from driver.demo import DemoError, run_demo

    use_ui = not args.no_ui and sys.stdout.isatty() and sys.stdin.isatty()
    try:
        run_demo(args.seconds, use_ui)
    except (DemoError, OSError) as exc:
        say(f"jira-driver demo: {exc}")
        return ExitCode.FAILED
    return ExitCode.OK
