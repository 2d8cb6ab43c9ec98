"""Jira's health and pacing, pure: time is passed in, nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from driver.contract.schemas import JiraState
from driver.errors import JiraRateLimited
from driver.jira.health import PACE_CEILING, Bucket, JiraHealth

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state_of(health: JiraHealth) -> JiraState:
    """Read afresh (an assert on the attribute would narrow its type for the rest of the test)."""
    return health.state


def burst(retry_after: float | None = 1.0, limit: float | None = None) -> JiraRateLimited:
    return JiraRateLimited("HTTP 429", retry_after, "all", "jira-burst-based", limit)


def send_until(health: JiraHealth, start: datetime, seconds: float) -> list[datetime]:
    """Send whenever allowed for `seconds`; the send times."""
    now, sent = start, []
    end = start + timedelta(seconds=seconds)
    while now < end:
        blocked = health.blocked_until(now)
        if blocked is not None:
            now = blocked
            continue
        health.sent(now)
        health.answered()
        sent.append(now)
    return sent


@given(st.floats(min_value=0.5, max_value=5.0), st.integers(min_value=2, max_value=16))
def test_a_wave_of_429s_is_one_pause_of_retry_after_plus_a_little(retry_after: float, wave: int) -> None:
    health = JiraHealth(rand=lambda: 1.0)
    ends = [health.rate_limited(burst(retry_after), T0, None) for _ in range(wave)]
    assert len(set(ends)) == 1
    waited = (ends[0] - T0).total_seconds()
    assert retry_after <= waited <= retry_after * 1.1 + 0.05
    assert health.state is JiraState.PAUSED


def test_after_a_burst_429_with_jira_s_rate_no_second_holds_more_than_it() -> None:
    health = JiraHealth(rand=lambda: 0.5)
    resume = health.rate_limited(burst(1.0, limit=10), T0, None)
    sent = send_until(health, resume, 30)
    # paced just under Jira's 10/s: at least 90% of it, never more than 10 in any second
    assert len(sent) >= 0.9 * 10 * 30
    for i, moment in enumerate(sent):
        in_window = [t for t in sent[i:] if t < moment + timedelta(seconds=1)]
        assert len(in_window) <= 10
    assert health.pace is not None
    assert health.pace <= PACE_CEILING * 10


def test_without_jira_s_rate_a_429_after_a_lull_does_not_throttle_for_long() -> None:
    health = JiraHealth(rand=lambda: 0.5)
    health.sent(T0)
    resume = health.rate_limited(burst(1.0), T0, None)
    sent = send_until(health, resume, 15)
    late = [t for t in sent if t > resume + timedelta(seconds=10)]
    # one send in the second before the 429: the pace starts low, and grows in proportion
    assert len(late) >= 5 * 10


def test_answers_to_requests_sent_before_a_429_do_not_end_its_pause() -> None:
    health = JiraHealth(rand=lambda: 0.0)
    health.answered()
    until = health.rate_limited(burst(2.0), T0, None)
    health.answered()  # a request that was in flight when the 429 came back got its 201
    assert state_of(health) is JiraState.PAUSED
    assert health.blocked_until(T0 + timedelta(seconds=1)) == until
    assert health.blocked_until(until + timedelta(milliseconds=1)) is None
    assert state_of(health) is JiraState.OK


def test_retry_after_0_still_pauses_and_each_429_in_a_row_waits_longer() -> None:
    # A proxy answering 429 with Retry-After: 0, four times: the retries came 6 to 53 ms apart
    # (a field report of issue 17). The pause has a floor that doubles while 429s keep coming.
    health = JiraHealth(rand=lambda: 0.0)
    now, waits = T0, []
    for _ in range(4):
        until = health.rate_limited(burst(0.0), now, None)
        waits.append((until - now).total_seconds())
        now = until + timedelta(milliseconds=1)  # the retry goes once the pause is over
    assert waits == [0.5, 1.0, 2.0, 4.0]
    # A proper answer ends the run: the next 429 starts from the floor again.
    health.answered()
    assert (health.rate_limited(burst(0.0), now, None) - now).total_seconds() == 0.5
    # The floor holds for one issue's 429 too.
    issue_limit = JiraRateLimited("HTTP 429", 0.0, "issue", "jira-per-issue-on-write", None)
    later = now + timedelta(seconds=10)
    assert (health.rate_limited(issue_limit, later, "OPS-1") - later).total_seconds() >= 0.5


class ServerBucket:
    """Data Center's token bucket as the server keeps it (the simulator's rule)."""

    def __init__(self, capacity: int, rate: float) -> None:
        self.capacity, self.rate, self.tokens, self.at = capacity, rate, float(capacity), T0

    def take(self, now: datetime) -> int | None:
        """The tokens left after this request, or None for a 429."""
        self.tokens = min(self.capacity, self.tokens + self.rate * (now - self.at).total_seconds())
        self.at = now
        if self.tokens < 1:
            return None
        self.tokens -= 1
        return int(self.tokens)


@given(
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=16),
    st.integers(min_value=0, max_value=3),
)
def test_a_stated_token_bucket_is_spent_and_then_paced_without_a_429(
    capacity: int, rate: int, in_flight: int, lag: int
) -> None:
    """The driver sends while the bucket it was told of has tokens and then at its fill rate, reading
    answers late and out of order (`lag` answers behind, `in_flight` outstanding): never a 429, and
    over 20 s at least 95% of the fill rate."""
    health = JiraHealth(rand=lambda: 0.5)
    server = ServerBucket(capacity, rate)
    health.follow(float(rate), Bucket(capacity, float(rate), 0, capacity), 0, T0)
    now, end, sent, serial = T0, T0 + timedelta(seconds=20), 0, 0
    statements: list[int] = []
    while now < end:
        blocked = health.blocked_until(now)
        if blocked is not None:
            now = blocked
            continue
        health.sent(now)
        left = server.take(now)
        assert left is not None, f"429 after {sent} requests at {now - T0}"
        sent += 1
        statements.append(left)
        if len(statements) > lag:
            # an older answer may be read after a newer one
            serial += 1
            stated = statements[-1 - lag]
            health.follow(
                float(rate), Bucket(stated, float(rate), serial, capacity), min(in_flight, lag), now
            )
    assert sent >= 0.95 * rate * 20
