"""The `jira-driver` command line: one sub-command per job, thin handlers, heavy imports deferred.

Exit codes: 0 success, 1 the job failed, 2 bad input or configuration (nothing changed),
3 the driver (or Jira, for `check`) cannot be reached.
stdout carries the command's result; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from driver import __version__
from driver.config import Config, load_config
from driver.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3

Handler = Callable[[argparse.Namespace, Config], int]


def _cmd_sim(args: argparse.Namespace, config: Config) -> int:
    from jira_sim.cli import main as sim_main

    return sim_main(args)


def _cmd_parse(args: argparse.Namespace, config: Config) -> int:
    from driver.dry_run import main as parse_main

    return parse_main(args, config)


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from driver.service import main as run_main

    return run_main(args, config)


def _cmd_send(args: argparse.Namespace, config: Config) -> int:
    from driver.api_client import send_main

    return send_main(args, config)


def _cmd_check(args: argparse.Namespace, config: Config) -> int:
    from driver.jira_client import check_main

    return check_main(args, config)


def _cmd_log(args: argparse.Namespace, config: Config) -> int:
    from driver.api_client import log_main

    return log_main(args, config)


def _cmd_stats(args: argparse.Namespace, config: Config) -> int:
    from driver.api_client import stats_main

    return stats_main(args, config)


def _cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from driver.demo import main as demo_main

    return demo_main(args, config)


def _cmd_ui(args: argparse.Namespace, config: Config) -> int:
    from ui.app import main as ui_main

    return ui_main(args, config)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="INI configuration (default: ./jira-driver.ini when present, else built-in defaults)",
    )
    parser = argparse.ArgumentParser(
        prog="jira-driver",
        description="Turn monitoring alarms into Jira tickets.",
    )
    parser.add_argument("--version", action="version", version=f"jira-driver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("run", _cmd_run, "run the driver: store, sending engine and HTTP API")
    p.add_argument("--json-logs", action="store_true", help="log JSON lines instead of plain text")
    p.add_argument(
        "--init",
        action="store_true",
        help="start on a missing, empty or replaced database (see docs/operations.md)",
    )

    p = add("sim", _cmd_sim, "run the Jira REST simulator (loopback by default)")
    from jira_sim.cli import add_arguments as add_sim_arguments

    add_sim_arguments(p)

    p = add("send", _cmd_send, "submit Advanced commands to the running driver")
    p.add_argument("commands", nargs="*", metavar="COMMAND", help="commands; stdin lines if none")

    p = add("parse", _cmd_parse, "show, as JSON, what an Advanced command would send (dry run)")
    p.add_argument("command_text", metavar="COMMAND", help="e.g. 'ALARM-1|CREATE|summary;Disk full|'")

    add("check", _cmd_check, "test the connection and credentials to Jira")

    p = add("log", _cmd_log, "print the create/update log")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (default 50)")
    p.add_argument(
        "--status",
        choices=["Pending", "Deferred", "Ok", "Failed"],
        type=str.capitalize,
        help="only rows with this status",
    )

    p = add("stats", _cmd_stats, "print the daily statistics")
    p.add_argument("--json", action="store_true", help="one JSON object")

    p = add("demo", _cmd_demo, "start the simulator, the driver against it and sample alarms")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    p.add_argument("--no-ui", action="store_true", help="print the log instead of opening the TUI")

    p = add("ui", _cmd_ui, "open the operator TUI on a running driver")
    p.add_argument(
        "--url",
        metavar="URL",
        help="the driver's API, e.g. http://ops-host:8750 (default: $JIRA_DRIVER_URL, else [driver] listen)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"jira-driver: configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        handler: Handler = args.handler
        return handler(args, config)
    except KeyboardInterrupt:
        return 130
