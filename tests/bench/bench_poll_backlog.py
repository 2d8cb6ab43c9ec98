"""Polling behind a backlog: how long until a person's resolve is seen when thousands of other
issues of the project changed since the last poll.

Run:  .venv/bin/python tests/bench/bench_poll_backlog.py [--others 5000 50000] [--by id project]

For each way of polling (the driver's tickets by id, the default; every updated issue of the
project, `poll_by_id_max = 0`) and each backlog size, it starts `jira-driver sim` and a driver in
poll mode (`poll_seconds = 5`) as
real processes on loopback, makes the driver's ticket, creates that many other issues of the same
project through the REST API, lets a person (`jsmith`) resolve the driver's ticket, and prints how
long until the driver's record shows it, and what the polls cost (search requests, issues read).
Target (issue 15): the resolve seen within a couple of poll intervals at 5,000 and 50,000. Before
each poll paged through its whole result, it was never seen (each poll re-read the same oldest
2,000 hits).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import start, stop  # noqa: E402
from tests.bench.report import print_table  # noqa: E402

POLL_SECONDS = 5
SEEN_WITHIN = 120.0


def write_config(path: Path, sim_url: str, db: Path, by: str) -> None:
    path.write_text(
        f"[jira]\nurl = {sim_url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {db}\nlisten = 127.0.0.1:0\n"
        f"[sync]\nmode = poll\npoll_seconds = {POLL_SECONDS}\n"
        f"poll_by_id_max = {0 if by == 'project' else 1000}\n"
    )


async def create_others(sim_url: str, count: int, in_flight: int = 32) -> None:
    """`count` other issues of OPS, `in_flight` requests at a time."""
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "other"}}
    queue = iter(range(count))
    limits = httpx.Limits(max_connections=in_flight)
    async with httpx.AsyncClient(
        base_url=sim_url, auth=("admin", "admin"), limits=limits, timeout=60
    ) as client:

        async def worker() -> None:
            for _ in queue:
                for _attempt in range(5):
                    try:
                        answer = await client.post("/rest/api/2/issue", json=body)
                    except httpx.TransportError:
                        continue  # a kept-alive connection closed under load: another issue is as good
                    answer.raise_for_status()
                    break

        await asyncio.gather(*(worker() for _ in range(in_flight)))


def one_run(others: int, tmp: Path, by: str) -> list[str]:
    python = sys.executable
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / f"sim-{others}.log")
    try:
        ini = tmp / f"poll-{others}.ini"
        write_config(ini, sim.url, tmp / f"driver-{others}-{by}.db", by)
        driver = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / f"driver-{others}.log")
        try:
            with (
                httpx.Client(base_url=driver.url, timeout=30) as api,
                httpx.Client(base_url=sim.url, timeout=60) as jira,
            ):
                api.post("/api/advanced", content="BACKLOG-1|CREATE|summary;the driver's ticket|")
                key = None
                deadline = time.monotonic() + 30
                while key is None and time.monotonic() < deadline:
                    found = api.get("/api/tickets/BACKLOG-1")
                    key = (found.json().get("ticket") or {}).get("key") if found.status_code == 200 else None
                    time.sleep(0.1)
                assert key, "the driver's ticket was not created"
                started = time.monotonic()
                asyncio.run(create_others(sim.url, others))
                made = time.monotonic() - started
                seq = max((e["seq"] for e in jira.get("/_sim/journal").json()), default=0)
                acted = jira.post(
                    "/_sim/act",
                    json={"user": "jsmith", "key": key, "action": "resolve", "resolution": "Fixed"},
                )
                acted.raise_for_status()
                t0 = time.monotonic()
                seen = None
                while time.monotonic() - t0 < SEEN_WITHIN:
                    ticket = api.get("/api/tickets/BACKLOG-1").json()["ticket"]
                    if ticket.get("status_category") == "done":
                        seen = time.monotonic() - t0
                        break
                    time.sleep(0.2)
                searches = [
                    e
                    for e in jira.get("/_sim/journal", params={"since": seq}).json()
                    if "/search" in e["path"] and "updated >=" in str(e.get("body", ""))
                ]
        finally:
            stop(driver)
    finally:
        stop(sim)
    polls = max(
        1,
        sum(
            1 for e in searches if '"startAt": 0' in str(e.get("body")) or "startAt" not in str(e.get("body"))
        ),
    )
    return [
        f"{others:,} other issues ({made:.0f} s to make), by {by}",
        f"{seen:.1f} s" if seen is not None else f"not seen in {SEEN_WITHIN:.0f} s",
        f"{len(searches)} search requests in {polls} poll(s)",
        "meets target" if seen is not None and seen <= 3 * POLL_SECONDS + 60 else "BELOW TARGET",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--others", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument(
        "--by", choices=["id", "project"], nargs="+", default=["id", "project"], help="how polls search"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-poll-"))
    print(f"poll behind a backlog ({os.cpu_count()} cores, poll every {POLL_SECONDS} s)")
    rows = [["backlog", "resolve seen after", "cost", "target"]]
    try:
        for by in args.by:
            for others in args.others:
                rows.append(one_run(others, tmp, by))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
