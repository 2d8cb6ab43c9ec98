"""`jira-driver sim [flags]`: the Jira REST simulator (loopback by default), until Ctrl-C.

0 on a clean stop, 2 bad flags (or TLS files that cannot be used), 3 it could not start listening.
The flags and the runner are the simulator's own (jira_sim.cli).
"""

from __future__ import annotations

import argparse
import ssl

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver sim`; the driver's configuration is not used."""
    from driver.service.parent_watch import watch_parent_from_env
    from jira_sim.cli import serve, settings_from_args

    # started by `jira-driver demo`: stop when the demo is gone; done here, as jira_sim must not
    # import the driver (driver.service.parent_watch)
    watch_parent_from_env()
    try:
        settings = settings_from_args(args)
    except (ValueError, OSError) as exc:
        say(f"jira-driver sim: {exc}")
        return ExitCode.BAD_INPUT
    if (args.tls_cert is None) != (args.tls_key is None):
        say("jira-driver sim: --tls-cert and --tls-key go together")
        return ExitCode.BAD_INPUT
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path is not None and not path.is_file():
            say(f"jira-driver sim: {flag} {path}: no such file")
            return ExitCode.BAD_INPUT
    try:
        started = serve(settings, args.host, args.port, args.tls_cert, args.tls_key, args.manual_clock)
    except ssl.SSLError as exc:
        say(f"jira-driver sim: --tls-cert/--tls-key cannot be used: {exc.reason or exc}")
        return ExitCode.BAD_INPUT
    return ExitCode.OK if started else ExitCode.UNREACHABLE
