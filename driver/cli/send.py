"""`jira-driver send [COMMAND ...]`: submit Advanced commands (arguments, else stdin lines) to the
running driver. 0 all accepted, 2 rejected (nothing was queued) or none given, 3 unreachable."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from driver.cli.exit_codes import ExitCode
from driver.cli.output import print_accepted, say
from driver.config import Config
from driver.contract.client import DriverClient, DriverRejected, DriverUnreachable
from driver.contract.schemas import AdvancedAccepted, CommandProblem

SEND_ATTEMPTS = 3
RETRY_DELAY = 0.3
"""Seconds before the second try, twice that before the third."""


def describe_problem(problem: CommandProblem) -> str:
    """A rejected command as a compiler would show it: the reason, the line, a caret."""
    caret = " " * max(problem.position - 1, 0) + "^"
    return (
        f"line {problem.line}, position {problem.position}: {problem.reason}\n  {problem.command}\n  {caret}"
    )


def commands_from(args: argparse.Namespace) -> list[str]:
    """The commands of the arguments, else of stdin; blank lines are skipped.

    Raises UnicodeDecodeError when stdin is not text in the locale's encoding.
    """
    # only a line feed ends a line: str.splitlines would also break a comment at U+2028 and the like
    lines: list[str] = list(args.commands) or sys.stdin.read().split("\n")
    # a trailing CR from a Windows-made file is not part of the command
    return [line.rstrip("\r") for line in lines if line.strip()]


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver send`."""
    try:
        commands = commands_from(args)
    except UnicodeDecodeError as exc:
        say(f"jira-driver send: stdin is not {exc.encoding} text (byte {exc.start})")
        return ExitCode.BAD_INPUT
    if not commands:
        say("jira-driver send: no command given (as arguments or on stdin)")
        return ExitCode.BAD_INPUT

    async def submit() -> AdvancedAccepted:
        # One key for the batch: if the answer is lost (the connection dropped after sending), the
        # batch is sent again under the same key and the driver queues it once.
        key = f"send-{uuid.uuid4()}"
        async with DriverClient.from_config(config) as client:
            for attempt in range(1, SEND_ATTEMPTS + 1):
                try:
                    return await client.send_commands(commands, idempotency_key=key)
                except DriverUnreachable:
                    if attempt == SEND_ATTEMPTS:
                        raise
                    await asyncio.sleep(RETRY_DELAY * attempt)
        raise AssertionError("unreachable")

    try:
        accepted = asyncio.run(submit())
    except DriverUnreachable as exc:
        say(f"jira-driver send: {exc}")
        return ExitCode.UNREACHABLE
    except DriverRejected as exc:
        problem = exc.command_problem
        say("jira-driver send: rejected, nothing was queued")
        say(describe_problem(problem) if problem else str(exc))
        return ExitCode.BAD_INPUT
    print_accepted(accepted)
    return ExitCode.OK
