"""The operator TUI: one tab per connector page, the driver's state always in view."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ui.client import DriverApi, DriverRejected, DriverUnreachable, connect, driver_url
from ui.messages import DriverCallFailed, DriverStatusChanged
from ui.mutations import MutationQueue
from ui.pages.alarms import AlarmsPage
from ui.pages.base import DriverPage
from ui.pages.configuration import ConfigurationPage
from ui.pages.eligible import EligiblePage
from ui.pages.log import LogViewPage
from ui.pages.responses import ResponsesPage
from ui.pages.statistics import StatisticsPage
from ui.pages.ticket_creation import TicketCreationPage
from ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from driver.config import Config

POLL_INTERVAL = 0.5
"""Seconds between the end of one status poll and the start of the next."""


def one_line(error: BaseException) -> str:
    """An error as a short line for the status bar."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 90 else text[:89] + "…"


class JiraDriverApp(App[None]):
    """The TUI over one driver's HTTP API."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "jira-driver"
    # The screen gets -narrow below 110 columns and -short below 32 rows (an SSH session's 80x24):
    # app.tcss stacks side-by-side panes and shrinks detail panes there, so every page keeps its
    # table's rows and columns in view.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = [
        Binding("f1", "show_page('ticket')", "Ticket"),
        Binding("f2", "show_page('config')", "Config"),
        Binding("f3", "show_page('log')", "Log"),
        Binding("f4", "show_page('stats')", "Stats"),
        Binding("f5", "show_page('responses')", "Responses"),
        Binding("f6", "show_page('alarms')", "Alarms"),
        Binding("f7", "show_page('eligible')", "Eligible"),
        Binding("ctrl+r", "refresh_page", "Refresh"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self, client: DriverApi, *, poll_interval: float = POLL_INTERVAL, quit_after: float = 0
    ) -> None:
        super().__init__()
        self.client = client
        self.mutations = MutationQueue(self)
        self.poll_interval = poll_interval
        self.quit_after = quit_after
        self.connected = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with TabbedContent(initial="ticket", id="pages"):
            with TabPane("Ticket Creation", id="ticket"):
                yield TicketCreationPage(self.client, self.mutations, id="ticket-page")
            with TabPane("Configuration", id="config"):
                yield ConfigurationPage(self.client, self.mutations, id="config-page")
            with TabPane("Log", id="log"):
                yield LogViewPage(self.client, self.mutations, id="log-page")
            with TabPane("Statistics", id="stats"):
                yield StatisticsPage(self.client, self.mutations, id="stats-page")
            with TabPane("Responses", id="responses"):
                yield ResponsesPage(self.client, self.mutations, id="responses-page")
            with TabPane("Alarms", id="alarms"):
                yield AlarmsPage(self.client, self.mutations, id="alarms-page")
            with TabPane("Eligible", id="eligible"):
                yield EligiblePage(self.client, self.mutations, id="eligible-page")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        # Held, not queried later: app.query_one looks at the top screen, which may be a dialog.
        self.status_bar = self.query_one(StatusBar)
        self.tabs = self.query_one("#pages", TabbedContent)
        self.status_bar.url = self.client.base_url
        self.poll_status()
        if self.quit_after > 0:
            self.set_timer(self.quit_after, self.exit)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    @property
    def page(self) -> DriverPage:
        """The visible page."""
        return self.tabs.get_pane(self.tabs.active).query_one(DriverPage)

    # --- the status poller ----------------------------------------------------------------------

    @work(exclusive=True, group="status", exit_on_error=False)
    async def poll_status(self) -> None:
        """Ask the driver for its state once."""
        self.post_message(DriverStatusChanged(await self.client.status()))

    @on(Worker.StateChanged)
    def _poll_settled(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "status":
            return
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(DriverCallFailed(event.worker.error))
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            # Scheduled only now, so polls never overlap however slow the driver is.
            self.set_timer(self.poll_interval, self.poll_status)

    @on(DriverStatusChanged)
    def _status_changed(self, message: DriverStatusChanged) -> None:
        bar = self.status_bar
        bar.error = message.error
        bar.status = message.status
        if message.status is None:
            self.connected = False
            return
        try:
            page = self.page
        except NoMatches:
            return  # a poll answered while the app closes: its pages are gone, nobody to tell
        if not self.connected:
            self.connected = True
            page.refresh_data()  # back after an outage: whatever is shown may be stale
        else:
            page.status_changed(message.status)

    @on(DriverCallFailed)
    def _call_failed(self, message: DriverCallFailed) -> None:
        error = message.error
        if isinstance(error, DriverUnreachable):
            self.post_message(DriverStatusChanged(None, error=one_line(error)))
        elif isinstance(error, DriverRejected):
            self.notify(error.body.error, title=f"The driver refused ({error.status})", severity="error")
        else:
            self.notify(one_line(error), title=type(error).__name__, severity="error")

    # --- pages ----------------------------------------------------------------------------------

    @on(TabbedContent.TabActivated, "#pages")
    def _tab_shown(self) -> None:
        self.page.shown(self.status_bar.status)

    def action_show_page(self, tab: str) -> None:
        """Switch to a page."""
        self.tabs.active = tab

    def action_refresh_page(self) -> None:
        """Reload the visible page from the driver."""
        self.page.refresh_data()


def run_app(url: str, api_token: str | None, *, seconds: float = 0) -> None:
    """Run the TUI against the driver at url; seconds > 0 closes it after that long (the demo)."""
    JiraDriverApp(connect(url, api_token), quit_after=seconds).run()


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver ui`: the TUI on the configured driver ($JIRA_DRIVER_URL for another host)."""
    url = driver_url(config, override=args.url)
    run_app(url, config.driver.api_token.get_secret_value() or None)
    return 0
