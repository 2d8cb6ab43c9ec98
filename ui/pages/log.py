"""The Log page: the create/update log, filtered, newest first, loaded page by page."""

from __future__ import annotations

import json
import os
import sys
import webbrowser
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from driver.contract.schemas import DriverStatus, LogEntry, LogPage, LogStatus, LogType
from ui.client import DriverApi
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.log_table import LogTable, status_text
from ui.widgets.text_box import TextBox

PAGE_SIZE = 200
"""Rows per request: a few screens' worth, so scrolling never waits on a small page."""
FILTER_DEBOUNCE = 0.3


def browser_available() -> bool:
    """Whether webbrowser.open would reach a graphical browser rather than take over this terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def describe_entry(entry: LogEntry) -> Text:
    """The detail panel: the row, the whole error, what was sent and Jira's answer."""
    text = Text()
    text.append(f"#{entry.id}  {entry.type.value} {entry.action}  {entry.guid}  ", style="bold")
    text.append_text(status_text(entry.status))
    when = entry.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    duration = f", {entry.duration_ms:.0f} ms" if entry.duration_ms is not None else ""
    text.append(f"\naccepted {when}, {entry.attempts} attempt(s){duration}\n")
    if entry.ticket_key or entry.ticket_url:
        text.append("Ticket: ", style="bold")
        text.append(f"{entry.ticket_key or ''}  {entry.ticket_url or ''}  (o: open, y: copy)\n")
    if entry.note:
        text.append("Note: ", style="bold")
        text.append(f"{entry.note}\n")
    if entry.error:
        text.append("Error:\n", style="bold red")
        text.append(f"{entry.error}\n")
    if entry.request is not None:
        text.append("Request:\n", style="bold")
        text.append(f"{_json(entry.request)}\n")
    if entry.response is not None:
        text.append("Response:\n", style="bold")
        text.append(f"{_json(entry.response)}\n")
    return text


