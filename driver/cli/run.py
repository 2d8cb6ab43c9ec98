"""`jira-driver run [--json-logs]`: the driver itself (store, sending engine, HTTP API) until
SIGINT/SIGTERM.

Exit statuses: 0 on a clean stop by SIGTERM (a service manager's stop); 130 on Ctrl-C (SIGINT, the
shell's convention for every command), after the same clean stop; 1 when it cannot start (the
address is taken, the database cannot be opened); 2 when another driver holds the database (one
line naming its PID), the database file is refused (driver.store.database_file), a configured
value is out of bounds or the TLS set-up of the configuration cannot be used."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import ssl
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_file import config_file_in_use, quoted_values
from driver.errors import ConfigError

T = TypeVar("T")


def asyncio_run(main: Coroutine[Any, Any, T], event_loop: str) -> T:
    """Run `main` on the configured event loop ([driver] event_loop). uvloop's loop is libuv's: the
    same asyncio API with less CPU per callback and per socket event, which is most of what a
    driver waiting on Jira spends beyond the HTTP client itself (tests/bench/bench_cpu.py)."""
    if event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if event_loop == "uvloop":
                raise ConfigError("driver", "event_loop", event_loop, "uvloop is not installed") from None
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver run`."""
    from driver.app.alert_templates import compile_all
    from driver.service.logging_setup import masking_words, setup_logging
    from driver.service.parent_watch import watch_parent_from_env
    from driver.service.process import LEASE_LOST, serve
    from driver.store import DatabaseFileError

    # started by `jira-driver demo`: stop when the demo is gone, however it went (driver.service.parent_watch)
    watch_parent_from_env()
    try:
        # before the lock, the port and the database: a plain configuration error, nothing made
        config.check_for_the_driver()
        compile_all(config)
    except ConfigError as exc:
        say(f"jira-driver run: configuration error: {exc}")
        return ExitCode.BAD_INPUT
    setup_logging(
        bool(args.json_logs) or config.driver.log_format == "json", config.secrets(), config.jira.username
    )
    for warning in [*masking_words(config.named_secrets()), *quoted_values(config)]:
        logging.getLogger("driver").warning("%s", warning)
    config_file = config_file_in_use(getattr(args, "config", None))
    try:
        stopped_by = asyncio_run(
            serve(config, init=bool(args.init), config_file=config_file), config.driver.event_loop
        )
    except DatabaseFileError as exc:
        # what is wrong with the file and what to do (restore, --init), in one line
        say(f"jira-driver run: {exc}")
        return ExitCode.BAD_INPUT
    except ConfigError as exc:
        say(f"jira-driver run: configuration error: {exc}")
        return ExitCode.BAD_INPUT
    except sqlite3.Error as exc:
        say(f"jira-driver run: cannot use the database {config.driver.database}: {exc}")
        return ExitCode.FAILED
    except ssl.SSLError as exc:
        # a [jira] ca_bundle that exists but holds no usable PEM certificate
        say(f"jira-driver run: configuration error: [jira] ca_bundle: {exc.reason or exc}")
        return ExitCode.BAD_INPUT
    except OSError as exc:
        # e.g. the database's directory cannot be created; the error names the path
        say(f"jira-driver run: {exc}")
        return ExitCode.FAILED
    if stopped_by is None:
        return ExitCode.FAILED
    if stopped_by == LEASE_LOST:
        # the engine's memory is of a past the other node has moved on from: start afresh, as a
        # standby, in this same process (a service manager keeps seeing one PID)
        logging.getLogger("driver").warning("this node lost the sender's lease: starting again as a standby")
        restart()
    return ExitCode.INTERRUPTED if stopped_by == "SIGINT" else ExitCode.OK


def restart() -> NoReturn:
    """Replace this process by the same command line (os.execv: same PID, environment, directory)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
