"""What every page shares: the client and the change queue handed down, worker failures sent up."""

from __future__ import annotations

from textual import on
from textual.containers import Container
from textual.worker import Worker, WorkerState

from driver.contract.schemas import DriverStatus
from ui.client import DriverApi
from ui.messages import DriverCallFailed
from ui.mutations import Change, MutationQueue

ReadToken = int | None
"""What `read_started` returns and `read_current` checks: None means "already stale"."""


class DriverPage(Container):
    """One connector page inside its tab.

    Reads run in exclusive workers of the page; changes go through the app's MutationQueue
    (`mutate`). A read answered while one of the page's changes was queued or in flight may
    predate it, so the page shows it only if `read_current(read_started())` still holds.
    """

    FOCUS: str = ""
    """Selector of the widget that takes the focus when the page is shown."""

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.client = client
        self.mutations = mutations
        self._changes_open = 0
        self._changes_asked = 0

    def refresh_data(self) -> None:
        """Fetch what the page shows (runs workers; returns at once)."""

    def status_changed(self, status: DriverStatus) -> None:
        """The app saw a new driver status while this page is visible."""

    def shown(self, status: DriverStatus | None) -> None:
        """The page became visible: fetch its data and take the focus. `status` is the driver's
        latest (None before the first, or while it is unreachable); `status_changed` follows."""
        self.refresh_data()
        if self.FOCUS:
            self.query_one(self.FOCUS).focus()

    # --- changes --------------------------------------------------------------------------------

    def mutate(self, what: str, change: Change, *, changes_view: bool = True) -> None:
        """Queue a change behind every change asked before it (on any page); returns at once.

        `what` names it for the operator if it fails. `changes_view=False` for calls whose answer
        does not touch what the page's reads show (a connection test), so reads need not wait.
        """
        if not changes_view:
            self.mutations.submit(self, what, change)
            return
        self._changes_open += 1
        self._changes_asked += 1

        async def tracked() -> None:
            try:
                await change()
            finally:
                self._changes_open -= 1

        self.mutations.submit(self, what, tracked)

    def read_started(self) -> ReadToken:
        """Call before a read's request; pass the token to `read_current` with its answer."""
        return None if self._changes_open else self._changes_asked

    def read_current(self, token: ReadToken) -> bool:
        """Whether a read's answer is newer than every change of this page (else drop it)."""
        return token is not None and not self._changes_open and token == self._changes_asked

    @on(Worker.StateChanged)
    def _report_failure(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble; this turns every unhandled page failure into one
        # app-level message, so "disconnected, retrying" is decided in one place.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(DriverCallFailed(event.worker.error))
