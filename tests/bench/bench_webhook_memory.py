"""Webhook memory benchmark: the driver's memory while it takes deliveries of megabytes.

Run:  .venv/bin/python tests/bench/bench_webhook_memory.py [--sizes 1,10,30] [--each 3]

It starts `jira-driver sim` and `jira-driver run` (mode webhook) as real processes on loopback,
creates one ticket, and posts signed jira:issue_updated deliveries of that ticket padded with long
comments to the given sizes (MB), as Data Center renders a ticket with many comments. It prints the
driver's peak resident memory (VmHWM) before and after each size and how long each delivery took,
against issue 17's target: memory bounded to a few MB (<= 8 MB above the idle peak) whatever the
size, up to 32 MiB. Figures, not assertions: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import peak_rss_mb, start, stop  # noqa: E402
from tests.bench.report import print_table, verdict, wait_settled  # noqa: E402

SECRET = "bench-webhook-secret"
TARGET_GROWTH_MB = 8.0


def delivery(issue: dict[str, object], megabytes: float, n: int) -> bytes:
    """A jira:issue_updated delivery of `issue`, its comments padding it to about `megabytes`."""
    comment = "c" * 32_000
    count = max(1, int(megabytes * 1_000_000 / 32_100))
    fields = dict(issue["fields"])  # type: ignore[call-overload]
    fields["comment"] = {
        "comments": [{"id": str(i), "body": comment, "author": {"name": "jsmith"}} for i in range(count)],
        "total": count,
    }
    body = {
        "timestamp": int(time.time() * 1000) + n,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_commented",
        "user": {"name": "jsmith", "displayName": "Jane Smith"},
        "issue": {**issue, "fields": fields},
    }
    return json.dumps(body).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1,10,30", help="delivery sizes in MB, comma-separated")
    parser.add_argument("--each", type=int, default=3, help="deliveries of each size")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",") if s]
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-webhook-"))
    print(f"jira-driver webhook memory benchmark: {args.each} deliveries each of {args.sizes} MB")
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    try:
        ini = tmp / "webhook.ini"
        ini.write_text(
            f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\n"
            f"[driver]\ndatabase = {tmp / 'driver.db'}\nlisten = 127.0.0.1:0\n"
            f"[sync]\nmode = webhook\nwebhook_secret = {SECRET}\n"
        )
        drv = start([python, "-m", "driver", "run", "--config", str(ini)], tmp / "driver.log")
        try:
            with httpx.Client(base_url=drv.url, timeout=120) as api:
                api.post(
                    "/api/advanced", content="bench|CREATE|summary;x|", headers={"Content-Type": "text/plain"}
                )
                wait_settled(api, 30)
                key = api.get("/api/log", params={"limit": 1}).json()["rows"][0]["ticket_key"]
                issue = httpx.get(
                    f"{sim.url}/rest/api/2/issue/{key}", auth=("admin", "admin"), timeout=10
                ).json()
                idle = peak_rss_mb(drv.process.pid)
                rows = [
                    ["delivery size", "answers", "seconds each", "driver peak RSS", "growth", "target", ""]
                ]
                worst = 0.0
                n = 0
                for size in sizes:
                    answers: list[int] = []
                    took = 0.0
                    for _ in range(args.each):
                        n += 1
                        body = delivery(issue, size, n)
                        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                        started = time.monotonic()
                        answer = api.post(
                            "/api/jira/webhook",
                            content=body,
                            headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
                        )
                        took += time.monotonic() - started
                        answers.append(answer.status_code)
                    peak = peak_rss_mb(drv.process.pid)
                    worst = max(worst, peak - idle)
                    rows.append(
                        [
                            f"{len(body) / 1e6:.1f} MB",
                            ",".join(str(a) for a in sorted(set(answers))),
                            f"{took / args.each:.2f}",
                            f"{peak:.1f} MB",
                            f"{peak - idle:+.1f} MB",
                            f"<= +{TARGET_GROWTH_MB:g} MB",
                            verdict(peak - idle <= TARGET_GROWTH_MB and set(answers) == {200}),
                        ]
                    )
        finally:
            stop(drv)
    finally:
        stop(sim)
    print(f"driver peak RSS before the deliveries: {idle:.1f} MB")
    print_table(rows)
    return 0 if worst <= TARGET_GROWTH_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
