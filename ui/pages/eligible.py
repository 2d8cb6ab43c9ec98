"""The Get Eligible Ticket page: search Jira's issues (through the driver) for a ticket a person
opened, and attach one to an alarm: the alarm's later commands update it (POST /api/alarms/link)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Static

from driver.contract.eligible import EligibleQuery
from ui.client import DriverApi, DriverRejected
from ui.modals.prompt import PromptModal
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.issues_table import IssuesTable
from ui.widgets.text_box import TextBox

PAGE_SIZE = 50


class EligiblePage(DriverPage):
    """Filters on top (project, open only, text, your own JQL), the JQL sent, the issues found."""

    BINDINGS = [
        Binding("a", "attach", "Attach to alarm"),
        Binding("y", "copy_ticket", "Copy URL"),
    ]

    FOCUS = "#eligible-project"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.next_cursor: str | None = None
        self._query: EligibleQuery | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="eligible-filters"):
            yield TextBox(placeholder="project", id="eligible-project")
            yield TextBox(placeholder="text in the ticket", id="eligible-text")
            yield Checkbox("open only", value=True, id="eligible-open")
            yield Button("Search", id="eligible-search", variant="primary")
        yield TextBox(placeholder="your own JQL (optional), e.g. priority = High", id="eligible-jql")
        yield Static("Search Jira for a ticket to attach an alarm to.", id="eligible-sent")
        yield IssuesTable(id="eligible-table")

    def refresh_data(self) -> None:
        """Nothing to load until the operator searches (a search is a request to Jira)."""

    def _filters(self) -> EligibleQuery:
        def value(selector: str) -> str | None:
            return self.query_one(selector, Input).value.strip() or None

        return EligibleQuery(
            project=value("#eligible-project"),
            text=value("#eligible-text"),
            jql=value("#eligible-jql"),
            open=self.query_one("#eligible-open", Checkbox).value,
            limit=PAGE_SIZE,
        )

    @on(Button.Pressed, "#eligible-search")
    @on(Input.Submitted)
    def _search_now(self) -> None:
        self.search()

    @work(exclusive=True, group="eligible", exit_on_error=False)
    async def search(self) -> None:
        """The first page of the search the filters make."""
        query = self._filters()
        self._query = query
        sent = self.query_one("#eligible-sent", Static)
        sent.update("Searching…")
        try:
            page = await self.client.eligible(query)
        except DriverRejected as exc:
            sent.update(Text(f"✖ {exc.body.error}", style="bold red"))
            self.query_one(IssuesTable).show([])
            return
        self.query_one(IssuesTable).show(page.issues)
        self.next_cursor = page.next_cursor
        found = f"{len(page.issues)}{'+' if page.next_cursor else ''} found"
        sent.update(Text.assemble((f"{found}: ", "bold"), (page.jql, "dim")))

    @work(exclusive=True, group="eligible-more", exit_on_error=False)
    async def load_more(self) -> None:
        """The next page of the same search."""
        cursor, query = self.next_cursor, self._query
        if cursor is None or query is None:
            return
        self.next_cursor = None  # asked once
        page = await self.client.eligible(query.model_copy(update={"cursor": cursor}))
        if query is self._query:
            self.query_one(IssuesTable).show(page.issues, more=True)
            self.next_cursor = page.next_cursor

    @on(IssuesTable.NearEnd)
    def _near_end(self) -> None:
        self.load_more()

    def action_attach(self) -> None:
        """Ask for the alarm's GUID, then link the issue under the cursor to it."""
        issue = self.query_one(IssuesTable).current
        if issue is None:
            self.notify("Search, then choose a ticket.", severity="warning")
            return
        key = issue.key

        def chosen(guid: str | None) -> None:
            if not guid or not guid.strip():
                return

            async def change() -> None:
                try:
                    linked = await self.client.link_alarm(guid.strip(), key)
                except DriverRejected as exc:
                    self.notify(f"Attach {key}: {exc.body.error}", severity="error")
                    return
                self.notify(f"{linked.guid} now updates {linked.ticket_key}")

            self.mutate(f"Attach {key} to {guid.strip()}", change, changes_view=False)

        self.app.push_screen(
            PromptModal(f"Attach {key} to the alarm with GUID:", placeholder="e.g. 12/345/6789"), chosen
        )

    def action_copy_ticket(self) -> None:
        issue = self.query_one(IssuesTable).current
        if issue is not None:
            self.app.copy_to_clipboard(issue.url)
            self.notify(f"Copied {issue.url}")
