"""What every page shares: the client handed down, and worker failures sent up."""

from __future__ import annotations

from textual import on
from textual.containers import Container
from textual.worker import Worker, WorkerState

from driver.schemas import DriverStatus
from ui.client import DriverApi
from ui.messages import DriverCallFailed


class DriverPage(Container):
    """One connector page inside its tab."""

    FOCUS: str = ""
    """Selector of the widget that takes the focus when the page is shown."""

    def __init__(self, client: DriverApi, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.client = client

    def refresh_data(self) -> None:
        """Fetch what the page shows (runs workers; returns at once)."""

    def status_changed(self, status: DriverStatus) -> None:
        """The app saw a new driver status while this page is visible."""

    def shown(self) -> None:
        """The page became visible: fetch its data and take the focus."""
        self.refresh_data()
        if self.FOCUS:
            self.query_one(self.FOCUS).focus()

    @on(Worker.StateChanged)
    def _report_failure(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble; this turns every unhandled page failure into one
        # app-level message, so "disconnected, retrying" is decided in one place.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(DriverCallFailed(event.worker.error))
