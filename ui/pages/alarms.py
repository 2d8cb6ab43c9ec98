"""The Alarms page: every GUID the driver knows, newest activity first, and what an operator does to
one alarm (resolve it now, retry its Failed rows, unlink its ticket, call a custom endpoint for it,
open or copy its ticket)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from driver.contract.alarms import AlarmEntry, AlarmPage
from driver.contract.schemas import DriverStatus
from ui.client import DriverApi, DriverRejected
from ui.modals.call_endpoint import CallEndpointModal, EndpointChoice
from ui.modals.confirm import ConfirmModal
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.pages.log import browser_available
from ui.widgets.alarms_table import AlarmsTable, state_text
from ui.widgets.text_box import TextBox

PAGE_SIZE = 100
FILTER_DEBOUNCE = 0.3
STATES = ("active", "resolve_hold", "cleared", "unknown")


def describe_alarm(alarm: AlarmEntry) -> Text:
    """The detail pane: the alarm, its ticket as the driver knows it, its rows."""
    text = Text()
    text.append(f"{alarm.guid}  ", style="bold")
    text.append_text(state_text(alarm.state))
    if alarm.hold_until is not None:
        text.append(f" until {alarm.hold_until.astimezone():%H:%M:%S}")
    text.append(f"\n{alarm.summary or '(no summary)'}\n")
    when = alarm.last_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    text.append(f"last: {alarm.last_action} #{alarm.last_log_id} {alarm.last_status or ''} at {when}\n")
    if alarm.ticket_key:
        text.append("Ticket: ", style="bold")
        status = " / ".join(s for s in (alarm.jira_status, alarm.resolution, alarm.assignee) if s)
        text.append(
            f"{alarm.ticket_key} (generation {alarm.generation}) {status}  {alarm.ticket_url or ''}\n"
        )
    else:
        text.append("No ticket yet.\n")
    text.append(
        f"updates sent {alarm.updates_sent}, merged {alarm.updates_merged}, waiting {alarm.updates_waiting};"
        f" Failed rows {alarm.failed_rows}\n"
    )
    text.append(
        "r: resolve now  t: retry Failed rows  u: unlink  c: call an endpoint  o: open ticket  y: copy URL",
        style="dim",
    )
    return text


class AlarmsPage(DriverPage):
    """Filters on top, the table, the selected alarm below."""

    BINDINGS = [
        Binding("r", "resolve", "Resolve now"),
        Binding("t", "retry", "Retry failed"),
        Binding("u", "unlink", "Unlink"),
        Binding("c", "call_endpoint", "Call endpoint"),
        Binding("o", "open_ticket", "Open ticket"),
        Binding("y", "copy_ticket", "Copy URL", show=False),
        Binding("slash", "search", "Search", show=False),
    ]

    FOCUS = "#alarms-table"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.next_before: int | None = None
        self._requested: int | None = None
        self._generation = 0
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="alarms-filters"):
            yield Select([(s, s) for s in STATES], prompt="any state", id="alarms-state")
            yield TextBox(placeholder="GUID, ticket key or summary…", id="alarms-text")
            yield Static("", id="alarms-count")
        yield AlarmsTable(id="alarms-table")
        with VerticalScroll(id="alarms-detail-pane"):
            yield Static("Select an alarm.", id="alarms-detail")

    def refresh_data(self) -> None:
        self.load_first()

    def status_changed(self, status: DriverStatus) -> None:
        self.load_first()

    def _filters(self) -> dict[str, Any]:
        state = self.query_one("#alarms-state", Select).value
        text = self.query_one("#alarms-text", Input).value.strip()
        return {"state": state if isinstance(state, str) else None, "q": text or None}

    @on(Select.Changed, "#alarms-state")
    @on(Input.Submitted, "#alarms-text")
    def _filter_now(self) -> None:
        self.load_first()

    @on(Input.Changed, "#alarms-text")
    def _filter_soon(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DEBOUNCE, self.load_first)

    def _count(self, page: AlarmPage) -> None:
        shown = self.query_one(AlarmsTable).row_count
        self.query_one("#alarms-count", Static).update(f"{shown:,} of {page.total:,}, newest activity first")

    @work(exclusive=True, group="alarms", exit_on_error=False)
    async def load_first(self) -> None:
        """The newest page for the current filters (the cursor stays on its GUID)."""
        self._generation += 1
        generation = self._generation
        token = self.read_started()
        page = await self.client.alarms(**self._filters(), limit=PAGE_SIZE)
        if generation != self._generation or not self.read_current(token):
            return
        table = self.query_one(AlarmsTable)
        table.show(page.rows)
        self.next_before = page.next_before
        self._count(page)
        current = table.current
        self.query_one("#alarms-detail", Static).update(
            describe_alarm(current) if current else "No alarms match."
        )

    @work(exclusive=True, group="alarms-more", exit_on_error=False)
    async def load_more(self) -> None:
        """The next page (cursor paging on the last row id)."""
        before, generation = self.next_before, self._generation
        if before is None or before == self._requested:
            return
        self._requested = before
        page = await self.client.alarms(**self._filters(), before=before, limit=PAGE_SIZE)
        if generation != self._generation:
            return
        self.query_one(AlarmsTable).append(page.rows)
        self.next_before = page.next_before
        self._count(page)

    @on(AlarmsTable.NearEnd)
    def _near_end(self) -> None:
        self.load_more()

    @on(AlarmsTable.AlarmHighlighted)
    def _highlighted(self, event: AlarmsTable.AlarmHighlighted) -> None:
        self.query_one("#alarms-detail", Static).update(describe_alarm(event.alarm))

    # --- actions --------------------------------------------------------------------------------

    def _act(self, what: str, call: Callable[[str], Awaitable[Any]], done: Callable[[Any], str]) -> None:
        alarm = self.query_one(AlarmsTable).current
        if alarm is None:
            self.notify("No alarm selected.", severity="warning")
            return
        guid = alarm.guid

        async def change() -> None:
            try:
                answer = await call(guid)
            except DriverRejected as exc:
                self.notify(f"{what} {guid}: {exc.body.error}", severity="error")
                return
            self.notify(done(answer))

        self.mutate(f"{what} {guid}", change)
        self.load_first()

    def action_resolve(self) -> None:
        """Resolve the alarm's ticket now (a Manual RESOLVE)."""
        self._act(
            "Resolve", self.client.resolve_alarm, lambda a: f"Resolve queued as log #{a.accepted[0].id}"
        )

    def action_retry(self) -> None:
        """Accept the alarm's Failed rows again as new rows."""
        self._act("Retry", self.client.retry_alarm, lambda a: f"{len(a.accepted)} row(s) queued again")

    def action_unlink(self) -> None:
        """After a yes: the alarm's next CREATE makes a new ticket."""
        alarm = self.query_one(AlarmsTable).current
        if alarm is None or not alarm.ticket_key:
            self.notify("This alarm has no ticket to unlink.", severity="warning")
            return
        question = f"Unlink {alarm.guid} from {alarm.ticket_key}? Its next CREATE makes a new ticket."

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("Unlink", self.client.unlink_alarm, lambda a: f"Unlinked from {a.ticket_key}")

        self.app.push_screen(ConfirmModal(question, yes="Unlink"), answered)

    @work(group="endpoints", exclusive=True)
    async def action_call_endpoint(self) -> None:
        """Pick an endpoint and its variables, then a Manual CALL for the alarm (docs/endpoints.md)."""
        alarm = self.query_one(AlarmsTable).current
        if alarm is None:
            return
        try:
            listed = await self.client.endpoints()
        except DriverRejected as exc:
            self.notify(f"Endpoints: {exc.body.error}", severity="error")
            return
        if not listed.endpoints:
            self.notify("No endpoint is configured (an [endpoint.NAME] section).", severity="warning")
            return
        guid = alarm.guid

        def chosen(choice: EndpointChoice | None) -> None:
            if choice is None:
                return

            async def change() -> None:
                try:
                    answer = await self.client.call_endpoint(choice.name, guid, choice.variables)
                except DriverRejected as exc:
                    self.notify(f"Call {choice.name} {guid}: {exc.body.error}", severity="error")
                    return
                self.notify(f"CALL {choice.name} queued as log #{answer.accepted[0].id}")

            self.mutate(f"Call {choice.name} {guid}", change)

        self.app.push_screen(CallEndpointModal(guid, listed.endpoints), chosen)

    def _url(self) -> str | None:
        alarm = self.query_one(AlarmsTable).current
        if alarm is None or not alarm.ticket_url:
            self.notify("This alarm has no ticket URL.", severity="warning")
            return None
        return alarm.ticket_url

    def action_open_ticket(self) -> None:
        url = self._url()
        if url is None:
            return
        if browser_available():
            self.app.open_url(url)
        else:
            self.action_copy_ticket()

    def action_copy_ticket(self) -> None:
        url = self._url()
        if url is not None:
            self.app.copy_to_clipboard(url)
            self.notify(f"Copied {url}")

    def action_search(self) -> None:
        self.query_one("#alarms-text", Input).focus()
