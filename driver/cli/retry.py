"""`jira-driver retry GUID`: accept the alarm's Failed rows again as new rows, each noting "retry of
log #N"; the Failed rows stay in the log as they were (POST /api/alarms/retry; the TUI's Alarms
page `t`). 0 accepted (one line per new row), 1 refused (the reason on stderr: the GUID has no
Failed rows), 2 a GUID the driver refuses (empty, too long), 3 unreachable."""

from __future__ import annotations

import argparse

from driver.cli.output import ask_for_rows
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver retry`."""
    return ask_for_rows("retry", config, lambda client: client.retry_alarm(args.guid))
