"""Burst-limit benchmark: creates through the driver to a simulator that allows N requests/s.

Run:  .venv/bin/python tests/bench/bench_burst_limit.py [--creates 300] [--limit 10]

It starts `jira-driver sim --burst-limit N` (a sliding one-second window; 429 with Retry-After,
X-RateLimit-Limit and RateLimit-Reason jira-burst-based past it, as Jira Cloud answers) and
`jira-driver run` (update limit off, concurrency 16) as real processes on loopback, submits the
creates in one batch and waits until every row is settled. It prints, against the targets of
issue 9: the requests Jira accepted per second as a share of its limit (>= 90%), and the share of
requests answered 429 (<= 5%). Figures, not assertions: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import reset_sim, start, stop, write_config  # noqa: E402
from tests.bench.report import print_table, verdict, wait_settled  # noqa: E402

TARGET_SHARE = 0.90
TARGET_429 = 0.05


TARGET_BUCKET_SHARE = 0.95


def run(python: str, tmp: Path, sim_flags: list[str], creates: int, timeout: float) -> tuple[float, int, Any]:
    """The creates through a driver to a simulator started with `sim_flags`: (seconds from the
    submission to the last row settled, Failed rows, the simulator's counters)."""
    sim = start([python, "-m", "driver", "sim", "--port", "0", *sim_flags], tmp / "sim.log")
    try:
        ini = tmp / "burst.ini"
        write_config(ini, sim.url, tmp / f"driver-{time.monotonic_ns()}.db")
        drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / "driver.log")
        try:
            with httpx.Client(base_url=drv.url, timeout=30) as api:
                # the driver's start-up requests (flavour, field list) are done: count from here
                time.sleep(1.5)
                reset_sim(sim.url)
                body = "\n".join(f"burst/{n}|CREATE|summary;Alarm {n}|" for n in range(creates))
                started = time.monotonic()
                accepted = api.post("/api/advanced", content=body, headers={"Content-Type": "text/plain"})
                accepted.raise_for_status()
                failed = wait_settled(api, timeout)
                elapsed = time.monotonic() - started
        finally:
            stop(drv)
        counters = httpx.get(f"{sim.url}/_sim/counters", timeout=10).json()
    finally:
        stop(sim)
    return elapsed, failed, counters


def answered(counters: Any) -> tuple[int, int]:
    """(requests the simulator answered, of them 429s), from its counters."""
    statuses = {int(k): int(v) for k, v in counters["statuses"].items()}
    return sum(statuses.values()), statuses.get(429, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--limit", type=int, default=10, help="the simulator's burst limit, requests/s")
    parser.add_argument(
        "--bucket", default="10/10/1", help="Data Center's token bucket CAPACITY/FILL/SECONDS ('' to skip)"
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-burst-"))
    print(f"jira-driver burst-limit benchmark: {args.creates} creates, Jira allows {args.limit} requests/s")
    elapsed, failed, counters = run(
        python, tmp, ["--burst-limit", str(args.limit)], args.creates, args.timeout
    )
    total, limited = answered(counters)
    accepted_requests = total - limited
    rate = accepted_requests / elapsed
    share = rate / args.limit
    limited_share = limited / total if total else 0.0

    rows = [
        (
            "creates settled",
            f"{args.creates} in {elapsed:.1f} s",
            f"ideal {args.creates / args.limit:.0f} s",
            "",
        ),
        ("accepted by Jira", f"{rate:.2f} requests/s", f"limit {args.limit}/s", ""),
        ("  share of the limit", f"{share:.0%}", f">= {TARGET_SHARE:.0%}", verdict(share >= TARGET_SHARE)),
        (
            "answered 429",
            f"{limited} of {total} ({limited_share:.1%})",
            f"<= {TARGET_429:.0%}",
            verdict(limited_share <= TARGET_429),
        ),
        ("failed commands", f"{failed}", "0", verdict(failed == 0)),
        (
            "tickets created",
            f"{counters['issues']}",
            f"{args.creates}",
            verdict(counters["issues"] == args.creates),
        ),
    ]
    print_table(rows)
    if not args.bucket:
        return 0
    capacity, fill, seconds = (int(p) for p in args.bucket.split("/"))
    fill_rate = fill / seconds
    print(
        f"\nData Center's token bucket: {fill} tokens every {seconds} s up to {capacity}, starting full;"
        f" {args.creates} creates"
    )
    elapsed, failed, counters = run(python, tmp, ["--token-bucket", args.bucket], args.creates, args.timeout)
    total, limited = answered(counters)
    # the full bucket at the start is spent at once; the fill rate is what the rest can use
    used = max(0, total - limited - capacity) / elapsed / fill_rate
    ideal = max(0, args.creates - capacity) / fill_rate
    rows = [
        ("creates settled", f"{args.creates} in {elapsed:.1f} s", f"ideal {ideal:.0f} s", ""),
        (
            "  share of the fill rate used",
            f"{used:.0%}",
            f">= {TARGET_BUCKET_SHARE:.0%}",
            verdict(used >= TARGET_BUCKET_SHARE),
        ),
        ("answered 429", f"{limited} of {total}", "0", verdict(limited == 0)),
        ("failed commands", f"{failed}", "0", verdict(failed == 0)),
        (
            "tickets created",
            f"{counters['issues']}",
            f"{args.creates}",
            verdict(counters["issues"] == args.creates),
        ),
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
