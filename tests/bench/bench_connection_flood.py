"""Connection-flood benchmark (issue 15 item 6): slow-header sockets against a driver with 1,024 fds.

Run:  .venv/bin/python tests/bench/bench_connection_flood.py [--sockets 2000] [--nofile 1024] [--hold 15]

It starts `jira-driver sim` and `jira-driver run` as real processes on loopback, the driver with
RLIMIT_NOFILE soft = hard = --nofile (systemd's default soft limit, and a hard one it cannot raise:
the worst case), opens --sockets connections to 127.0.0.1 that each send half a request head and
wait, then for --hold seconds (longer than the header deadline, 10 s) asks GET /api/status every
0.5 s with a fresh connection. It prints: how long the flood took to open, the slowest and median
answer (target < 1 s), the driver's open descriptors at their peak, and its log's size (target
< 1 MB). Figures, not assertions: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_throughput import Proc, start, stop, write_config  # noqa: E402
from tests.bench.report import print_table, verdict  # noqa: E402

SLOW_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
TARGET_ANSWER = 1.0
TARGET_LOG = 1024 * 1024


def start_limited(argv: list[str], log: Path, nofile: int) -> Proc:
    """Like bench_throughput.start, with RLIMIT_NOFILE soft = hard = nofile in the child."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return start(argv, log, limit)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def flood(port: int, count: int) -> tuple[list[socket.socket], int]:
    """`count` sockets with half a head sent; (the sockets, how many the driver had already reset)."""
    opened: list[socket.socket] = []
    reset = 0
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        opened.append(sock)
        try:
            sock.sendall(SLOW_HEAD)
        except OSError:
            reset += 1
    return opened, reset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--hold", type=float, default=15.0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.sockets + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sockets + 256), hard))
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="jira-driver-flood-"))
    print(
        f"jira-driver connection-flood benchmark: {args.sockets} slow-header sockets,"
        f" driver RLIMIT_NOFILE {args.nofile}/{args.nofile}, held {args.hold:g} s"
    )
    sim = start([python, "-m", "driver", "sim", "--port", "0"], tmp / "sim.log")
    log = tmp / "driver.log"
    try:
        ini = tmp / "flood.ini"
        write_config(ini, sim.url, tmp / "driver.db")
        drv = start_limited([python, "-m", "driver", "run", "--config", str(ini)], log, args.nofile)
        pid = drv.process.pid
        port = int(drv.url.rsplit(":", 1)[1])
        log_before = log.stat().st_size
        peak_fds = open_fds(pid)
        started = time.monotonic()
        sockets, reset = flood(port, args.sockets)
        opened_in = time.monotonic() - started
        answers: list[float] = []
        failures = 0
        try:
            end = time.monotonic() + args.hold
            while time.monotonic() < end:
                peak_fds = max(peak_fds, open_fds(pid))
                asked = time.monotonic()
                try:
                    with httpx.Client(base_url=drv.url, timeout=5) as client:
                        client.get("/api/status").raise_for_status()
                    answers.append(time.monotonic() - asked)
                except httpx.HTTPError:
                    failures += 1
                time.sleep(0.5)
        finally:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        alive = drv.process.poll() is None
        if alive:
            drv.process.send_signal(signal.SIGTERM)
        stop(drv)
    finally:
        stop(sim)
    log_bytes = log.stat().st_size - log_before
    tracebacks = log.read_text(encoding="utf-8", errors="replace").count("Traceback")
    slowest = max(answers) if answers else float("inf")
    rows = [
        ("flood opened", f"{args.sockets} sockets in {opened_in:.1f} s", "", ""),
        ("  reset by the driver at once", f"{reset}", "", ""),
        (
            "GET /api/status answered",
            f"{len(answers)} of {len(answers) + failures}",
            "all",
            verdict(failures == 0 and alive),
        ),
        (
            "  slowest answer",
            f"{slowest * 1000:.0f} ms",
            f"< {TARGET_ANSWER * 1000:.0f} ms",
            verdict(slowest < TARGET_ANSWER),
        ),
        ("  median answer", f"{statistics.median(answers) * 1000:.0f} ms" if answers else "-", "", ""),
        ("driver's open fds, peak", f"{peak_fds}", f"< {args.nofile}", verdict(peak_fds < args.nofile)),
        (
            "driver's log during the flood",
            f"{log_bytes / 1024:.1f} KiB",
            "< 1 MiB",
            verdict(log_bytes < TARGET_LOG),
        ),
        ("  tracebacks in the log", f"{tracebacks}", "0", verdict(tracebacks == 0)),
    ]
    print_table(rows)
    print(f"driver log: {log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
