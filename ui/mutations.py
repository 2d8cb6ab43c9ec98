"""One queue for every change the TUI asks of the driver: sent one at a time, in the order asked.

Reads may be exclusive workers (a newer refresh supersedes an older one), but a change must never
be cancelled by the next one, nor built from what the screen showed before an earlier change was
applied: two quick Mode toggles would then send two whole tables, the second without the first
toggle. So pages never call a mutating route from their own workers; they `submit` a coroutine
function, and it runs when every change asked before it has settled. A change that needs the
driver's state (the table's rows) reads it inside that function, when its turn comes.

The queue runs in one worker at a time, started when work arrives and ended when the queue is
empty (so `app.workers.wait_for_complete()` still means "nothing left to do"). It is app-wide,
not per page: a change of the Ticket Location URL on the Configuration page must reach the
driver before an Execute asked for after it on the Ticket Creation page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.widget import Widget

from ui.client import DriverUnreachable
from ui.messages import DriverCallFailed

Change = Callable[[], Awaitable[None]]
"""A coroutine function that makes one change through the client (and shows its answer)."""


@dataclass(frozen=True)
class _Queued:
    owner: Widget
    what: str
    change: Change


class MutationQueue:
    """Changes run strictly one after another, each to completion, in submission order."""

    GROUP = "mutations"
    """The worker group of the queue's runner; never exclusive."""

    def __init__(self, host: DOMNode) -> None:
        self._host = host
        self._queue: deque[_Queued] = deque()
        self._running = False

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return not self._running

    def submit(self, owner: Widget, what: str, change: Change) -> None:
        """Queue `change`; `what` names it for the operator ("Toggle Mode of summary").

        Failures the change does not handle itself are posted from `owner` as DriverCallFailed
        (the app turns them into the status bar or a notification); an unreachable driver also
        tells the operator that this change was not made. The queue moves on either way.
        """
        self._queue.append(_Queued(owner, what, change))
        if not self._running:
            self._running = True
            self._host.run_worker(self._drain(), group=self.GROUP, exit_on_error=False)

    async def _drain(self) -> None:
        try:
            while self._queue:
                item = self._queue.popleft()
                try:
                    await item.change()
                except Exception as exc:  # noqa: BLE001  (reported, and the next change still runs)
                    if isinstance(exc, DriverUnreachable):
                        item.owner.notify(
                            f"{item.what} was not made: {exc.reason}", title="Not saved", severity="error"
                        )
                    item.owner.post_message(DriverCallFailed(exc))
        finally:
            # No await between the empty check above and this: a submit cannot slip in between.
            self._running = False