class LogViewPage(DriverPage):
    """Filters on top, the table, the selected row's detail below."""

    BINDINGS = [
        Binding("o", "open_ticket", "Open ticket"),
        Binding("y", "copy_ticket", "Copy URL"),
        Binding("slash", "search", "Search"),
    ]

    FOCUS = "#log-table"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.total = 0
        self.next_before_id: int | None = None
        self._requested_before: int | None = None
        self._generation = 0
        self._debounce: Timer | None = None
        self.detail: LogEntry | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Select([(s.value, s.value) for s in LogStatus], prompt="any status", id="filter-status")
            yield Select([(t.value, t.value) for t in LogType], prompt="any type", id="filter-type")
            yield TextBox(placeholder="search: GUID, ticket key, error text…", id="filter-text")
            yield Static("", id="log-count")
        yield LogTable(id="log-table")
        with VerticalScroll(id="log-detail-pane"):
            yield Static("Select a row to see its error, request and response.", id="log-detail")

    def refresh_data(self) -> None:
        self.load_first()

    def status_changed(self, status: DriverStatus) -> None:
        self.refresh_newest()

    # --- filters --------------------------------------------------------------------------------

    def _filters(self) -> dict[str, Any]:
        status = self.query_one("#filter-status", Select).value
        kind = self.query_one("#filter-type", Select).value
        text = self.query_one("#filter-text", Input).value.strip()
        return {
            "status": LogStatus(status) if isinstance(status, str) else None,
            "type": LogType(kind) if isinstance(kind, str) else None,
            "q": text or None,
        }

    @on(Select.Changed, "#filter-status, #filter-type")
    @on(Input.Submitted, "#filter-text")
    def _filter_now(self) -> None:
        self.load_first()

    @on(Input.Changed, "#filter-text")
    def _filter_soon(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DEBOUNCE, self.load_first)

    # --- driver calls ---------------------------------------------------------------------------

    def _show_count(self, page: LogPage) -> None:
        self.total = page.total
        shown = self.query_one(LogTable).row_count
        self.query_one("#log-count", Static).update(f"{shown:,} of {page.total:,} shown, newest first")

    @work(exclusive=True, group="log", exit_on_error=False)
    async def load_first(self) -> None:
        """Load the newest page for the current filters, dropping what was loaded."""
        self._generation += 1
        generation = self._generation
        page = await self.client.log(**self._filters(), limit=PAGE_SIZE)
        if generation != self._generation:
            return
        table = self.query_one(LogTable)
        table.replace(page.rows)
        self.next_before_id = page.next_before_id
        self._requested_before = None
        self._show_count(page)
        if not page.rows:
            self.detail = None
            self.query_one("#log-detail", Static).update("No log rows match.")

    @work(exclusive=True, group="log-more", exit_on_error=False)
    async def load_more(self) -> None:
        """Load the next older page (keyset paging on the id)."""
        before = self.next_before_id
        generation = self._generation
        if before is None or before == self._requested_before:
            return
        self._requested_before = before
        try:
            page = await self.client.log(**self._filters(), before_id=before, limit=PAGE_SIZE)
        finally:
            if self._requested_before == before:
                self._requested_before = None
        if generation != self._generation:
            return
        self.query_one(LogTable).append(page.rows)
        self.next_before_id = page.next_before_id
        self._show_count(page)

    @work(exclusive=True, group="log-refresh", exit_on_error=False)
    async def refresh_newest(self) -> None:
        """Fold the newest page into the table: new rows on top, changed statuses in place."""
        generation = self._generation
        page = await self.client.log(**self._filters(), limit=PAGE_SIZE)
        if generation != self._generation:
            return
        table = self.query_one(LogTable)
        if not table.entries:
            table.replace(page.rows)
            self.next_before_id = page.next_before_id
        elif table.merge_newest(page.rows):
            current = table.current
            if current is not None and self.detail is not None and current.id == self.detail.id:
                self.load_detail(current.id)
        self._show_count(page)

    @work(exclusive=True, group="log-detail", exit_on_error=False)
    async def load_detail(self, entry_id: int) -> None:
        """Fetch one row with its request and response."""
        entry = await self.client.log_entry(entry_id)
        self.detail = entry
        self.query_one("#log-detail", Static).update(describe_entry(entry))

    @on(LogTable.NearEnd)
    def _near_end(self) -> None:
        if self.next_before_id is not None and self.next_before_id != self._requested_before:
            self.load_more()

    @on(LogTable.EntryHighlighted)
    def _highlighted(self, event: LogTable.EntryHighlighted) -> None:
        self.load_detail(event.entry.id)

    # --- ticket URL -----------------------------------------------------------------------------

    def _ticket_url(self) -> str | None:
        entry = self.query_one(LogTable).current
        if entry is None or not entry.ticket_url:
            self.notify("This row has no ticket URL.", severity="warning")
            return None
        return entry.ticket_url

    def action_open_ticket(self) -> None:
        """Open the ticket in a browser, or copy its URL where there is none."""
        url = self._ticket_url()
        if url is None:
            return
        if browser_available():
            self.open_in_browser(url)
        else:
            self.copy_url(url)

    def action_copy_ticket(self) -> None:
        """Copy the ticket URL to the clipboard."""
        url = self._ticket_url()
        if url is not None:
            self.copy_url(url)

    def copy_url(self, url: str) -> None:
        """Put the URL on the clipboard (OSC 52) and say so."""
        self.app.copy_to_clipboard(url)
        self.notify(f"Copied {url}")

    @work(thread=True, exclusive=True, group="log-browser", exit_on_error=False)
    def open_in_browser(self, url: str) -> None:
        """webbrowser.open blocks while it finds a browser, hence a thread."""
        if webbrowser.open(url):
            self.app.call_from_thread(self.notify, f"Opened {url}")
        else:
            self.app.call_from_thread(self.copy_url, url)

    def action_search(self) -> None:
        """Jump to the free-text filter."""
        self.query_one("#filter-text", Input).focus()
