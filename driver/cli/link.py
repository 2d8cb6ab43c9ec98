"""`jira-driver link GUID KEY`: make a ticket a person opened the alarm's ticket (the driver stamps
it, then the GUID's commands update it). 0 linked, 1 refused (the reason on stderr: the GUID has a
ticket or open rows, the ticket is another alarm's or unknown, or Jira's answer was lost and the
stamp is searched for before the GUID's next command), 2 bad input, 3 unreachable."""

from __future__ import annotations

import argparse

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver link`."""
    linked = ask_driver("link", config, lambda client: client.link_alarm(args.guid, args.key))
    if isinstance(linked, ExitCode):
        return linked
    print(f"linked {linked.guid} to {linked.ticket_key} {linked.ticket_url}")
    return ExitCode.OK
