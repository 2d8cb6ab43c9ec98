"""The `jira-driver` command line: one sub-command per job, thin handlers, heavy imports deferred.

Each sub-command's handler is a module of this package (driver.cli.send, .parse, .run ...): it reads
the arguments, calls the logic where it lives (driver.contract.client, driver.model.dry_run,
driver.service.process, driver.jira.client, driver.demo, jira_sim.cli) and prints.
Exit statuses: driver.cli.exit_codes
(0 success, 1 the job failed, 2 bad input or configuration, nothing changed, 3 the driver, or Jira
for `check`, cannot be reached, 130 interrupted). stdout carries the command's result; diagnostics
go to stderr, one line per error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from driver import __version__
from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_file import DEFAULT_CONFIG_FILE, load_config
from driver.contract.schemas import LogStatus
from driver.errors import ConfigError

Handler = Callable[[argparse.Namespace, Config], int]


# Each handler imports its module only when its command runs, so `jira-driver --help` and the light
# commands never load the server stack or the TUI.


def _cmd_sim(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import sim

    return sim.main(args, config)


def _cmd_parse(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import parse

    return parse.main(args, config)


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import run

    return run.main(args, config)


def _cmd_send(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import send

    return send.main(args, config)


def _cmd_check(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import check

    return check.main(args, config)


def _cmd_auth(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import auth

    return auth.main(args, config)


def _cmd_log(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import log

    return log.main(args, config)


def _cmd_alarms(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import alarms

    return alarms.main(args, config)


def _cmd_link(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import link

    return link.main(args, config)


def _cmd_unlink(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import unlink

    return unlink.main(args, config)


def _cmd_resolve(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import resolve

    return resolve.main(args, config)


def _cmd_retry(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import retry

    return retry.main(args, config)


def _cmd_call(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import call

    return call.main(args, config)


def _cmd_endpoints(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import endpoints

    return endpoints.main(args, config)


def _cmd_search(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import search

    return search.main(args, config)


def _cmd_responses(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import responses

    return responses.main(args, config)


def _cmd_ticket(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import ticket

    return ticket.main(args, config)


def _cmd_stats(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import stats

    return stats.main(args, config)


def _cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import demo

    return demo.main(args, config)


def _cmd_ui(args: argparse.Namespace, config: Config) -> int:
    from driver.cli import ui

    return ui.main(args, config)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    config_help = "INI configuration (default: ./jira-driver.ini when present, else built-in defaults)"
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a sub-command without --config keeps the one given before it (both orders work)
    common.add_argument("--config", type=Path, metavar="FILE", default=argparse.SUPPRESS, help=config_help)
    parser = argparse.ArgumentParser(
        prog="jira-driver",
        description="Turn monitoring alarms into Jira tickets.",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", default=None, help=config_help)
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

    p = add("check", _cmd_check, "test the connection, credentials, permissions and create screen")
    p.add_argument("--json", action="store_true", help="the whole result as one JSON object")

    p = add("auth", _cmd_auth, "OAuth consent (login, logout) and when the credentials expire (status)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    login = actions.add_parser(
        "login",
        parents=[common],
        help="a person's consent for [jira] auth = oauth_3lo, kept beside the database",
        description="Print the consent URL and take the code from the browser's redirect.",
    )
    login.add_argument("--paste", action="store_true", help="paste the callback URL (a headless host)")
    login.add_argument(
        "--timeout", type=float, default=300.0, metavar="SECONDS", help="wait this long for the callback"
    )
    status = actions.add_parser(
        "status", parents=[common], help="who consented, the scopes, and when credentials expire"
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    actions.add_parser("logout", parents=[common], help="remove the kept consent from this host")

    p = add("log", _cmd_log, "print the create/update log")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (default 50)")
    p.add_argument(
        "--status",
        choices=[s.value for s in LogStatus],
        type=str.capitalize,
        help="only rows with this status",
    )
    p.add_argument("--guid", metavar="GUID", help="only rows of this GUID, exactly as in its commands")
    p.add_argument(
        "--search", metavar="TEXT", help="only rows whose GUID, ticket key, action, error or note holds TEXT"
    )
    moment = "ISO 8601, e.g. 2026-03-02T09:00:00Z or 2026-03-02 (UTC when no offset is given)"
    p.add_argument("--since", metavar="TIME", help=f"only rows at or after TIME: {moment}")
    p.add_argument(
        "--until", metavar="TIME", help=f"only rows at or before TIME (a date alone: to its end): {moment}"
    )

    p = add(
        "alarms", _cmd_alarms, "print the Alarms table: every GUID the driver knows, newest activity first"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N alarms (default 50)")
    p.add_argument(
        "--state", choices=["active", "cleared", "resolve_hold", "unknown"], help="only alarms in this state"
    )
    p.add_argument(
        "--search", metavar="TEXT", help="only alarms whose GUID, ticket key or summary holds TEXT"
    )

    p = add("link", _cmd_link, "make a ticket a person opened an alarm's ticket (stamped first)")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID (quote it)")
    p.add_argument("key", metavar="KEY", help="the ticket's key, e.g. OPS-12")

    p = add("unlink", _cmd_unlink, "end an alarm's link to its ticket: its next CREATE makes a new ticket")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID (quote it)")

    p = add("resolve", _cmd_resolve, "resolve an alarm's ticket now (a Manual RESOLVE, without the hold)")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID (quote it)")

    p = add("retry", _cmd_retry, "accept an alarm's Failed rows again as new rows (they stay in the log)")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID (quote it)")

    p = add("call", _cmd_call, "call a custom API endpoint for an alarm's ticket (a Manual CALL)")
    p.add_argument("name", metavar="NAME", help="the endpoint, as in its [endpoint.NAME] section")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID (quote it)")
    p.add_argument("variables", nargs="*", metavar="VAR=VALUE", help="the endpoint's variables")
    p.add_argument(
        "--wait", type=float, metavar="SECONDS", help="wait up to SECONDS for the row's outcome and print it"
    )
    p.add_argument("--json", action="store_true", help="with --wait: the row as one JSON object")

    p = add("endpoints", _cmd_endpoints, "list the custom API endpoints a CALL may use")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = add("search", _cmd_search, "Get Eligible Ticket: Jira's issues matching a JQL, through the driver")
    p.add_argument("jql", metavar="JQL", help="e.g. 'project = OPS AND statusCategory != Done'")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N issues (default 50)")

    p = add("responses", _cmd_responses, "print the answers heard from Jira (the Responses table)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (default 50)")
    p.add_argument("--status", metavar="S", help="only answers of this class (4xx), code (429), or none")

    p = add("ticket", _cmd_ticket, "print what the driver records of one GUID: its ticket and alarm")
    p.add_argument("guid", metavar="GUID", help="the alarm's GUID, e.g. '12/345/6789' (quote it)")
    p.add_argument("--json", action="store_true", help="the API's JSON, one object")

    p = add("stats", _cmd_stats, "print the daily statistics (days in the driver's time zone)")
    p.add_argument(
        "--json", action="store_true", help="the API's whole answer: counters, the last 30 days, time zone"
    )

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
    """Entry point of the console script and of `python -m driver`: the command's exit status.

    The errors every command can meet end as one line on stderr, never a traceback: a bad
    configuration (2), Ctrl-C (130), a reader of stdout that went away (1). Each command's own
    errors are handled in its module.
    """
    args = build_parser().parse_args(argv)
    try:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            say(f"jira-driver: configuration error: {exc}")
            return ExitCode.BAD_INPUT
        except UnicodeDecodeError:
            # configparser reads the file as UTF-8 text and lets a decoding error through
            path = args.config or DEFAULT_CONFIG_FILE
            say(f"jira-driver: configuration error: [file] {path}: not UTF-8 text")
            return ExitCode.BAD_INPUT
        handler: Handler = args.handler
        try:
            status = handler(args, config)
        except ConfigError as exc:  # met by a command itself: $JIRA_DRIVER_URL not a URL, say
            say(f"jira-driver: configuration error: {exc}")
            return ExitCode.BAD_INPUT
        # flushed here, not at exit, so that a closed pipe is met inside this try
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        say("jira-driver: interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `jira-driver log | head`: the reader left; point stdout at /dev/null so that the flush at
        # exit does not complain about the same broken pipe again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.FAILED
