"""A connection flood does not take the API down or fill the disk (issue 15 item 6).

A real `jira-driver run` started with a low RLIMIT_NOFILE (soft = hard, so it cannot raise it), and
hundreds of sockets on 127.0.0.1 that send half a request head and wait: a normal GET /api/status is
still answered within 1 s, the driver's log stays small and holds no traceback, and commands still
go through afterwards. Slow heads and bodies are dropped at their deadlines.
(The 2,000-socket measurement is tests/bench/bench_connection_flood.py.)
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.driver import DriverProcess

NOFILE = (256, 256)
FLOOD = 600
"""Well over what 256 descriptors hold, well under the listen backlog (1,024)."""
ANSWER_WITHIN = 1.0
SLOW_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def _port(driver: DriverProcess) -> int:
    return int(driver.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def _slow_sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections to the driver, each with half a request head sent."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            opened.append(sock)
            # the driver may already have dropped it (evicted): that is its defence working
            with contextlib.suppress(OSError):
                sock.sendall(SLOW_HEAD)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def _timed_status(driver: DriverProcess) -> tuple[float, int]:
    started = time.monotonic()
    with httpx.Client(base_url=driver.url, timeout=10) as client:
        status = client.get("/api/status").status_code
    return time.monotonic() - started, status


def test_a_slow_header_flood_leaves_the_api_answering_and_the_log_small(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, nofile=NOFILE)
    log_before = driver.stderr_path.stat().st_size

    with _slow_sockets(_port(driver), FLOOD):
        answers = [_timed_status(driver) for _ in range(3)]

    assert [status for _, status in answers] == [200, 200, 200]
    assert max(seconds for seconds, _ in answers) < ANSWER_WITHIN, answers
    log = driver.stderr_path.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert len(log) - log_before < 16 * 1024, log[-3000:]
    # and it still does its job
    assert driver.send("FLOOD-1|CREATE|summary;after the flood|").status_code == 202
    driver.wait_settled()
    assert [row["status"] for row in driver.rows()] == ["Ok"]


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the driver closes the connection (AssertionError after `seconds`)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        data = b""
    except TimeoutError:
        raise AssertionError(f"the connection was still open after {seconds} s") from None
    # a drop answers nothing: the request never arrived
    assert data == b""
    return time.monotonic() - started


def test_slow_heads_and_bodies_are_dropped_at_their_deadlines(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(
        sim.url,
        ini={"driver": {"header_timeout_seconds": "0.5", "body_timeout_seconds": "0.8"}},
    )
    port = _port(driver)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as head:
        head.sendall(SLOW_HEAD)
        assert 0.3 < _closed_within(head, 5) < 3
    with socket.create_connection(("127.0.0.1", port), timeout=5) as body:
        body.sendall(
            b"POST /api/advanced HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 100\r\n\r\nSLOW-1|CREATE|"
        )
        assert 0.5 < _closed_within(body, 5) < 3
    # a request that arrives in time is answered, and the half-sent command was never queued
    seconds, status = _timed_status(driver)
    assert status == 200
    assert driver.rows() == []


def _open_files_limit(pid: int) -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of a running process, from /proc/PID/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text(encoding="utf-8").splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def test_the_soft_open_file_limit_is_raised_to_the_hard_one_at_start(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, nofile=(256, 4096))  # systemd's shape: a low soft, a high hard
    assert _open_files_limit(driver.pid) == (4096, 4096)
