"""Injected faults and Jira Cloud's rate limits (burst per second, writes per issue)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from jira_sim.settings import FaultRule, Limits

NEAR_LIMIT_SHARE = 0.2


class Faults:
    """The armed fault rules; each request consumes the first rule that matches it."""

    def __init__(self, rules: tuple[FaultRule, ...] = (), latency_ms: float = 0.0) -> None:
        self.rules: list[FaultRule] = list(rules)
        self.latency_ms = latency_ms

    def add(self, rules: list[FaultRule]) -> None:
        """Arm more rules, after the ones already armed."""
        self.rules.extend(rules)

    def clear(self) -> None:
        """Disarm every rule."""
        self.rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule this request triggers, if any; counts it down and disarms it at zero."""
        for index, rule in enumerate(self.rules):
            if rule.method and rule.method != method:
                continue
            if rule.path and not path.startswith(rule.path):
                continue
            if rule.count > 0:
                if rule.count == 1:
                    del self.rules[index]
                else:
                    self.rules[index] = replace(rule, count=rule.count - 1)
            return rule
        return None


@dataclass(frozen=True)
class Verdict:
    """What a limiter says about one request."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    reset: datetime

    @property
    def near_limit(self) -> bool:
        return self.remaining < self.limit * NEAR_LIMIT_SHARE


class SlidingWindow:
    """At most `limit` events per `window` seconds, over the last window (not fixed buckets)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque(maxlen=max(limit, 1))

    def hit(self, now: float, wall: datetime) -> Verdict:
        """Count one event at `now` (monotonic seconds) unless the window is full."""
        events = self.events
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            wait = self.window - (now - events[0])
            retry = max(1, math.ceil(wait))
            return Verdict(False, self.limit, 0, retry, wall + timedelta(seconds=wait))
        events.append(now)
        reset = wall + timedelta(seconds=self.window - (now - events[0]))
        return Verdict(True, self.limit, self.limit - len(events), 0, reset)


class TokenBucket:
    """Data Center's rate limit (docs/wire-facts.md §8): `fill_rate` tokens every `interval` seconds,
    up to `capacity`, starting full; each request takes one."""

    def __init__(self, capacity: int, fill_rate: int, interval: int) -> None:
        self.capacity = max(capacity, 1)
        self.fill_rate = fill_rate
        self.interval = max(interval, 1)
        self.tokens = float(self.capacity)
        self.last: float | None = None

    def hit(self, now: float, wall: datetime) -> Verdict:
        """Take a token at `now` (monotonic seconds) unless none is left."""
        if self.last is not None:
            refill = (now - self.last) * self.fill_rate / self.interval
            self.tokens = min(float(self.capacity), self.tokens + refill)
        self.last = now
        per_token = self.interval / self.fill_rate
        if self.tokens < 1.0:
            wait = (1.0 - self.tokens) * per_token
            return Verdict(False, self.capacity, 0, max(1, math.ceil(wait)), wall + timedelta(seconds=wait))
        self.tokens -= 1.0
        reset = wall + timedelta(seconds=(self.capacity - self.tokens) * per_token)
        return Verdict(True, self.capacity, int(self.tokens), 0, reset)

    def headers(self, verdict: Verdict) -> list[tuple[bytes, bytes]]:
        """The header family Data Center puts on every answer (`retry-after` 0 while tokens remain)."""
        return [
            (b"x-ratelimit-limit", str(self.capacity).encode()),
            (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
            (b"x-ratelimit-interval-seconds", str(self.interval).encode()),
            (b"x-ratelimit-fillrate", str(self.fill_rate).encode()),
            (b"retry-after", str(verdict.retry_after).encode()),
        ]


class RateLimits:
    """Cloud's burst limit (all requests) and per-issue write limit, and Data Center's token bucket,
    each off when its limit is 0."""

    def __init__(self, limits: Limits) -> None:
        self.configure(limits)

    def configure(self, limits: Limits) -> None:
        """Apply (new) limits and forget what was counted."""
        self.bucket = (
            TokenBucket(
                limits.bucket_capacity or limits.bucket_fill_rate,
                limits.bucket_fill_rate,
                limits.bucket_interval,
            )
            if limits.bucket_fill_rate > 0
            else None
        )
        self.burst = SlidingWindow(limits.burst_limit, 1.0) if limits.burst_limit > 0 else None
        self.write_limit = limits.issue_write_limit
        self.write_window = limits.issue_write_window
        self.writes: dict[str, SlidingWindow] = {}

    def burst_hit(self, now: float, wall: datetime) -> Verdict | None:
        """The burst verdict, or None when the burst limit is off."""
        return None if self.burst is None else self.burst.hit(now, wall)

    def write_hit(self, issue_key: str, now: float, wall: datetime) -> Verdict | None:
        """The per-issue write verdict, or None when that limit is off."""
        if self.write_limit <= 0:
            return None
        window = self.writes.get(issue_key)
        if window is None:
            window = self.writes[issue_key] = SlidingWindow(self.write_limit, self.write_window)
        return window.hit(now, wall)


def reset_header(moment: datetime) -> str:
    """X-RateLimit-Reset: an ISO 8601 UTC timestamp such as 2026-01-01T01:01:01Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def limited_headers(verdict: Verdict, reason: str) -> dict[str, str]:
    """The headers of a 429 from a rate limit."""
    return {
        "Retry-After": str(verdict.retry_after),
        "X-RateLimit-Limit": str(verdict.limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset_header(verdict.reset),
        "RateLimit-Reason": reason,
        "X-RateLimit-NearLimit": "true",
    }
