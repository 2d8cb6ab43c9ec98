"""Jira's rate limits on /rest/: Cloud's burst limit over all requests and write limit per issue,
and Data Center's token bucket (its headers on every answer).

Both count on the state's clock and are off while their limit is 0 (docs/wire-facts.md §8). A request over a
limit gets 429 with Retry-After and the X-RateLimit-* headers; an allowed one carries X-RateLimit-Limit,
X-RateLimit-Remaining and, near the limit, X-RateLimit-NearLimit.
"""

from __future__ import annotations

import re

from jira_sim.faults import Verdict, limited_headers
from jira_sim.middleware.exchange import ASGIApp, Exchange, Message, Receive, Scope, Send, exchange_of
from jira_sim.responses import error_response
from jira_sim.state import SimState

_ISSUE_WRITE = re.compile(r"^/rest/api/[^/]+/issue/([^/]+)(?:/(comment|transitions|properties)(?:/.*)?)?$")
_NOT_ISSUE_KEYS = frozenset({"createmeta", "bulk", "picker", "properties"})
_NEAR_LIMIT = (b"x-ratelimit-nearlimit", b"true")


class RateLimitMiddleware:
    """Counts each request against the limits and answers 429 over them; headers go on every answer."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        if exchange is None:
            await self.app(scope, receive, send)
            return
        extra_headers: list[tuple[bytes, bytes]] = []

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start" and extra_headers:
                message["headers"] = list(message.get("headers", [])) + extra_headers
            await send(message)

        bucket = self.state.rate.bucket
        if bucket is not None:
            verdict = bucket.hit(self.state.clock.monotonic(), self.state.clock.now())
            if not verdict.allowed:
                self.state.journal.counters.rate_limited += 1
                headers = {k.decode(): v.decode() for k, v in bucket.headers(verdict)}
                await error_response(429, ["Rate limit exceeded."], headers=headers)(scope, receive, send)
                return
            extra_headers.extend(bucket.headers(verdict))
        limited = self._verdict(scope, exchange, extra_headers)
        if limited is not None:
            verdict, reason = limited
            self.state.journal.counters.rate_limited += 1
            await error_response(429, ["Rate limit exceeded."], headers=limited_headers(verdict, reason))(
                scope, receive, send_answer
            )
            return
        await self.app(scope, receive, send_answer)

    def _verdict(
        self, scope: Scope, exchange: Exchange, extra_headers: list[tuple[bytes, bytes]]
    ) -> tuple[Verdict, str] | None:
        """The refusing verdict and its RateLimit-Reason, or None; adds an allowed verdict's headers."""
        state = self.state
        clock, wall = state.clock.monotonic(), state.clock.now()
        verdict = state.rate.burst_hit(clock, wall)
        if verdict is not None:
            if not verdict.allowed:
                return verdict, "jira-burst-based"
            extra_headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
            extra_headers.append((b"x-ratelimit-remaining", str(verdict.remaining).encode()))
            if verdict.near_limit:
                extra_headers.append(_NEAR_LIMIT)
        if scope["method"] not in {"PUT", "POST", "DELETE"}:
            return None
        match = _ISSUE_WRITE.match(scope["path"])
        if not match or match.group(1) in _NOT_ISSUE_KEYS:
            return None
        issue = state.store.get(match.group(1))
        if issue is None:
            return None
        exchange.issue_key = issue.key
        verdict = state.rate.write_hit(issue.key, clock, wall)
        if verdict is None:
            return None
        if not verdict.allowed:
            return verdict, "jira-per-issue-on-write"
        if verdict.near_limit and _NEAR_LIMIT not in extra_headers:
            extra_headers.append(_NEAR_LIMIT)
        return None
