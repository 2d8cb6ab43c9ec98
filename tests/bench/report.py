"""What the benchmark scripts share: waiting for a driver to settle, and printing their figures."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import httpx


def verdict(ok: bool) -> str:
    """The last column of a figure with a target."""
    return "meets target" if ok else "BELOW TARGET"


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns, one figure a row."""
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, width, strict=True)).rstrip())


def wait_settled(api: httpx.Client, timeout: float, poll: float = 0.1) -> int:
    """Poll GET /api/status until nothing is Pending or Deferred (or timeout); the Failed row count."""
    deadline = time.monotonic() + timeout
    while True:
        status = api.get("/api/status").json()
        if status["pending"] + status["deferred"] == 0:
            break
        if time.monotonic() > deadline:
            print(f"not settled after {timeout:.0f} s: {status['pending']} pending")
            break
        time.sleep(poll)
    failed: int = api.get("/api/log", params={"status": "Failed", "limit": 1}).json()["total"]
    return failed


def last_answer(api: httpx.Client) -> float:
    """The epoch moment of the last answer among the newest log rows (accepted + duration_ms): a
    burst's end read from the log, so the driver need not be looked at often to time it."""
    rows = api.get("/api/log", params={"limit": 200}).json()["rows"]
    return max(datetime.fromisoformat(r["time"]).timestamp() + (r["duration_ms"] or 0) / 1000 for r in rows)
