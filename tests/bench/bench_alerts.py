"""Alert intake and metrics benchmark (issue 21).

Run:  .venv/bin/python tests/bench/bench_alerts.py [--notifications 100] [--alerts 100] [--commands 10000]

It starts `jira-driver sim` and `jira-driver run` (real processes, loopback) and prints, against
issue 21's targets:
  1. Alertmanager payloads taken: `--notifications` POSTs to /api/alertmanager of `--alerts`
     distinct firing alerts each (so every alert is a CREATE committed before the 200), one after
     the other; alerts taken per second at intake (target: 1,000 alerts/s in batches of 100);
     then the same payloads again (all unchanged: nothing queued), per second;
  2. /metrics under a scrape every second: `--commands` Advanced commands (20% CREATE, 80%
     UPDATE) sent to Jira end to end, once without a scraper and once with one scraping
     GET /metrics every second; the two throughputs and their ratio (target: no measurable loss,
     inside this machine's noise of a few per cent);
  3. one notification at the bound (MAX_ALERTS distinct firing alerts): the seconds to take it, and
     the slowest answer to GET /api/status asked every 0.1 s meanwhile (the event loop's longest
     stall: the intake does not yield, so two copies of one notification are taken one by one).
Figures, not assertions: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driver.model.alert_intake import MAX_ALERTS  # noqa: E402
from tests.bench.bench_throughput import command_text, reset_sim, start, stop, workload, write_config  # noqa: E402
from tests.bench.report import print_table, verdict, wait_settled  # noqa: E402

TARGET_ALERTS_PER_SECOND = 1_000.0


def payload(batch: int, alerts: int) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "jira",
        "groupKey": f"bench-{batch}",
        "alerts": [
            {
                "status": "firing",
                "fingerprint": f"b{batch}a{n}",
                "labels": {
                    "alertname": "BenchAlert",
                    "instance": f"host-{batch}-{n}:9100",
                    "severity": "warning",
                },
                "annotations": {"summary": f"alert {n} of batch {batch}"},
                "generatorURL": "http://prometheus:9090/graph",
            }
            for n in range(alerts)
        ],
    }


def intake(api: httpx.Client, notifications: int, alerts: int) -> tuple[float, float]:
    """(alerts/s first time, alerts/s again unchanged)."""
    bodies = [payload(b, alerts) for b in range(notifications)]
    rates = []
    for _ in range(2):
        t0 = time.perf_counter()
        for body in bodies:
            api.post("/api/alertmanager", json=body).raise_for_status()
        rates.append(notifications * alerts / (time.perf_counter() - t0))
    return rates[0], rates[1]


def largest(api: httpx.Client) -> tuple[float, float]:
    """(seconds to take one notification of MAX_ALERTS alerts, slowest status answer meanwhile)."""
    body = payload(-1, MAX_ALERTS)
    done = threading.Event()
    slowest = [0.0]

    def look() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=120) as client:
            while not done.wait(0.1):
                t = time.perf_counter()
                client.get("/api/status").raise_for_status()
                slowest[0] = max(slowest[0], time.perf_counter() - t)

    thread = threading.Thread(target=look, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    api.post("/api/alertmanager", json=body).raise_for_status()
    took = time.perf_counter() - t0
    done.set()
    thread.join(150)
    return took, slowest[0]


def end_to_end(python: str, sim_url: str, tmp: Path, commands: int, scrape: bool) -> float:
    """Commands per second from the first POST until every row is settled."""
    run = "scraped" if scrape else "plain"
    ini = tmp / f"{run}.ini"
    write_config(ini, sim_url, tmp / f"{run}.db")
    drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / f"{run}.log")
    stop_scraper = threading.Event()
    scrapes: list[float] = []
    try:
        with httpx.Client(base_url=drv.url, timeout=120) as api:
            reset_sim(sim_url)
            lines = [command_text(w) for w in workload(commands, commands // 10)]

            def scraper() -> None:
                with httpx.Client(base_url=drv.url, timeout=30) as client:
                    while not stop_scraper.wait(1.0):
                        t = time.perf_counter()
                        client.get("/metrics").raise_for_status()
                        scrapes.append(time.perf_counter() - t)

            thread = threading.Thread(target=scraper, daemon=True)
            if scrape:
                thread.start()
            t0 = time.perf_counter()
            for i in range(0, len(lines), 500):
                api.post(
                    "/api/advanced",
                    content="\n".join(lines[i : i + 500]),
                    headers={"Content-Type": "text/plain"},
                ).raise_for_status()
            wait_settled(api, 900, poll=0.5)
            rate = commands / (time.perf_counter() - t0)
            stop_scraper.set()
            if scrape:
                thread.join(10)
                print(f"  {len(scrapes)} scrapes, slowest {max(scrapes, default=0) * 1000:.0f} ms")
            return rate
    finally:
        stop(drv)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notifications", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--commands", type=int, default=10_000)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as name:
        tmp = Path(name)
        sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
        try:
            ini = tmp / "intake.ini"
            write_config(ini, sim.url, tmp / "intake.db")
            drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / "intake.log")
            try:
                with httpx.Client(base_url=drv.url, timeout=120) as api:
                    first, again = intake(api, args.notifications, args.alerts)
                    big, stall = largest(api)
            finally:
                stop(drv)
            plain = end_to_end(python, sim.url, tmp, args.commands, scrape=False)
            scraped = end_to_end(python, sim.url, tmp, args.commands, scrape=True)
        finally:
            stop(sim)
    print(f"jira-driver alert intake: {args.notifications} Alertmanager payloads of {args.alerts} alerts")
    print_table(
        [
            (
                f"alerts taken/s, batches of {args.alerts}",
                f"{first:,.0f}",
                f">= {TARGET_ALERTS_PER_SECOND:,.0f}  {verdict(first >= TARGET_ALERTS_PER_SECOND)}",
            ),
            ("alerts/s, the same payloads again (unchanged)", f"{again:,.0f}", ""),
            (f"one notification of {MAX_ALERTS:,} alerts (the bound)", f"{big:.1f} s", ""),
            ("slowest status answer meanwhile", f"{stall:.1f} s", ""),
            (f"end to end, {args.commands} commands, no scraper", f"{plain:,.0f} commands/s", ""),
            ("the same, /metrics scraped every second", f"{scraped:,.0f} commands/s", ""),
            ("ratio scraped / not", f"{scraped / plain:.3f}", "~1.0 (no measurable loss)"),
        ]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
