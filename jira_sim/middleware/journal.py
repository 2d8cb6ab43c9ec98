"""Inside the gateway layer: journals every /rest/ request (method, path, auth scheme, user, status, body,
ms, and `gateway`: whether it came through Atlassian's /ex/jira/{cloudId} prefix, docs/wire-facts.md §14)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from jira_sim.data import jira_time, now
from jira_sim.middleware.exchange import ASGIApp, Exchange, Message, Receive, Scope, Send, open_exchange
from jira_sim.middleware.gateway import via_gateway
from jira_sim.state import SimState

BODY_TEXT_MAX = 2000
"""Characters of a non-JSON request body the journal keeps."""
_SERIAL = itertools.count(1)


class JournalMiddleware:
    """Opens the request's `Exchange` for the inner layers and journals the request when it is done.

    A test resets the simulator between tests while answers it held (latency, slow_after) may still be on
    their way: a request from before the last reset is not journaled.
    """

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/rest/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        exchange = Exchange(generation=state.generation, transport_send=send)
        open_exchange(scope, exchange)
        headers = dict(scope["headers"])
        # `ms` measures the real time spent answering, not simulated time, so it reads time.monotonic.
        started = time.monotonic()
        record: dict[str, Any] = {
            "time": jira_time(now(state.clock)),
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode("latin-1"),
            "auth": _auth_scheme(headers),
            "user": None,
            "status": None,
            "issue_key": None,
            "fault": None,
            # the gateway layer (outside this one) already put the site's /rest/ path in scope
            "gateway": via_gateway(scope),
        }
        # Jira names each request for its logs and support: X-AREQUESTID, minutes since midnight
        # x a serial x the node (Data Center and Cloud send it)
        clock = now(state.clock)
        request_id = f"{clock.hour * 60 + clock.minute}x{next(_SERIAL)}x1"
        record["request_id"] = request_id
        chunks: list[bytes] = []
        statuses: list[int] = []
        state.journal.counters.in_flight += 1

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-arequestid", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive_body, send_answer)
        finally:
            record["user"] = exchange.user
            record["fault"] = exchange.fault
            if not exchange.dropped and statuses:
                record["status"] = statuses[0]
            record["issue_key"] = exchange.issue_key or scope["state"].get("sim_issue_key")
            record["body"] = _journal_body(b"".join(chunks))
            record["ms"] = round((time.monotonic() - started) * 1000, 2)
            if state.generation == exchange.generation:
                state.journal.counters.in_flight -= 1
                state.journal.record(record)
            else:
                state.journal.counters.disowned += 1


def _auth_scheme(headers: dict[bytes, bytes]) -> str | None:
    """Only the scheme of the Authorization header (Basic, Bearer), never the secret."""
    value = headers.get(b"authorization")
    if value is None:
        return None
    return value.split(b" ", 1)[0].decode("latin-1")[:20]


def _journal_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:BODY_TEXT_MAX].decode("utf-8", "replace")
