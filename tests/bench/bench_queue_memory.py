"""Memory benchmark: the driver's peak RSS with 100,000 commands queued, then drained.

Run:  .venv/bin/python tests/bench/bench_queue_memory.py [--commands 100000] [--guids 100000]

It starts `jira-driver sim` (no latency) and `jira-driver run` (a real process, update limit off,
stamp searches off) on loopback, makes the simulator answer 503 to everything (Jira down: the
driver holds everything), and sends the commands meanwhile (batches of 1,000; with as many GUIDs
as commands, each is a CREATE of its own alarm: the most memory per command). Then Jira is back
and the driver drains the queue into the simulator (the drain includes the outage's last backoff,
at most a minute). It prints, against issue 18's target, the deepest queue seen, the driver's peak RSS
(VmHWM, <= 150 MB), its RSS after the drain, and the drain's duration. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import peak_rss_mb, start, status_mb, stop  # noqa: E402
from tests.bench.report import print_table, verdict, wait_settled  # noqa: E402

TARGET_MB = 150.0
BATCH = 1_000


def rss_mb(pid: int) -> float:
    """VmRSS of a live process, in MB."""
    return status_mb(pid, "VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--guids", type=int, default=100_000)
    args = parser.parse_args()
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-queue-memory-"))
    print(f"jira-driver queue memory benchmark: {args.commands} commands over {args.guids} alarms")
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    ini = tmp / "driver.ini"
    ini.write_text(
        f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {tmp / 'driver.db'}\nlisten = 127.0.0.1:0\nconcurrency = 16\n"
        "[update]\nmax_updates = 0\n[ticket]\nprobe_new_days = 0\n"
    )
    drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / "driver.log")
    pid = drv.process.pid
    try:
        with httpx.Client(base_url=drv.url, timeout=120) as api:
            time.sleep(1.0)  # its start-up requests are answered before the 429 is armed
            # Jira down (503 until cleared): everything waits, then one request tries again after
            # a backoff of at most a minute and the queue drains at full speed
            httpx.post(
                f"{sim.url}/_sim/faults", json={"kind": "503", "count": -1}, timeout=5
            ).raise_for_status()
            lines = [
                f"mem/{n % args.guids}|{'CREATE' if n < args.guids else 'UPDATE'}|summary;Alarm {n}|"
                for n in range(args.commands)
            ]
            api.post("/api/advanced", content=lines[0], headers={"Content-Type": "text/plain"})
            while api.get("/api/status").json()["jira_state"] != "unreachable":
                time.sleep(0.05)
            at_start = rss_mb(pid)
            t0 = time.monotonic()
            for i in range(1, args.commands, BATCH):
                api.post(
                    "/api/advanced",
                    content="\n".join(lines[i : i + BATCH]),
                    headers={"Content-Type": "text/plain"},
                ).raise_for_status()
            intake = time.monotonic() - t0
            deepest = api.get("/api/status").json()["queue_depth"]
            queued_rss = rss_mb(pid)
            httpx.delete(f"{sim.url}/_sim/faults", timeout=5).raise_for_status()
            t1 = time.monotonic()
            failed = wait_settled(api, 1800, poll=0.5)
            drain = time.monotonic() - t1
            peak, after = peak_rss_mb(pid), rss_mb(pid)
    finally:
        stop(drv)
        stop(sim)
    rows = [
        ["figure", "result", "target", ""],
        ["queue at its deepest", f"{deepest} rows", "", ""],
        ["intake while held", f"{intake:.1f} s", "", ""],
        ["RSS before the commands", f"{at_start:.1f} MB", "", ""],
        ["RSS with the queue full", f"{queued_rss:.1f} MB", "", ""],
        ["peak RSS (VmHWM)", f"{peak:.1f} MB", f"<= {TARGET_MB:g} MB", verdict(peak <= TARGET_MB)],
        ["RSS after the drain", f"{after:.1f} MB", "", ""],
        ["drain", f"{drain:.1f} s, {failed} failed", "", ""],
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
