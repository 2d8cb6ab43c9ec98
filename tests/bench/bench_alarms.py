"""Alarms table benchmark: pages of GET /api/alarms over 100,000 alarms.

Run:  .venv/bin/python tests/bench/bench_alarms.py [--alarms 100000] [--pages 50]

It writes the alarms through the store's own write paths on a real SQLite file (each alarm one
CREATE settled Ok with its ticket, every other one an UPDATE too, every tenth one resolved), then
starts `jira-driver run` on that file (against the simulator; nothing is left to send) and asks
the API for pages, as the TUI and the shell do: the newest page, `--pages` pages deep by the
cursor, and filtered pages (by state, by status category, by text). It prints the time per page
(median and worst, ms) against issue 19's target (< 100 ms a page). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driver.contract.schemas import LogStatus, LogType  # noqa: E402
from driver.model.commands import Action  # noqa: E402
from driver.model.jobs import JobPayload, NewEntry, TicketRecord, TicketState  # noqa: E402
from driver.store import Store  # noqa: E402
from tests.bench.bench_throughput import start, stop  # noqa: E402
from tests.bench.report import print_table, verdict  # noqa: E402

TARGET_MS = 100.0
BATCH = 1_000


def build(path: Path, alarms: int) -> None:
    """`alarms` alarms in a new database at `path` (see the module docstring)."""
    store = Store(path)
    for first in range(0, alarms, BATCH):
        numbers = range(first, min(first + BATCH, alarms))
        entries = [
            NewEntry(
                LogType.AUTOMATIC,
                Action.CREATE,
                f"bench/{n}",
                JobPayload(text=f"bench/{n}|CREATE|summary;Link down on core-{n}|"),
                summary=f"Link down on core-{n}",
            )
            for n in numbers
        ]
        entries += [
            NewEntry(
                LogType.AUTOMATIC,
                Action.UPDATE,
                f"bench/{n}",
                JobPayload(text=f"bench/{n}|UPDATE|comment;x|"),
            )
            for n in numbers
            if n % 2 == 0
        ]
        jobs = store.accept(entries)
        with store.transaction():
            for job in jobs:
                if job.action == Action.CREATE:
                    n = int(job.guid.split("/")[1])
                    done = n % 10 == 0
                    store.ticket_created(
                        TicketRecord(
                            job.guid,
                            TicketState.CREATED,
                            str(10_000 + n),
                            f"OPS-{n + 1}",
                            f"https://jira.example/browse/OPS-{n + 1}",
                            job.id,
                            jira_status="Done" if done else "To Do",
                            status_category="done" if done else "new",
                        )
                    )
                store.settle(job.id, LogStatus.OK, attempts=1)
    store.close()


def timed(api: httpx.Client, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = api.get("/api/alarms", params=params)
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000, answer.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args()
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-alarms-"))
    print(f"jira-driver alarms benchmark: {args.alarms:,} alarms, pages of 100 ({tmp})")
    started = time.monotonic()
    build(tmp / "driver.db", args.alarms)
    print(f"  built in {time.monotonic() - started:.0f} s")
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    ini = tmp / "driver.ini"
    ini.write_text(
        f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {tmp / 'driver.db'}\nlisten = 127.0.0.1:0\n[log]\nmax_entries = 0\n"
    )
    drv = start([python, "-m", "driver", "run", "--init", "--config", str(ini)], tmp / "driver.log")
    rows = [["page", "median", "worst", "target", ""]]
    try:
        with httpx.Client(base_url=drv.url, timeout=60) as api:
            timed(api, {})  # the first read warms SQLite's page cache, as any running driver's is
            deep: list[float] = []
            before: Any = None
            for _ in range(args.pages):
                ms, page = timed(api, {"before": before} if before else {})
                deep.append(ms)
                before = page["next_before"]
            cases = {
                f"newest, then {args.pages} deep by the cursor": deep,
                "state=active": [timed(api, {"state": "active"})[0] for _ in range(10)],
                "state=cleared": [timed(api, {"state": "cleared"})[0] for _ in range(10)],
                "category=done": [timed(api, {"category": "done"})[0] for _ in range(10)],
                "text (q=core-4242)": [timed(api, {"q": "core-4242"})[0] for _ in range(10)],
            }
            for name, times in cases.items():
                worst = max(times)
                rows.append(
                    [
                        name,
                        f"{statistics.median(times):.1f} ms",
                        f"{worst:.1f} ms",
                        f"< {TARGET_MS:g} ms",
                        verdict(worst < TARGET_MS),
                    ]
                )
    finally:
        stop(drv)
        stop(sim)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
