"""`jira-driver log [--json] [--limit N] [--status S] [--guid GUID] [--search TEXT] [--since T]
[--until T]`: the newest rows of the create/update log, read from the running driver, filtered as
GET /api/log filters (the same parameters, the same formats). 0 printed, 1 the driver refused, 2 bad
flags (one line naming the option), 3 unreachable."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, collect_pages, format_table, say
from driver.config import Config
from driver.contract.client import LOG_PAGE_MAX, DriverClient
from driver.contract.schemas import MAX_SEARCH_TEXT, LogEntry, Moment

LOG_COLUMNS = (
    "id",
    "type",
    "action",
    "guid",
    "time",
    "status",
    "ticket_id",
    "ticket_key",
    "ticket_url",
    "error",
    "note",
)
"""The keys of a `log --json` line, in order (the documented contract)."""


@dataclass(frozen=True)
class LogFilters:
    """The filters of `jira-driver log`, as GET /api/log takes them (None: not filtered)."""

    status: str | None = None
    guid: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def any(self) -> bool:
        """Whether any filter is given (an empty answer then means no row matched)."""
        return any(v is not None for v in (self.status, self.guid, self.q, self.since, self.until))


_MOMENT: TypeAdapter[datetime] = TypeAdapter(Moment)


class BadOption(ValueError):
    """A filter's value GET /api/log would refuse: the one line `log` says."""


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _moment(option: str, text: str | None) -> datetime | None:
    """--since or --until as the API reads it: ISO 8601, UTC when no offset is given."""
    if text is None:
        return None
    try:
        moment = _MOMENT.validate_python(text)
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        if not reason.startswith("expected"):  # pydantic's words: what is wrong with the text
            reason = f"expected an ISO 8601 date-time such as 2026-03-02T09:00:00Z ({reason.lower()})"
        raise BadOption(f"--{option} {text!r}: {reason}") from None
    if option == "until" and _DATE_ONLY.match(text):
        # a day named alone is the whole day: `--until 2026-12-06` keeps that day's rows
        return moment + timedelta(days=1) - timedelta(microseconds=1)
    return moment


def _text(option: str, text: str | None) -> str | None:
    if text is None:
        return None
    if not text:
        raise BadOption(f"--{option}: empty (leave the option out to list every row)")
    if len(text) > MAX_SEARCH_TEXT:
        raise BadOption(f"--{option}: {len(text)} characters, at most {MAX_SEARCH_TEXT}")
    return text


def filters_of(args: argparse.Namespace) -> LogFilters:
    """The filters the flags ask for; BadOption names the first flag GET /api/log would refuse."""
    since, until = _moment("since", args.since), _moment("until", args.until)
    if since is not None and until is not None and since > until:
        raise BadOption(f"--since {args.since!r} is after --until {args.until!r}: no row can match")
    return LogFilters(
        status=args.status,
        guid=_text("guid", args.guid),
        q=_text("search", args.search),
        since=since,
        until=until,
    )


async def collect_log(client: DriverClient, limit: int, filters: LogFilters) -> list[LogEntry]:
    """The newest `limit` rows (newest first) matching the filters, paged by the API's page size."""

    async def fetch(before_id: int | None, size: int) -> tuple[list[LogEntry], int | None]:
        page = await client.log(
            status=filters.status,
            guid=filters.guid,
            q=filters.q,
            since=filters.since,
            until=filters.until,
            before_id=before_id,
            limit=size,
        )
        return page.rows, page.next_before_id

    return await collect_pages(fetch, limit, LOG_PAGE_MAX)


def log_row_json(entry: LogEntry) -> dict[str, Any]:
    """The documented `log --json` object of a row."""
    data = entry.model_dump(mode="json", include=set(LOG_COLUMNS))
    return {key: data[key] for key in LOG_COLUMNS}


NOTE_WIDTH = 100
"""Characters of a row's error or note `log` shows in its table."""


def _cut(text: str) -> str:
    return text if len(text) <= NOTE_WIDTH else text[: NOTE_WIDTH - 1] + "…"


def log_table(rows: list[LogEntry], filtered: bool = False) -> str:
    """The rows for people: local times, and the error (or, for a row without one, its note: what
    the driver did, e.g. "reopened it", why a RESOLVE was Cancelled) on one line, cut at NOTE_WIDTH
    characters and then ending in "…" (`jira-driver log --json` or the TUI show it whole). No rows:
    "(no rows match)" when a filter was given, else "(the log is empty)"."""
    header = ("ID", "TYPE", "ACTION", "GUID", "TIME", "STATUS", "TICKET", "ERROR / NOTE")
    table = [
        (
            str(e.id),
            e.type.value,
            e.action,
            e.guid,
            e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            e.status.value,
            e.ticket_key or "",
            _cut((e.error or e.note).replace("\n", " ")),
        )
        for e in rows
    ]
    if not table:
        return "(no rows match)" if filtered else "(the log is empty)"
    return format_table(header, table)


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver log`."""
    if args.limit < 1:
        say("jira-driver log: --limit must be at least 1")
        return ExitCode.BAD_INPUT
    try:
        filters = filters_of(args)
    except BadOption as exc:
        say(f"jira-driver log: {exc}")
        return ExitCode.BAD_INPUT
    rows = ask_driver("log", config, lambda client: collect_log(client, args.limit, filters))
    if isinstance(rows, ExitCode):
        return rows
    if args.json:
        for entry in rows:
            print(json.dumps(log_row_json(entry), ensure_ascii=False))
    else:
        print(log_table(rows, filtered=filters.any()))
    return ExitCode.OK
