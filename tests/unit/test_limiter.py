"""The update limiter, Jira pauses and backoff: time is passed in, nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driver.jira.backoff import Pauses, backoff_seconds
from driver.sending.limiter import UpdateLimiter

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_per_ticket_window_allows_max_then_defers_until_oldest_leaves() -> None:
    limiter = UpdateLimiter(2, 60, "ticket")
    for s in (0, 10):
        assert limiter.next_allowed("OPS-1", at(s)) is None
        limiter.record("OPS-1", at(s))
    assert limiter.next_allowed("OPS-1", at(20)) == at(60)
    # Another ticket has its own window.
    assert limiter.next_allowed("OPS-2", at(20)) is None
    assert limiter.next_allowed("OPS-1", at(60)) is None


def test_global_scope_counts_every_ticket() -> None:
    limiter = UpdateLimiter(1, 30, "global")
    limiter.record("OPS-1", at(0))
    assert limiter.next_allowed("OPS-2", at(1)) == at(30)


def test_zero_switches_the_limit_off() -> None:
    limiter = UpdateLimiter(0, 30, "ticket")
    for s in range(100):
        limiter.record("OPS-1", at(s / 100))
    assert limiter.next_allowed("OPS-1", at(1)) is None


def test_reconfigure_at_run_time() -> None:
    limiter = UpdateLimiter(5, 60, "ticket")
    limiter.record("OPS-1", at(0))
    limiter.configure(1, 60, "ticket")
    assert limiter.next_allowed("OPS-1", at(1)) == at(60)
    limiter.forget_idle(at(120))
    assert limiter.next_allowed("OPS-1", at(120)) is None


def tracked(limiter: UpdateLimiter) -> set[str]:
    """The tickets the limiter keeps a window for. Read from its state: every public call that
    looks at a ticket's window also creates it, so only the state shows what forget_idle removes."""
    return set(limiter._sent)


def test_forget_idle_drops_exactly_the_windows_with_nothing_left_in_them() -> None:
    limiter = UpdateLimiter(2, 60, "ticket")
    for n in range(100):
        limiter.record(f"OPS-{n}", at(n))
    limiter.record("OPS-KEEP", at(130))
    assert len(tracked(limiter)) == 101
    # at 140 the window reaches back to 80: the sends at 0..80 have left it
    limiter.forget_idle(at(140))
    assert tracked(limiter) == {f"OPS-{n}" for n in range(81, 100)} | {"OPS-KEEP"}
    # the windows kept are whole: OPS-KEEP's send still counts
    limiter.record("OPS-KEEP", at(141))
    assert limiter.next_allowed("OPS-KEEP", at(142)) == at(190)
    limiter.forget_idle(at(1000))
    assert tracked(limiter) == set()


def test_pauses_all_and_per_issue() -> None:
    pauses = Pauses()
    pauses.pause_issue("g1", at(5))
    assert pauses.paused_until("g1", at(0)) == at(5)
    assert pauses.paused_until("g2", at(0)) is None
    pauses.pause_all(at(10), "jira-burst-based")
    assert pauses.paused_until("g2", at(0)) == at(10)
    assert pauses.reason == "jira-burst-based"
    assert pauses.paused_until(None, at(11)) is None
    assert pauses.reason == ""


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1.4, 2.6), (2, 2.8, 5.2), (10, 21, 39)])
def test_backoff_is_exponential_jittered_and_capped(attempt: int, low: float, high: float) -> None:
    for r in (0.0, 0.5, 0.999):

        def rand(r: float = r) -> float:
            return r

        assert low <= backoff_seconds(attempt, 2.0, rand=rand) <= high


def test_retry_after_is_a_minimum() -> None:
    assert backoff_seconds(1, 0.01, retry_after=7, rand=lambda: 0.0) == 7
    assert 7 <= backoff_seconds(1, 0.01, retry_after=7) <= 7.7


def test_restore_counts_earlier_sends_per_ticket_and_globally() -> None:
    limiter = UpdateLimiter(2, 60, "ticket")
    limiter.restore([("OPS-1", at(-30)), ("OPS-2", at(-50)), ("OPS-1", at(-10)), ("OPS-1", at(-90))])
    # OPS-1: two sends inside the window (the one 90 s ago has left it).
    assert limiter.next_allowed("OPS-1", at(0)) == at(30)
    assert limiter.next_allowed("OPS-2", at(0)) is None
    overall = UpdateLimiter(2, 60, "global")
    overall.restore([("OPS-2", at(-50)), ("OPS-1", at(-10))])
    assert overall.next_allowed("OPS-3", at(0)) == at(10)
    off = UpdateLimiter(0, 60, "ticket")
    off.restore([("OPS-1", at(-1))])
    assert off.next_allowed("OPS-1", at(0)) is None
