"""Arguments and entry point of `jira-driver sim` (placeholder until the simulator lands)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags to its sub-command parser."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)


def main(args: argparse.Namespace) -> int:
    """Run the simulator until interrupted."""
    print("jira-driver sim: not built yet", file=sys.stderr)
    return 1
