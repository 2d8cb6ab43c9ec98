"""The engine's idle workers and what wakes them.

A worker that finds nothing to send waits here until something may have made work ready (`all`:
intake, a settled row, new credentials, Jira back) or a place in flight came free (`one`: a
single request may go, so one worker is enough), or until the next moment something is due.
The check for work and the wait's registration happen with no await between them (the engine's
`_next_work`), so no wake-up is lost.

Waiting costs one future and, with a due moment, one timer (not asyncio.wait_for, whose task and
callbacks cost more than the wait itself: a spare worker waits often, issue 18).
"""

from __future__ import annotations

import asyncio


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Wakeups:
    """The wake-up futures of the workers waiting now."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Future[None]] = set()

    def __len__(self) -> int:
        """Workers waiting now."""
        return len(self._waiting)

    def all(self) -> None:
        """Wake every waiting worker."""
        waiting, self._waiting = self._waiting, set()
        for future in waiting:
            _wake(future)

    def one(self) -> None:
        """Wake one waiting worker (none waiting: nothing to do)."""
        while self._waiting:
            future = self._waiting.pop()
            if not future.done():
                future.set_result(None)
                return

    def register(self) -> asyncio.Future[None]:
        """A new wake-up future; register it before the caller's next await."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.add(future)
        return future

    async def wait(self, future: asyncio.Future[None], seconds: float | None) -> None:
        """Wait for `future` (registered) to be woken, or `seconds` (None: no limit)."""
        timer = None if seconds is None else asyncio.get_running_loop().call_later(seconds, _wake, future)
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            self._waiting.discard(future)
