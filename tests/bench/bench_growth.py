"""Growth benchmark: the database file after a million commands with log retention at 100,000 rows.

Run:  .venv/bin/python tests/bench/bench_growth.py [--commands 1000000] [--guids 20000] [--keep 100000]
      .venv/bin/python tests/bench/bench_growth.py --commands 2000000 --resolved   # a million alarms

It writes what the driver writes for each command, through the store's own methods on a real SQLite
file and without Jira (the network is not what grows): the row accepted (intake, retention
applied there as in the driver), settled Ok with a create's or an update's request and answer,
a create's ticket record and intent, the day's counters. GUIDs come round (`--guids` alarms, each
one CREATE then UPDATEs), as alarms do. With `--resolved` each alarm is raised and cleared once
(a CREATE, then a RESOLVE that leaves its ticket done: `--commands` / 2 alarms, `--guids` unused)
and the commands are spread over `--days` on the store's clock, the
daily upkeep forgetting GUIDs quiet for `--forget-after-days` ([ticket] forget_after_days) through
the driver's own pass (driver.sending.forgetting): what a DataMiner system, whose every alarm has a
GUID of its own, keeps after a year. It prints, against issue 18's target, the file size (database
and WAL) every 100,000 commands and at the end (<= 200 MB), with the rows of each table.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driver.contract.schemas import LogStatus, LogType  # noqa: E402
from driver.model.commands import Action  # noqa: E402
from driver.model.jobs import (  # noqa: E402
    JobPayload,
    LoggedRequest,
    NewEntry,
    RequestKind,
    TicketRecord,
    TicketState,
)
from driver.model.statistics import Statistic  # noqa: E402
from driver.sending.forgetting import ForgetPass  # noqa: E402
from driver.sending.known_tickets import KnownTickets  # noqa: E402
from driver.sending.queues import GuidQueues  # noqa: E402
from driver.store import TRIM_BATCH, Store  # noqa: E402
from tests.bench.report import print_table, verdict  # noqa: E402

TARGET_MB = 200.0
BATCH = 500


def size_mb(path: Path) -> float:
    """The database file and its WAL, in MB."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--guids", type=int, default=20_000)
    parser.add_argument("--keep", type=int, default=100_000, help="[log] max_entries")
    parser.add_argument(
        "--resolved", action="store_true", help="each alarm raised and cleared once (CREATE, RESOLVE)"
    )
    parser.add_argument("--days", type=float, default=365.0, help="the span of the commands (--resolved)")
    parser.add_argument(
        "--forget-after-days", type=int, default=30, help="[ticket] forget_after_days (0: never)"
    )
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="jira-driver-growth-")) / "driver.db"
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = Store(path, clock=lambda: now[0])
    queues = GuidQueues()
    memory = KnownTickets(store, queues)  # the engine's: empty, as for GUIDs quiet for months
    step = timedelta(days=args.days) * BATCH / args.commands
    next_pass = now[0] + timedelta(days=1)
    forgotten = 0
    print(
        f"jira-driver growth benchmark: {args.commands:,} commands over"
        f" {args.commands // 2 if args.resolved else args.guids:,} GUIDs,"
        f" log retention {args.keep:,} rows"
        + (
            f", each alarm raised and cleared, over {args.days:g} days, GUIDs forgotten after"
            f" {args.forget_after_days} days"
            if args.resolved
            else ""
        )
        + f" ({path})"
    )
    rows = [["commands", "file", "log rows", "tickets", "forgotten", "seconds"]]
    keys: dict[str, str] = {}
    started = time.monotonic()
    done = 0
    while done < args.commands:
        entries = []
        for n in range(done, min(done + BATCH, args.commands)):
            if args.resolved:  # each alarm raised, then cleared: CREATE, RESOLVE
                guid = f"growth/{n // 2}"
                action = Action.RESOLVE if guid in keys else Action.CREATE
            else:
                guid = f"growth/{n % args.guids}"
                action = Action.UPDATE if guid in keys else Action.CREATE
            text = {
                Action.CREATE: f"{guid}|CREATE|summary;Link down on core-{n}|priority;High|",
                Action.UPDATE: f"{guid}|UPDATE|comment;still down at {n}|",
                Action.RESOLVE: f"{guid}|RESOLVE|comment;cleared at {n}|",
            }[action]
            if action == Action.CREATE:
                keys[guid] = f"OPS-{len(keys) + 1}"
            entries.append(NewEntry(LogType.AUTOMATIC, action, guid, JobPayload(text=text)))
        jobs = store.accept(entries, max_entries=args.keep)
        for job in jobs:
            key = keys[job.guid]
            with store.transaction():
                if job.action == Action.CREATE:
                    store.journal_intent(job.guid, job.id)
                    record = TicketRecord(
                        job.guid,
                        TicketState.CREATED,
                        key.removeprefix("OPS-"),
                        key,
                        f"https://jira.example/browse/{key}",
                        job.id,
                    )
                    store.ticket_created(record)
                    store.count(Statistic.CREATE)
                    body = {
                        "fields": {"project": {"key": "OPS"}, "summary": "Link down", "labels": ["alarm-x"]}
                    }
                    request = LoggedRequest(RequestKind.CREATE, body)
                    answer = {"id": record.ticket_id, "key": key, "self": record.ticket_url}
                elif job.action == Action.RESOLVE:
                    created = store.ticket(job.guid)
                    assert created is not None
                    record = replace(created, status_category="done", jira_status="Done", resolved_at=now[0])
                    store.record_jira_state(record)
                    request = LoggedRequest(
                        RequestKind.TRANSITION, {"transition": {"id": "31"}, "update": {"comment": []}}
                    )
                    answer = {}
                else:
                    record = TicketRecord(job.guid, TicketState.CREATED, None, key, None, None)
                    store.count(Statistic.UPDATE)
                    request = LoggedRequest(
                        RequestKind.UPDATE, {"edit": None, "comments": [{"body": "still down"}]}
                    )
                    answer = {"id": "10001", "body": "still down", "created": "2026-12-05T10:00:00.000+0000"}
                store.settle(
                    job.id, LogStatus.OK, ticket=record, attempts=1, request=request, response=answer
                )
        done += len(jobs)
        if args.resolved:
            now[0] += step
            if now[0] >= next_pass and args.forget_after_days > 0:  # the daily upkeep's pass
                run = ForgetPass(cutoff=now[0] - timedelta(days=args.forget_after_days))
                while not run.done:
                    run.forget_batch(store, memory, queues, TRIM_BATCH)
                forgotten += run.forgotten
                next_pass += timedelta(days=1)
        if done % 100_000 == 0 or done == args.commands:
            counts = {
                table: store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("log", "tickets")
            }
            rows.append(
                [
                    f"{done:,}",
                    f"{size_mb(path):.1f} MB",
                    f"{counts['log']:,}",
                    f"{counts['tickets']:,}",
                    f"{forgotten:,}",
                    f"{time.monotonic() - started:.0f}",
                ]
            )
    final = size_mb(path)
    print_table(rows)
    print_table(
        [
            ["figure", "result", "target", ""],
            [
                f"database file after {args.commands:,} commands",
                f"{final:.1f} MB",
                f"<= {TARGET_MB:g} MB",
                verdict(final <= TARGET_MB),
            ],
        ]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
