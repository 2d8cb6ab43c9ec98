"""SIGTERM while creates are on the wire: exit 0 within 10 s, and a restart makes each ticket once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

GUIDS = [f"SD-{i}" for i in range(10)]


def test_sigterm_parks_in_flight_creates_and_a_restart_settles_them_once(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    # probe_new_days = 0: the creates are the first POSTs (no stamp search of a new database first)
    driver = driver_factory(
        sim.url, ini={"jira": {"timeout_seconds": "30"}, "ticket": {"probe_new_days": "0"}}
    )
    # Jira makes each ticket at once but holds its answer for 8 s, longer than the driver waits
    sim.faults(kind="slow_after", count=len(GUIDS), seconds=8, method="POST")
    assert driver.send(*(f"{g}|CREATE|summary;{g}|" for g in GUIDS)).status_code == 202
    wait_for(lambda: sim.counters()["issues"] >= len(GUIDS), "the creates at Jira", 10, every=0.05)
    # all ten tickets exist and no answer has come back: the creates are in flight
    with driver.client() as api:
        assert api.get("/api/status").json()["pending"] == len(GUIDS)
    started = time.monotonic()
    assert driver.stop() == 0
    assert time.monotonic() - started < 10

    driver.start()
    rows = driver.wait_rows(lambda rs: all(r["status"] == "Ok" for r in rs), timeout=30)
    assert sorted(r["guid"] for r in rows) == sorted(GUIDS)
    issues = sim.issues()
    assert sorted(i["fields"]["summary"] for i in issues) == sorted(GUIDS), "one ticket per GUID"
    # the parked creates were settled by searching for their stamps (the held answers of the first
    # POSTs are journaled only once they go out, so the ticket count above is the proof of "once")
    assert any("/search" in e["path"] for e in sim.journal())


def test_ctrl_c_stops_run_cleanly_with_130_and_sigterm_with_0(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    # The README's exit statuses hold for `run` too: 130 when interrupted (Ctrl-C), while a
    # service manager's SIGTERM is a normal stop (issue 17: run exited 0 on Ctrl-C).
    driver = driver_factory(sim.url)
    assert driver.send("INT-1|CREATE|summary;before the stop|").status_code == 202
    driver.wait_settled()
    assert driver.stop(sig=signal.SIGINT) == 130
    assert "stopped" in driver.stderr_path.read_text(encoding="utf-8")  # the same clean stop
    driver.restart()
    assert driver.stop() == 0
