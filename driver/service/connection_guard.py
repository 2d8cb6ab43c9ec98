"""The API's defences against a connection flood: bounded connections, header and body deadlines,
the file-descriptor limit raised at start, and repeated log lines rate-limited.

Why a protocol of our own and not uvicorn's `limit_concurrency` alone: uvicorn (0.55, h11) counts
every open connection, idle or half-sent, against `limit_concurrency` and answers the next request
503, so 1,000 sockets that send half a header lock out the operator; and it has no deadline for a
request's header or body at all (`timeout_keep_alive` only starts after a first response). So
`guarded_protocol` gives uvicorn's H11Protocol:

- a deadline for the request's head (`header_timeout` s from the connection, or from the end of the
  previous response) and one for its body (`body_timeout` s from the end of the head); a connection
  past its deadline is dropped. A request whose body has arrived is never cut: the app is working.
- at most `max_connections` open connections: a new one over the limit evicts the connection that has
  waited longest for its request to arrive (head or body), so a real client that connects during a
  flood of slow sockets is served; when every connection is busy in the app, the new one is dropped.

Raising RLIMIT_NOFILE's soft limit to the hard one (systemd gives 1,024 soft, 524,288 hard) leaves
room for the connections besides SQLite's files and the Jira client's pool.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("driver.connections")

FD_RESERVE = 128
"""Descriptors kept for everything but API connections: the database, its -wal, -shm and lock files,
the marker, logs, the event loop's own, plus the Jira client's pool (added per `concurrency`)."""


def raise_file_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; (soft, hard) afterwards.

    A hard limit of RLIM_INFINITY is capped at 1,048,576 (setting the soft limit to infinity is
    refused by Linux). Never lowers the soft limit; an OS refusal leaves it as it was (logged).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
        else:
            soft = target
    return soft, hard


def connection_budget(configured: int, soft_limit: int, concurrency: int) -> tuple[int, int]:
    """(API connections allowed, listen backlog) that fit in the open-file limit `soft_limit`.

    The backlog counts too: asyncio's accept loop takes up to `backlog` connections in one go
    before any of them reaches the protocol (CPython Lib/asyncio/selector_events.py
    `_accept_connection`), so connections + backlog + FD_RESERVE + concurrency must stay under the
    limit or accept() fails with EMFILE and is paused a second. Both at least 16; the backlog at
    most 1,024 (the listen backlog the socket had before).
    """
    room = max(32, soft_limit - FD_RESERVE - concurrency)
    backlog = max(16, min(1024, room // 4))
    return max(16, min(configured, room - backlog)), backlog


_WAITING_STATES = (h11.IDLE, h11.SEND_BODY)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with head/body deadlines and a connection bound (see the module)."""

    max_connections: ClassVar[int] = 1000
    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 60.0
    waiting: ClassVar[OrderedDict[GuardedH11Protocol, None]]
    """Connections waiting for their request (head or body), the longest waiting first."""
    dropped: ClassVar[int] = 0
    """Connections dropped by a deadline or the bound, for tests and the benchmark."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: object | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            victim = next(iter(self.waiting), None)
            if victim is None:
                # every connection is in the app: this one waits for nothing we can give
                transport.abort()
                type(self).dropped += 1
                return
            victim._evict()
        super().connection_made(transport)
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()
        if self.transport is None:
            return  # refused in connection_made: uvicorn never saw it
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        """Start the deadline of the phase the client is in (head, body) or stop it (request in)."""
        state = self.conn.their_state
        if self.transport.is_closing() or state not in _WAITING_STATES:
            self._leave()
            return
        if state is self._phase:
            return
        self._leave()
        self._phase = state
        self.waiting[self] = None
        seconds = self.header_timeout if state is h11.IDLE else self.body_timeout
        what = "head" if state is h11.IDLE else "body"
        self._deadline = self.loop.call_later(seconds, self._expire, what, seconds)

    def _leave(self) -> None:
        self._phase = None
        self.waiting.pop(self, None)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, what: str, seconds: float) -> None:
        log.warning("dropped an API connection: its request %s did not arrive within %g s", what, seconds)
        self._drop()

    def _evict(self) -> None:
        log.warning(
            "%d API connections open (the limit): dropped the one waiting longest for its request",
            self.max_connections,
        )
        self._drop()

    def _drop(self) -> None:
        self._leave()
        type(self).dropped += 1
        self.transport.abort()


def guarded_protocol(
    max_connections: int, header_timeout: float, body_timeout: float
) -> type[GuardedH11Protocol]:
    """A GuardedH11Protocol class with these limits (uvicorn.Config(http=...) takes a class)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "max_connections": max_connections,
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "waiting": OrderedDict(),
            "dropped": 0,
        },
    )


class RepeatFilter(logging.Filter):
    """Let through at most `burst` warnings or errors of one kind per `window` seconds (monotonic
    clock); INFO and DEBUG records pass (a retry's progress lines are spaced by their backoff).

    A kind is (logger, message template, exception type). The first record of a kind let through
    after some were held back says how many: "... (N more like this suppressed in the last W s)".
    A flood of one failure (accept() out of file descriptors, a bad request repeated) thus writes a
    few lines a minute, not a traceback per attempt.
    """

    MAX_KINDS = 1000

    def __init__(self, burst: int = 5, window: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self._kinds: dict[tuple[str, str, str], list[float]] = {}
        """kind -> [window start, records let through, records suppressed]"""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg), exc)
        now = self.clock()
        state = self._kinds.get(kind)
        if state is None or now - state[0] >= self.window:
            suppressed = 0 if state is None else int(state[2])
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = [now, 1, 0]
            if suppressed:
                record.msg = (
                    f"{record.getMessage()} ({suppressed} more like this suppressed in the last"
                    f" {self.window:g} s)"
                )
                record.args = None
            return True
        if state[1] < self.burst:
            state[1] += 1
            return True
        state[2] += 1
        return False


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Route the loop's error reports through RepeatFilter-friendly records.

    accept() failing for lack of descriptors is one line without its traceback. asyncio's selector
    loop reports it through the loop's exception handler ("socket.accept() out of system resource",
    CPython Lib/asyncio/selector_events.py `_accept_connection`), and the default handler logs a
    traceback each time with text that varies by the handle's repr, so a flood of one failure never
    looked "identical" (150,000 tracebacks, 80 MB in 10 s under 2,000 slow sockets). Every other
    report keeps its traceback but is logged under one template per exception type, so RepeatFilter
    holds back repeats.
    """

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        exc = context.get("exception")
        if "accept()" in message and "out of system resource" in message:
            log.error(
                "cannot accept API connections: %s (the open-file limit is reached; see LimitNOFILE"
                " in docs/operations.md)",
                getattr(exc, "strerror", None) or exc,
            )
            return
        details = "; ".join(f"{key}: {value!r}" for key, value in context.items() if key != "exception")
        logging.getLogger("asyncio").error(
            "event loop error: %s", details, exc_info=exc if isinstance(exc, BaseException) else None
        )

    loop.set_exception_handler(handler)
