"""The engine's idle workers and what wakes them.

A worker that finds nothing to send waits here until something may have made work ready (`all`:
intake, new credentials, Jira back; `ready`: a settled row), or a place in flight came free
(`one`: a single request may go, so one worker is enough), or until the next moment something is
due. A worker that found work but every place in flight taken waits `for_place`: only a freed
place (or `all`) wakes it, since a settled row's outcome frees none (the request left the count
when Jira answered); there is always an answer to come, as the engine waits so only while
requests are in flight. The check for work and the wait's registration happen with no await
between them (the engine's `_next_work`), so no wake-up is lost.

Waiting costs one future and, with a due moment, one timer (not asyncio.wait_for, whose task and
callbacks cost more than the wait itself: a spare worker waits often, issue 18).
"""

from __future__ import annotations

import asyncio


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake_one(waiting: set[asyncio.Future[None]]) -> bool:
    """Wake one of `waiting` (taken out of it); False when none was left to wake."""
    while waiting:
        future = waiting.pop()
        if not future.done():
            future.set_result(None)
            return True
    return False


class Wakeups:
    """The wake-up futures of the workers waiting now: for work, or for a place in flight."""

    def __init__(self) -> None:
        self._work: set[asyncio.Future[None]] = set()
        self._place: set[asyncio.Future[None]] = set()

    def __len__(self) -> int:
        """Workers waiting now."""
        return len(self._work) + len(self._place)

    def all(self) -> None:
        """Wake every waiting worker."""
        self.ready()
        place, self._place = self._place, set()
        for future in place:
            _wake(future)

    def ready(self) -> None:
        """Wake the workers waiting for work (not those waiting for a place in flight)."""
        work, self._work = self._work, set()
        for future in work:
            _wake(future)

    def places(self, free: int) -> None:
        """`free` places in flight are open (the limit rose: Jira back, credentials proven): wake
        that many workers waiting for one."""
        while free > 0 and _wake_one(self._place):
            free -= 1

    def one(self) -> None:
        """A place in flight came free: wake one waiting worker, one waiting for a place first."""
        if not _wake_one(self._place):
            _wake_one(self._work)

    def register(self, for_place: bool = False) -> asyncio.Future[None]:
        """A new wake-up future; register it before the caller's next await."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._place if for_place else self._work).add(future)
        return future

    async def wait(self, future: asyncio.Future[None], seconds: float | None) -> None:
        """Wait for `future` (registered) to be woken, or `seconds` (None: no limit)."""
        timer = None if seconds is None else asyncio.get_running_loop().call_later(seconds, _wake, future)
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            self._work.discard(future)
            self._place.discard(future)
