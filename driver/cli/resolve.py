"""`jira-driver resolve GUID`: resolve the alarm's ticket now, a Manual RESOLVE sent as an Advanced
one is, without waiting out the resolve hold (POST /api/alarms/resolve; the TUI's Alarms page `r`).
The alarm's own state does not change. 0 accepted (the row's id on stdout: `jira-driver log --guid
GUID` shows its outcome), 1 refused (the reason on stderr: the GUID has no ticket), 2 a GUID the
driver refuses (empty, too long), 3 unreachable."""

from __future__ import annotations

import argparse

from driver.cli.output import ask_for_rows
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver resolve`."""
    return ask_for_rows("resolve", config, lambda client: client.resolve_alarm(args.guid))
