"""CPU benchmark: the driver's CPU per ticket and throughput against a bare async httpx loop.

Run:  .venv/bin/python tests/bench/bench_cpu.py [--creates 2000] [--latency-ms 50] [--runs 3]

It starts `jira-driver sim --latency-ms 50` (Jira 50 ms away), then, one after the other in one run:
  - the driver (`jira-driver run`, a real process, 16 requests in flight, update limit and stamp
    searches off so it sends the same requests) takes the creates in batches of 500 and sends them;
  - a bare async httpx loop in this process posts the same create bodies, 16 in flight.
It prints, against issue 18's targets, the CPU seconds per ticket of each (the driver's from
/proc/<pid>/stat, utime + stime, from its first command until it reports every row settled, its
status looked at twice a second; the loop's from os.times()), their ratio (<= 1.3), the throughput
ratio (>= 0.95; the driver's end is its last answer, read from the log), and the engine's database
commits per ticket (journal intents and outcomes, grouped per event-loop turn; the intake's one
commit per batch not counted). With --runs N it repeats the pair N times and prints the median and
the range. Figures, not assertions: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import AUTH, reset_sim, start, stop  # noqa: E402
from tests.bench.report import last_answer, print_table, verdict, wait_settled  # noqa: E402

TARGET_CPU_RATIO = 1.3
TARGET_THROUGHPUT_RATIO = 0.95
CONCURRENCY = 16
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def create_body(n: int) -> dict[str, Any]:
    """The body the driver sends for `cpu/<n>|CREATE|summary;Alarm <n>|` with the seeded table."""
    return {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": f"Alarm {n}",
            "priority": {"name": "Medium"},
            "labels": [f"alarm-cpu/{n}".replace("/", "-")],
        }
    }


def run_driver(
    python: str, sim_url: str, tmp: Path, creates: int, run: int, profile: Path | None = None
) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, engine commits) the driver spends on `creates` creates, intake
    included; with `profile`, py-spy samples it meanwhile (200 Hz, collapsed stacks written there)."""
    ini = tmp / f"cpu{run}.ini"
    ini.write_text(
        f"[jira]\nurl = {sim_url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {tmp / f'driver{run}.db'}\nlisten = 127.0.0.1:0\nconcurrency = {CONCURRENCY}\n"
        "[update]\nmax_updates = 0\n[log]\nmax_entries = 0\nremove_older_than_days = 0\n"
        "[ticket]\nprobe_new_days = 0\n"
    )
    drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / f"driver{run}.log")
    try:
        with httpx.Client(base_url=drv.url, timeout=60) as api:
            time.sleep(1.0)  # its start-up requests (flavour, field list) are done: count from here
            reset_sim(sim_url)
            lines = [f"cpu/{n}|CREATE|summary;Alarm {n}|" for n in range(creates)]
            spy = None
            if profile is not None:
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "-p",
                        str(drv.process.pid),
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-o",
                        str(profile),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
            commits0 = api.get("/api/status").json()["commits"]
            cpu0, t0 = cpu_seconds(drv.process.pid), time.time()
            for i in range(0, creates, 500):
                body = "\n".join(lines[i : i + 500])
                api.post(
                    "/api/advanced", content=body, headers={"Content-Type": "text/plain"}
                ).raise_for_status()
            # Looked at twice a second: each look costs the driver CPU the loop does not pay, so
            # the end is read from the log (the last answer's moment) rather than by looking often.
            failed = wait_settled(api, 600, poll=0.5)
            cpu = cpu_seconds(drv.process.pid) - cpu0
            wall = last_answer(api) - t0
            commits = api.get("/api/status").json()["commits"] - commits0
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            if failed:
                print(f"  the driver failed {failed} rows: see {tmp}")
    finally:
        stop(drv)
    return cpu, wall, commits


async def bare_loop(sim_url: str, creates: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of an async httpx loop posting the same bodies, 16 in flight."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    todo = list(range(creates))
    async with httpx.AsyncClient(base_url=sim_url, auth=AUTH, limits=limits, timeout=60) as http:
        await http.get("/rest/api/2/serverInfo")  # the connection made, as the driver's is

        async def worker() -> None:
            while todo:
                n = todo.pop()
                answer = await http.post("/rest/api/latest/issue", json=create_body(n))
                answer.raise_for_status()

        times0, t0 = os.times(), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        times1, wall = os.times(), time.monotonic() - t0
    return (times1.user - times0.user) + (times1.system - times0.system), wall


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there is more than one value."""
    median = format(statistics.median(values), fmt)
    if len(values) == 1:
        return median
    return f"{median} ({format(min(values), fmt)}..{format(max(values), fmt)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write py-spy's collapsed stacks of the driver here")
    args = parser.parse_args()
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-cpu-"))
    print(
        f"jira-driver CPU benchmark: {args.creates} creates, Jira {args.latency_ms:g} ms away,"
        f" {CONCURRENCY} in flight, {args.runs} run(s) ({os.cpu_count()} cores)"
    )
    sim = start(
        [python, "-m", "driver", "sim", "--port", "0", "--latency-ms", str(args.latency_ms)], tmp / "sim.log"
    )
    driver_cpu: list[float] = []
    loop_cpu: list[float] = []
    cpu_ratio: list[float] = []
    rate_ratio: list[float] = []
    driver_rate: list[float] = []
    loop_rate: list[float] = []
    commit_rate: list[float] = []
    try:
        for run in range(args.runs):
            cpu_d, wall_d, commits = run_driver(
                python, sim.url, tmp, args.creates, run, args.profile if run == 0 else None
            )
            reset_sim(sim.url)
            cpu_l, wall_l = asyncio.run(bare_loop(sim.url, args.creates))
            reset_sim(sim.url)
            commit_rate.append(commits / args.creates)
            driver_cpu.append(cpu_d / args.creates * 1000)
            loop_cpu.append(cpu_l / args.creates * 1000)
            cpu_ratio.append(cpu_d / cpu_l)
            driver_rate.append(args.creates / wall_d)
            loop_rate.append(args.creates / wall_l)
            rate_ratio.append(wall_l / wall_d)
    finally:
        stop(sim)
    rows = [
        ["figure", "result", "target", ""],
        ["driver CPU per ticket", spread(driver_cpu, ".2f") + " ms", "", ""],
        ["engine commits per ticket", spread(commit_rate, ".2f"), "", ""],
        ["bare httpx loop CPU per ticket", spread(loop_cpu, ".2f") + " ms", "", ""],
        [
            "CPU ratio (driver / loop)",
            spread(cpu_ratio, ".2f"),
            f"<= {TARGET_CPU_RATIO}",
            verdict(statistics.median(cpu_ratio) <= TARGET_CPU_RATIO),
        ],
        ["driver throughput", spread(driver_rate, ".0f") + " tickets/s", "", ""],
        ["bare loop throughput", spread(loop_rate, ".0f") + " tickets/s", "", ""],
        [
            "throughput ratio (driver / loop)",
            spread(rate_ratio, ".2f"),
            f">= {TARGET_THROUGHPUT_RATIO}",
            verdict(statistics.median(rate_ratio) >= TARGET_THROUGHPUT_RATIO),
        ],
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
