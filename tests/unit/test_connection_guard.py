"""Repeated log records are rate-limited and say how many were held back; the descriptor budget
keeps connections + backlog + reserve under the open-file limit; the loop's accept() EMFILE report
is one line without a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.service.connection_guard import FD_RESERVE, RepeatFilter, connection_budget, quiet_accept_errors


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, msg: str, exc: type[BaseException] | None = None) -> logging.LogRecord:
    exc_info = (exc, exc(), None) if exc is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("arg",), exc_info)


def test_a_flood_of_one_record_passes_a_burst_then_one_line_saying_how_many_were_held_back() -> None:
    clock = Clock()
    keep = RepeatFilter(burst=3, window=60.0, clock=clock)
    passed = [keep.filter(_record("asyncio", "accept failed %s", OSError)) for _ in range(10_000)]
    assert passed.count(True) == 3
    other = _record("asyncio", "accept failed %s", ValueError)  # another exception: another kind
    assert keep.filter(other)
    clock.now += 60.0
    after = _record("asyncio", "accept failed %s", OSError)
    assert keep.filter(after)
    assert after.getMessage() == "accept failed arg (9997 more like this suppressed in the last 60 s)"


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(min_value=0.0, max_value=30.0)),
        max_size=300,
    )
)
def test_at_most_a_burst_per_kind_per_window_and_every_held_back_record_is_counted(
    events: list[tuple[str, float]],
) -> None:
    clock = Clock()
    keep = RepeatFilter(burst=2, window=10.0, clock=clock)
    window_start: dict[str, float] = {}
    passed_in_window: Counter[str] = Counter()
    held: defaultdict[str, int] = defaultdict(int)
    reported: defaultdict[str, int] = defaultdict(int)
    for kind, step in events:
        clock.now += step
        record = _record("driver", f"{kind} %s")
        if kind not in window_start or clock.now - window_start[kind] >= 10.0:
            window_start[kind] = clock.now
            passed_in_window[kind] = 0
        if keep.filter(record):
            passed_in_window[kind] += 1
            if "suppressed" in record.getMessage():
                reported[kind] += int(record.getMessage().split("(")[1].split()[0])
        else:
            held[kind] += 1
        assert passed_in_window[kind] <= 2
    # what was held back is reported when the kind is next let through, never more
    for kind in reported:
        assert reported[kind] <= held[kind]


@pytest.mark.parametrize("soft", [64, 256, 1024, 4096, 1_048_576])
@pytest.mark.parametrize("concurrency", [1, 16, 256])
def test_the_descriptor_budget_fits_the_open_file_limit(soft: int, concurrency: int) -> None:
    connections, backlog = connection_budget(1000, soft, concurrency)
    assert connections >= 16
    assert 16 <= backlog <= 1024
    assert connections <= 1000
    if soft - FD_RESERVE - concurrency >= 64:
        assert connections + backlog + FD_RESERVE + concurrency <= soft


async def test_accept_out_of_descriptors_is_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    quiet_accept_errors(loop)
    try:
        with caplog.at_level(logging.ERROR):
            loop.call_exception_handler(
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(24, "Too many open files"),
                    "socket": object(),
                }
            )
    finally:
        loop.set_exception_handler(None)
    [record] = caplog.records
    assert record.exc_info is None
    assert "cannot accept API connections: Too many open files" in record.getMessage()
    assert "LimitNOFILE" in record.getMessage()
