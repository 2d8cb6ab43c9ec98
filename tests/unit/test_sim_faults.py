"""Fault rules, their CLI syntax, and the sliding windows behind the rate limits, without a clock sleep."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jira_sim.faults import Faults, SlidingWindow, limited_headers, reset_header
from jira_sim.settings import FaultRule, parse_fault

WALL = datetime(2026, 1, 1, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("429", FaultRule("status", 1, 429, 1.0)),
        ("429:3,retry_after=5", FaultRule("status", 3, 429, 5.0)),
        (
            "503:2,method=post,path=/rest/api/2/issue",
            FaultRule("status", 2, 503, None, method="POST", path="/rest/api/2/issue"),
        ),
        ("drop", FaultRule("drop")),
        ("slow_after:1,seconds=2.5", FaultRule("slow_after", 1, seconds=2.5)),
        ("drop_after:-1", FaultRule("drop_after", -1)),
        ("400", FaultRule("status", 1, 400)),  # a proxy's own refusal, which a client cannot retry
    ],
)
def test_fault_syntax(text: str, rule: FaultRule) -> None:
    assert parse_fault(text) == rule


@pytest.mark.parametrize("text", ["302", "600", "teapot", "429:x", "429,retry_after", "500,colour=red"])
def test_bad_fault_syntax(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message names its own problem
        parse_fault(text)


def test_rules_count_down_and_match_method_and_path() -> None:
    faults = Faults((parse_fault("503:2,method=POST,path=/rest/api/2/issue"), parse_fault("drop:-1,path=/x")))
    assert faults.take("GET", "/rest/api/2/issue") is None
    assert faults.take("POST", "/rest/api/2/issue/OPS-1/comment") is not None
    assert faults.take("POST", "/rest/api/2/issue") is not None
    assert faults.take("POST", "/rest/api/2/issue") is None
    for _ in range(5):
        rule = faults.take("GET", "/x/y")
        assert rule is not None
        assert rule.kind == "drop"


def test_sliding_window_allows_limit_then_refuses_until_the_oldest_leaves() -> None:
    window = SlidingWindow(3, 2.0)
    verdicts = [window.hit(t, WALL) for t in (0.0, 0.5, 1.0)]
    assert [v.remaining for v in verdicts] == [2, 1, 0]
    assert [v.near_limit for v in verdicts] == [False, False, True]
    refused = window.hit(1.2, WALL)
    assert not refused.allowed
    assert refused.retry_after == 1
    assert window.hit(2.01, WALL).allowed


def test_limited_headers_follow_atlassians_table() -> None:
    verdict = SlidingWindow(1, 1.0)
    verdict.hit(0.0, WALL)
    refused = verdict.hit(0.25, WALL)
    headers = limited_headers(refused, "jira-per-issue-on-write")
    assert headers == {
        "Retry-After": "1",
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-01-01T01:01:00Z",
        "RateLimit-Reason": "jira-per-issue-on-write",
        "X-RateLimit-NearLimit": "true",
    }
    assert reset_header(WALL) == "2026-01-01T01:01:00Z"
