"""Where the Jira client puts what it heard (driver.model.responses.HeardResponse).

An answer heard while a unit of work is delivered goes with that work (`collecting`, a context
variable each asyncio task inherits): the engine writes it in the transaction of the work's
outcome, so the Responses table costs no commit of its own. Any other answer (sync's polls,
metadata, `check`, a batched stamp search) waits in a bounded buffer that the driver writes once
a second (driver.app.upkeep); when the database cannot take them, the oldest are dropped first
and counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from driver.model.responses import HeardResponse

LOOSE_MAX = 5_000
"""Answers kept waiting for their write (a few MB at most)."""

_collector: ContextVar[list[HeardResponse] | None] = ContextVar("jira_driver_heard", default=None)


@contextmanager
def collecting() -> Iterator[list[HeardResponse]]:
    """Collect, into the list given, every answer heard until the block ends (in this task and the
    tasks it starts)."""
    heard: list[HeardResponse] = []
    token = _collector.set(heard)
    try:
        yield heard
    finally:
        _collector.reset(token)


class ResponseLog:
    """The answers heard outside any unit of work, waiting to be written."""

    def __init__(self, keep: int = LOOSE_MAX) -> None:
        self._loose: deque[HeardResponse] = deque(maxlen=keep)
        self.listeners: list[Callable[[HeardResponse], None]] = []
        """Told of every answer as it is heard (metrics), before it is kept."""
        self.dropped = 0
        """Answers dropped unwritten (the buffer was full: the database refused writes a while)."""

    def heard(self, response: HeardResponse) -> None:
        """Keep an answer: with the work being delivered, else in the buffer."""
        for listener in self.listeners:
            listener(response)
        target = _collector.get()
        if target is not None:
            target.append(response)
            return
        if len(self._loose) == self._loose.maxlen:
            self.dropped += 1
        self._loose.append(response)

    def take(self) -> list[HeardResponse]:
        """The waiting answers, oldest first; the buffer is empty after."""
        taken = list(self._loose)
        self._loose.clear()
        return taken

    def put_back(self, responses: list[HeardResponse]) -> None:
        """Answers whose write failed, to try again (before those heard since)."""
        room = (self._loose.maxlen or 0) - len(self._loose)
        kept = responses[-room:] if room > 0 else []
        self.dropped += len(responses) - len(kept)
        self._loose.extendleft(reversed(kept))
