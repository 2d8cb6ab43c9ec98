"""`jira-driver stats [--json]`: created / updated / total for today, yesterday and in total, read
from the running driver, days counted in the driver's time zone (named). --json prints GET
/api/stats's whole answer: the counters, the last 30 days and the time zone. 0 printed, 1 the
driver refused, 3 unreachable."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, format_table
from driver.config import Config
from driver.contract.client import DriverClient
from driver.contract.schemas import Statistics


def stats_json(stats: Statistics) -> dict[str, Any]:
    """The documented `stats --json` object: GET /api/stats's answer as it is."""
    data: dict[str, Any] = stats.model_dump(mode="json")
    return data


def zone_line(stats: Statistics) -> str:
    """Which day "today" is and in which time zone: the driver's, which may not be this host's."""
    today = f"today is {stats.days[-1].day} in" if stats.days else "days are counted in"
    return f"({today} {stats.timezone}, the driver's time zone: [driver] timezone)"


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver stats`."""

    stats = ask_driver("stats", config, DriverClient.stats)
    if isinstance(stats, ExitCode):
        return stats
    if args.json:
        print(json.dumps(stats_json(stats)))
        return ExitCode.OK
    rows = [
        (label, str(c.today), str(c.yesterday), str(c.total))
        for label, c in (("created", stats.create), ("updated", stats.update), ("total", stats.total))
    ]
    print(format_table(("", "TODAY", "YESTERDAY", "TOTAL"), rows))
    print(zone_line(stats))
    return ExitCode.OK
