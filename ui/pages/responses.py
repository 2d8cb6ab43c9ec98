"""The Responses page: every answer the driver heard from Jira, newest first, filtered by status and
kind, loaded page by page, live; the selected answer whole below (its body already masked by the
driver)."""

from __future__ import annotations

import json
from typing import Any, get_args

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Select, Static

from driver.contract.responses import ResponseEntry, ResponseKindName, ResponsePageBody
from driver.contract.schemas import DriverStatus
from ui.client import DriverApi
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.responses_table import ResponsesTable, status_text

PAGE_SIZE = 200
STATUSES = ("2xx", "4xx", "429", "5xx", "none")
KINDS: tuple[str, ...] = get_args(ResponseKindName)


def describe_response(entry: ResponseEntry) -> Text:
    """The detail pane: the request, the answer's headers the driver keeps, the body."""
    text = Text()
    text.append(f"#{entry.id}  {entry.method} {entry.path}  ", style="bold")
    text.append_text(status_text(entry.status))
    when = entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    text.append(f"\n{when}, {entry.duration_ms:.0f} ms, {entry.kind}")
    text.append(
        f", log row #{entry.log_id}" if entry.log_id is not None else ", no log row (sync, metadata, check)"
    )
    for label, value in (
        ("Retry-After", entry.retry_after),
        ("RateLimit-Reason", entry.rate_limit_reason),
        ("Jira request id", entry.request_id),
    ):
        if value:
            text.append(f"\n{label}: ", style="bold")
            text.append(value)
    if entry.error:
        text.append("\nNo answer: ", style="bold red")
        text.append(entry.error)
    if entry.body:
        text.append("\nBody:\n", style="bold")
        try:
            text.append(json.dumps(json.loads(entry.body), indent=2, ensure_ascii=False))
        except ValueError:
            text.append(entry.body)  # cut at 2 KB, or not JSON (a proxy's page)
    return text


class ResponsesPage(DriverPage):
    """Filters on top, the table, the selected answer below."""

    FOCUS = "#responses-table"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.next_before_id: int | None = None
        self._requested: int | None = None
        self._generation = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="responses-filters"):
            yield Select([(s, s) for s in STATUSES], prompt="any status", id="responses-status")
            yield Select([(k, k) for k in KINDS], prompt="any kind", id="responses-kind")
            yield Static("", id="responses-count")
        yield ResponsesTable(id="responses-table")
        with VerticalScroll(id="responses-detail-pane"):
            yield Static("Select an answer to see it whole.", id="responses-detail")

    def refresh_data(self) -> None:
        self.load_first()

    def status_changed(self, status: DriverStatus) -> None:
        self.refresh_newest()

    def _filters(self) -> dict[str, Any]:
        status = self.query_one("#responses-status", Select).value
        kind = self.query_one("#responses-kind", Select).value
        return {
            "status": status if isinstance(status, str) else None,
            "kind": kind if isinstance(kind, str) else None,
        }

    @on(Select.Changed)
    def _filter_now(self) -> None:
        self.load_first()

    def _count(self, page: ResponsePageBody) -> None:
        shown = self.query_one(ResponsesTable).row_count
        self.query_one("#responses-count", Static).update(f"{shown:,} of {page.total:,}, newest first")

    @work(exclusive=True, group="responses", exit_on_error=False)
    async def load_first(self) -> None:
        """The newest page for the current filters, dropping what was loaded."""
        self._generation += 1
        generation = self._generation
        page = await self.client.responses(**self._filters(), limit=PAGE_SIZE)
        if generation != self._generation:
            return
        table = self.query_one(ResponsesTable)
        table.replace(page.rows)
        self.next_before_id = page.next_before_id
        self._requested = None
        self._count(page)
        if not page.rows:
            self.query_one("#responses-detail", Static).update("No answers match.")

    @work(exclusive=True, group="responses-more", exit_on_error=False)
    async def load_more(self) -> None:
        """The next older page (keyset paging on the id)."""
        before, generation = self.next_before_id, self._generation
        if before is None or before == self._requested:
            return
        self._requested = before
        page = await self.client.responses(**self._filters(), before_id=before, limit=PAGE_SIZE)
        if generation != self._generation:
            return
        self.query_one(ResponsesTable).append(page.rows)
        self.next_before_id = page.next_before_id
        self._count(page)

    @work(exclusive=True, group="responses-refresh", exit_on_error=False)
    async def refresh_newest(self) -> None:
        """New answers on top (an answer never changes once heard)."""
        generation = self._generation
        page = await self.client.responses(**self._filters(), limit=PAGE_SIZE)
        if generation != self._generation:
            return
        table = self.query_one(ResponsesTable)
        if not table.entries:
            table.replace(page.rows)
            self.next_before_id = page.next_before_id
        else:
            table.merge_newest(page.rows)
        self._count(page)

    @on(ResponsesTable.NearEnd)
    def _near_end(self) -> None:
        self.load_more()

    @on(ResponsesTable.EntryHighlighted)
    def _highlighted(self, event: ResponsesTable.EntryHighlighted) -> None:
        self.query_one("#responses-detail", Static).update(describe_response(event.entry))
