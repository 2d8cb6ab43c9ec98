"""Throughput benchmark: 10,000 Advanced commands through the driver to the simulator.

Run:  .venv/bin/python tests/bench/bench_throughput.py [--commands 10000] [--guids 1000]

It starts `jira-driver sim` and `jira-driver run` (rate limits off) as real processes on loopback,
then measures, and prints next to the targets of issue 4:
  - intake: commands/s accepted by POST /api/advanced (batched requests, and one per request)
  - end to end: commands/s from the first submission until every command is settled
  - p50 / p99 latency from intake to Jira's answer (the log's duration_ms)
  - the driver's peak RSS (VmHWM)
  - the cost of a new database's stamp searches (issue 15 item 7): the same run on a new database
    with `[ticket] probe_new_days = 0` (no searches) next to the default one (every GUID searched
    for before its create, 50 a search), end to end and the simulator's count of searches
and the same ticket work done (a) by a bare async httpx loop posting the same bodies to the
simulator (the ceiling) and (b) by a script using the PyPI `jira` package (what a user would write).
Figures, not assertions: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driver.contract.client import DriverClient  # noqa: E402
from tests.bench.report import print_table, verdict  # noqa: E402

TARGET_INTAKE = 2000.0
TARGET_E2E_SHARE = 0.5
TARGET_RSS_MB = 150.0
LISTENING = re.compile(r"listening on (http://\S+)")
AUTH = ("admin", "admin")


@dataclass
class Proc:
    process: subprocess.Popen[str]
    url: str


def start(argv: list[str], log: Path, preexec: Callable[[], None] | None = None) -> Proc:
    """Start a process (running `preexec` in the child first) and wait for its `listening on URL` line."""
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=preexec,
    )
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if (match := LISTENING.search(line)) and not found:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while not found:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{argv[3]} did not start; see {log}")
        time.sleep(0.05)
    return Proc(process, found[0])


def stop(proc: Proc) -> None:
    proc.process.send_signal(signal.SIGTERM)
    try:
        proc.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.process.kill()


def status_mb(pid: int, field: str) -> float:
    """A size of a live process from /proc/<pid>/status (VmHWM: its peak RSS, VmRSS: now), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MB."""
    return status_mb(pid, "VmHWM")


@dataclass(frozen=True)
class Work:
    guid: str
    action: str
    summary: str
    priority: str
    comment: str


def workload(n: int, guids: int, seed: int = 7) -> list[Work]:
    """n commands, 20% CREATE and 80% UPDATE over `guids` GUIDs; each GUID starts with a CREATE."""
    rng = random.Random(seed)
    creates = n // 5
    items: list[Work] = []
    remaining_creates = creates - guids
    for g in range(guids):
        items.append(Work(f"bench/{g}", "CREATE", f"Alarm {g}", "High", ""))
    rest: list[Work] = []
    for i in range(n - guids):
        g = rng.randrange(guids)
        if i < remaining_creates:
            # a re-raised alarm: the driver updates the existing ticket instead of making a second
            rest.append(Work(f"bench/{g}", "CREATE", f"Alarm {g} again", "Highest", ""))
        elif rng.random() < 0.5:
            rest.append(Work(f"bench/{g}", "UPDATE", "", "", f"update {i}"))
        else:
            rest.append(Work(f"bench/{g}", "UPDATE", f"Alarm {g} (changed {i})", "Medium", ""))
    rng.shuffle(rest)
    return items + rest


def command_text(w: Work) -> str:
    if w.action == "CREATE":
        return f"{w.guid}|CREATE|summary;{w.summary}|priority;{w.priority}|labels;bench|"
    if w.comment:
        return f"{w.guid}|UPDATE|comment;{w.comment}|"
    return f"{w.guid}|UPDATE|summary;{w.summary}|priority;{w.priority}|"


def write_config(path: Path, sim_url: str, db: Path, probe_new_days: int = 7) -> None:
    path.write_text(
        f"[jira]\nurl = {sim_url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {db}\nlisten = 127.0.0.1:0\n"
        "[update]\nmax_updates = 0\n[log]\nmax_entries = 0\nremove_older_than_days = 0\n"
        f"[ticket]\nprobe_new_days = {probe_new_days}\n"
    )


def sim_searches(sim_url: str) -> int:
    """JQL searches the simulator has answered since its last reset."""
    counters = httpx.get(f"{sim_url}/_sim/counters", timeout=10).json()
    return int(counters.get("searches", 0))


async def run_driver(driver_url: str, work: list[Work], batch: int) -> dict[str, float]:
    """Submit everything, wait until settled, collect latencies."""
    texts = [command_text(w) for w in work]
    async with DriverClient(driver_url, timeout=60) as client:
        t0 = time.perf_counter()
        # batches go in order, one request at a time, so per-GUID order is the order of the list
        for i in range(0, len(texts), batch):
            await client.send_commands(texts[i : i + batch])
        t_intake = time.perf_counter() - t0
        while True:
            status = await client.status()
            if status.queue_depth == 0:
                break
            await asyncio.sleep(0.05)
        t_done = time.perf_counter() - t0
        durations: list[float] = []
        failed = 0
        before: int | None = None
        while True:
            page = await client.log(before_id=before, limit=1000)
            for row in page.rows:
                if row.duration_ms is not None:
                    durations.append(row.duration_ms)
                failed += row.status.value == "Failed"
            if page.next_before_id is None:
                break
            before = page.next_before_id
    durations.sort()
    return {
        "intake_s": t_intake,
        "done_s": t_done,
        "p50_ms": statistics.median(durations) if durations else float("nan"),
        "p99_ms": durations[int(len(durations) * 0.99) - 1] if durations else float("nan"),
        "failed": failed,
    }


async def intake_one_per_request(driver_url: str, work: list[Work], concurrency: int) -> float:
    """Commands/s when every command is its own HTTP request (the worst case for intake)."""
    texts = [command_text(w) for w in work]
    queue = list(enumerate(texts))
    async with DriverClient(driver_url, timeout=60) as client:

        async def worker() -> None:
            while queue:
                _, text = queue.pop()
                await client.send_commands([text])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(texts) / (time.perf_counter() - t0)


def create_body(w: Work, project: str = "OPS") -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": project},
            "issuetype": {"name": "Task"},
            "summary": w.summary,
            "priority": {"name": w.priority},
            "labels": ["bench", f"alarm-{w.guid.replace('/', '-')}"],
        }
    }


async def ceiling(sim_url: str, work: list[Work], concurrency: int) -> float:
    """The same requests from a bare async httpx loop: per-GUID order, `concurrency` in flight."""
    by_guid: dict[str, list[Work]] = defaultdict(list)
    for w in work:
        by_guid[w.guid].append(w)
    keys: dict[str, str] = {}
    guids = list(by_guid)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=sim_url, auth=AUTH, limits=limits, timeout=60) as http:

        async def one_guid(guid: str) -> None:
            for w in by_guid[guid]:
                if w.action == "CREATE" and guid not in keys:
                    r = await http.post("/rest/api/latest/issue", json=create_body(w))
                    keys[guid] = r.json()["key"]
                elif w.action == "CREATE" or not w.comment:
                    fields = {"summary": w.summary, "priority": {"name": w.priority}}
                    await http.put(f"/rest/api/latest/issue/{keys[guid]}", json={"fields": fields})
                else:
                    await http.post(f"/rest/api/latest/issue/{keys[guid]}/comment", json={"body": w.comment})

        async def worker() -> None:
            while guids:
                await one_guid(guids.pop())

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(work) / (time.perf_counter() - t0)


def with_jira_package(sim_url: str, work: list[Work]) -> float:
    """The same work written the way a user of the PyPI `jira` package would: one call at a time."""
    from jira import JIRA

    jira = JIRA(server=sim_url, basic_auth=AUTH, get_server_info=False)
    keys: dict[str, Any] = {}
    t0 = time.perf_counter()
    for w in work:
        if w.action == "CREATE" and w.guid not in keys:
            keys[w.guid] = jira.create_issue(fields=create_body(w)["fields"])
        elif w.action == "CREATE" or not w.comment:
            keys[w.guid].update(fields={"summary": w.summary, "priority": {"name": w.priority}})
        else:
            jira.add_comment(keys[w.guid], w.comment)
    return len(work) / (time.perf_counter() - t0)


def reset_sim(sim_url: str) -> None:
    httpx.post(f"{sim_url}/_sim/reset", timeout=10).raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--guids", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=500, help="commands per intake request")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (ceiling)")
    parser.add_argument("--jira-sample", type=int, default=2_000, help="commands for the jira package")
    args = parser.parse_args()
    work = workload(args.commands, args.guids)
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-bench-"))
    env_note = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    print(f"jira-driver benchmark: {len(work)} commands over {args.guids} GUIDs ({env_note})")
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    try:
        ini = tmp / "bench.ini"
        write_config(ini, sim.url, tmp / "driver.db")
        drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / "driver.log")
        try:
            result = asyncio.run(run_driver(drv.url, work, args.batch))
            rss = peak_rss_mb(drv.process.pid)
        finally:
            stop(drv)
        searches_new = sim_searches(sim.url)
        # the same run on a new database with the probe window off: the cost of the searches
        reset_sim(sim.url)
        ini3 = tmp / "bench3.ini"
        write_config(ini3, sim.url, tmp / "driver3.db", probe_new_days=0)
        drv3 = start([python, "-m", "driver", "run", "--config", str(ini3)], tmp / "driver3.log")
        try:
            no_probe = asyncio.run(run_driver(drv3.url, work, args.batch))
        finally:
            stop(drv3)
        searches_off = sim_searches(sim.url)
        # a fresh driver and simulator for the one-command-per-request intake figure
        reset_sim(sim.url)
        (tmp / "driver.db").unlink(missing_ok=True)
        ini2 = tmp / "bench2.ini"
        write_config(ini2, sim.url, tmp / "driver2.db")
        drv2 = start([python, "-m", "driver", "run", "--config", str(ini2)], tmp / "driver2.log")
        try:
            single = asyncio.run(intake_one_per_request(drv2.url, work[: args.commands // 5], 8))
        finally:
            stop(drv2)
        reset_sim(sim.url)
        ceiling_rate = asyncio.run(ceiling(sim.url, work, args.concurrency))
        reset_sim(sim.url)
        jira_rate = with_jira_package(sim.url, work[: args.jira_sample])
    finally:
        stop(sim)
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(work)
    intake = n / result["intake_s"]
    e2e = n / result["done_s"]
    share = e2e / ceiling_rate

    rows = [
        (
            "intake, batched",
            f"{intake:,.0f} commands/s",
            f">= {TARGET_INTAKE:,.0f}",
            verdict(intake >= TARGET_INTAKE),
        ),
        ("intake, 1 per request", f"{single:,.0f} commands/s", "(for reference)", ""),
        (
            "end to end",
            f"{e2e:,.0f} commands/s",
            f">= {TARGET_E2E_SHARE:.0%} of ceiling",
            verdict(share >= TARGET_E2E_SHARE),
        ),
        ("  share of ceiling", f"{share:.0%}", "", ""),
        (
            "  new database, probing",
            f"{searches_new} searches",
            f"{args.guids} new GUIDs, <= 50 a search",
            "",
        ),
        (
            "end to end, probing off",
            f"{n / no_probe['done_s']:,.0f} commands/s",
            f"probe_new_days = 0: {searches_off} searches",
            verdict(no_probe["failed"] == 0),
        ),
        ("latency p50", f"{result['p50_ms']:,.0f} ms", "intake -> Jira's answer", ""),
        ("latency p99", f"{result['p99_ms']:,.0f} ms", "", ""),
        ("driver peak RSS", f"{rss:,.0f} MB", f"<= {TARGET_RSS_MB:.0f} MB", verdict(rss <= TARGET_RSS_MB)),
        ("failed commands", f"{result['failed']:.0f}", "0", verdict(result["failed"] == 0)),
        ("(a) bare httpx ceiling", f"{ceiling_rate:,.0f} commands/s", f"{args.concurrency} in flight", ""),
        (
            "(b) PyPI jira package",
            f"{jira_rate:,.0f} commands/s",
            f"{args.jira_sample} commands, sequential",
            "",
        ),
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
