"""A real driver process whose wall clock is set back an hour under load keeps sending.

The driver runs under libfaketime (Debian's `faketime` package; .ci/run installs it): its wall
clock follows an offset file the test rewrites, while its monotonic clock is left alone
(FAKETIME_DONT_FAKE_MONOTONIC), as when an operator or NTP moves a host's clock. The simulator
states its rate limit, so the driver paces its creates from the first answer; a RESOLVE waits a
resolve hold. Before every wait moved to the monotonic timer, the creates stopped (0 of 40 sent)
and the hold lasted an hour. The in-process tests of each kind of wait are in test_clock_change.py.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess

Factory = Callable[..., DriverProcess]
LIBRARIES = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))

pytestmark = pytest.mark.skipif(
    not LIBRARIES, reason="libfaketime is not installed (apt-get install faketime; .ci/run installs it)"
)


def faked_wall_clock(offset_file: Path) -> dict[str, str]:
    """The environment of a process whose wall clock is `offset_file`'s offset (e.g. -1h) from now."""
    offset_file.write_text("+0\n", encoding="utf-8")
    return {
        "LD_PRELOAD": LIBRARIES[0],
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def test_a_wall_clock_set_back_an_hour_under_load_stops_nothing(
    driver_factory: Factory, sim: SimProcess, tmp_path: Path
) -> None:
    offset = tmp_path / "wall-clock-offset"
    sim.config(burst_limit=10)
    driver = driver_factory(
        sim.url, ini={"lifecycle": {"resolve_hold_seconds": "2"}}, env=faked_wall_clock(offset)
    )
    assert driver.send("WALL-0|CREATE|summary;held resolve|").status_code == 202
    driver.wait_settled()
    creates = [f"WALL-{n}|CREATE|summary;paced {n}|" for n in range(1, 41)]
    assert driver.send(*creates, "WALL-0|RESOLVE|comment;cleared|").status_code == 202
    # the host's clock goes back an hour while the creates are paced and the RESOLVE is held
    offset.write_text("-1h\n", encoding="utf-8")
    driver.wait_settled(timeout=30)
    rows: list[dict[str, Any]] = driver.rows()
    assert [r["status"] for r in rows] == ["Ok"] * 42, [(r["guid"], r["status"], r["error"]) for r in rows]
    assert len(sim.issues()) == 41
    resolve = next(r for r in rows if r["action"] == "RESOLVE")
    assert resolve["ticket_key"]
    issue = sim.admin(f"issues/{resolve['ticket_key']}")
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
