"""Injected faults and latency: a status answer (429, 5xx), a dropped connection, an answer held or dropped.

Each /rest/ request takes the first armed rule that matches it (`Faults.take`) before anything else
looks at it; `latency_ms` delays every request before it is processed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi.responses import Response

from jira_sim.clock import Clock
from jira_sim.faults import reset_header
from jira_sim.middleware.exchange import ASGIApp, Message, Receive, Scope, Send, exchange_of
from jira_sim.responses import error_response
from jira_sim.settings import FaultRule
from jira_sim.state import SimState


class FaultsMiddleware:
    """Applies the rule a request triggers; `drop_after`, `slow_after` and `status_after` act on the
    app's answer."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        if exchange is None:
            await self.app(scope, receive, send)
            return
        state = self.state
        rule = state.faults.take(scope["method"], scope["path"])
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000)
            if state.generation != exchange.generation:
                await exchange.abort()
                return
        if rule is None:
            await self.app(scope, receive, send)
            return
        exchange.fault = rule.kind if rule.kind != "status" else str(rule.status)
        state.journal.counters.faults += 1
        if rule.kind == "drop":
            exchange.dropped = True
            await exchange.abort()
            return
        if rule.kind == "status":
            echoed = _header_lines(scope) if rule.echo_headers else []
            await fault_response(rule, state.clock, echoed)(scope, receive, send)
            return
        if rule.kind == "status_after":

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
            await fault_response(rule, state.clock)(scope, receive, send)
            return
        drop = rule.kind == "drop_after"
        delay = rule.seconds if rule.kind == "slow_after" else 0.0

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                if drop:
                    exchange.dropped = True
                    await exchange.abort()
                    return
                if delay:
                    await asyncio.sleep(delay)
            elif drop:
                return
            await send(message)

        await self.app(scope, receive, send_answer)


def _header_lines(scope: Scope) -> list[str]:
    return [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in scope["headers"]]


def fault_response(rule: FaultRule, clock: Clock, echoed: list[str] | None = None) -> Response:
    """The answer of a status fault: a 429 carries Cloud's rate-limit headers (docs/wire-facts.md §8);
    `echoed`, the request's header lines, go into the body (FaultRule.echo_headers)."""
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = str(int(rule.retry_after))
    if rule.status == 429:
        headers.update(
            {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_header(clock.now() + timedelta(seconds=rule.retry_after or 1)),
                "RateLimit-Reason": rule.reason,
                "X-RateLimit-NearLimit": "true",
            }
        )
        return error_response(rule.status, ["Rate limit exceeded."], headers=headers)
    messages = [f"Simulated server error {rule.status}.", *(echoed or [])]
    return error_response(rule.status, messages, headers=headers)
