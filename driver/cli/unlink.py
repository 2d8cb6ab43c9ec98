"""`jira-driver unlink GUID`: end the alarm's link to its ticket; its next CREATE makes a new ticket
(the next generation), and the old one stays in its history as unlinked (POST /api/alarms/unlink;
the TUI's Alarms page `u`). 0 unlinked, 1 refused (the reason on stderr: the GUID has no ticket, or
rows Pending or Deferred: unlink it once they are settled), 2 a GUID the driver refuses (empty, too
long), 3 unreachable."""

from __future__ import annotations

import argparse

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver unlink`."""
    unlinked = ask_driver("unlink", config, lambda client: client.unlink_alarm(args.guid))
    if isinstance(unlinked, ExitCode):
        return unlinked
    ticket = unlinked.ticket_key or "its ticket"
    print(
        f"unlinked {unlinked.guid} from {ticket}: its next CREATE makes a new ticket"
        f" (generation {unlinked.generation + 1})"
    )
    return ExitCode.OK
