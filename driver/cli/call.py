"""`jira-driver call NAME GUID [VAR=VALUE ...]`: call a custom API endpoint for an alarm's ticket (a
Manual CALL row, sent in the GUID's order like an Advanced CALL). With --wait, the row's outcome.
0 accepted (with --wait: Ok), 1 Failed (--wait) or still open when the wait ended, 2 refused (an
unknown endpoint, a variable missing or unused: nothing queued), 3 unreachable."""

from __future__ import annotations

import argparse
import asyncio
import json

from driver.cli.exit_codes import ExitCode
from driver.cli.output import print_accepted, say
from driver.config import Config
from driver.contract.client import DriverClient, DriverRejected, DriverUnreachable
from driver.contract.schemas import LogEntry, LogStatus

POLL_SECONDS = 0.2


def variables_of(pairs: list[str]) -> dict[str, str] | str:
    """`name=value` arguments as a mapping, or why one is not one (the value may hold `=`)."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            return f"expected VAR=VALUE, got {pair!r}"
        if name in variables:
            return f"variable {name!r} given twice"
        variables[name] = value
    return variables


async def _settled(client: DriverClient, log_id: int, seconds: float) -> LogEntry:
    entry = await client.log_entry(log_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while entry.status in (LogStatus.PENDING, LogStatus.DEFERRED) and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        entry = await client.log_entry(log_id)
    return entry


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver call`."""
    variables = variables_of(args.variables)
    if isinstance(variables, str):
        say(f"jira-driver call: {variables}")
        return ExitCode.BAD_INPUT

    async def run() -> tuple[int, LogEntry | None]:
        async with DriverClient.from_config(config) as client:
            accepted = await client.call_endpoint(args.name, args.guid, variables)
            (item,) = accepted.accepted
            print_accepted(accepted)
            if args.wait is None:
                return item.id, None
            return item.id, await _settled(client, item.id, args.wait)

    try:
        log_id, entry = asyncio.run(run())
    except DriverUnreachable as exc:
        say(f"jira-driver call: {exc}")
        return ExitCode.UNREACHABLE
    except DriverRejected as exc:
        say(f"jira-driver call: refused, nothing was queued: {exc}")
        return ExitCode.BAD_INPUT if exc.status in (400, 404) else ExitCode.FAILED
    if entry is None:
        return ExitCode.OK
    if args.json:
        print(json.dumps(entry.model_dump(mode="json"), ensure_ascii=False))
    else:
        answer = entry.response.get("status") if entry.response else None
        shown = f" HTTP {answer}" if answer is not None else ""
        print(f"#{log_id} {entry.status.value}{shown} {entry.error}".rstrip())
    return ExitCode.OK if entry.status == LogStatus.OK else ExitCode.FAILED
