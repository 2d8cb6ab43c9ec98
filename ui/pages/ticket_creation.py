"""The Ticket Creation page: the table and the Create Query, kept in sync through the driver."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Label, Static, TextArea

from driver.contract.schemas import (
    AddField,
    CreationTableState,
    LogEntry,
    LogStatus,
    QueryProblem,
    TicketRowBody,
)
from ui.client import DriverApi, DriverRejected
from ui.messages import TicketExecuted
from ui.modals.add_field import AddFieldModal
from ui.modals.confirm import ConfirmModal
from ui.modals.prompt import PromptModal
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.text_box import TextEditor
from ui.widgets.ticket_table import TicketTable

QUERY_DEBOUNCE = 0.5
"""Seconds of quiet typing before the Create Query is sent to the driver."""
EXECUTE_WAIT = 10
"""Seconds Execute waits for Jira's answer before reporting the request as still pending."""


def query_editor() -> TextArea:
    """A JSON editor, highlighted when tree-sitter's JSON grammar is installed."""
    editor = TextEditor.code_editor(id="create-query", soft_wrap=True, tab_behavior="focus")
    if "json" in editor.available_languages:
        editor.language = "json"
    return editor


def describe_problem(exc: DriverRejected) -> str:
    """An inline error for a 400 on the Create Query: where, then why."""
    details = exc.body.details
    if isinstance(details, QueryProblem):
        where = []
        if details.line is not None:
            where.append(f"line {details.line}")
        if details.column is not None:
            where.append(f"column {details.column}")
        return f"{', '.join(where)}: {details.reason}" if where else details.reason
    return exc.body.error


def describe_execution(entry: LogEntry) -> Text:
    """What Execute did, in one or two lines."""
    if entry.status is LogStatus.OK:
        return Text.assemble(
            ("Created ", "bold"), (entry.ticket_key or "?", "bold green"), f"  {entry.ticket_url}"
        )
    if entry.status is LogStatus.FAILED:
        return Text.assemble(("Jira refused the ticket: ", "bold red"), entry.error)
    return Text(f"Request #{entry.id} is {entry.status.value}: Jira has not answered yet (see the Log page).")


NEEDED_BY_EVERY_CREATE = ("project", "issuetype")
"""Rows whose removal asks first: Jira refuses a create without them (`check` says so too)."""


class TicketCreationPage(DriverPage):
    """Edit the table or the JSON; each change goes to the driver, which returns both."""

    BINDINGS = [
        Binding("ctrl+n", "add_field", "Add field"),
        Binding("ctrl+g", "execute", "Execute"),
        Binding("ctrl+s", "apply_query", "Apply JSON"),
    ]

    FOCUS = "#ticket-table"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.state: CreationTableState | None = None
        self._shown_text = ""
        self._debounce: Timer | None = None
        self._query_pushes = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="ticket-left"):
                yield Label("Ticket Creation Table", classes="section-title")
                yield TicketTable(id="ticket-table")
                yield Static("", id="ticket-error", classes="error")
                with Horizontal(classes="buttons"):
                    yield Button("Add Field", id="add-field")
                    yield Button("Execute", id="execute", variant="warning")
                yield Static("", id="execute-result")
            with Vertical(id="ticket-right"):
                yield Label("Create Query", classes="section-title")
                yield query_editor()
                yield Static("", id="query-error", classes="error")

    def refresh_data(self) -> None:
        self.load()

    # --- driver calls ---------------------------------------------------------------------------

    @work(exclusive=True, group="ticket-read", exit_on_error=False)
    async def load(self) -> None:
        """Fetch the table and the query (a newer load supersedes this one)."""
        token = self.read_started()
        state = await self.client.ticket()
        if self.read_current(token):
            self.show_state(state, text=True)

    def edit_rows(self, what: str, field: str, edit: Callable[[TicketRowBody], TicketRowBody | None]) -> None:
        """Queue a change of one row, identified by its field id, as a delta.

        When its turn comes the rows are read from the driver, `edit` is applied to that field's
        row (None removes it) and the result is sent: whatever changed since the screen was drawn,
        by an earlier change of ours or by anyone else, is kept.
        """

        async def change() -> None:
            current = await self.client.ticket()
            rows = list(current.rows)
            index = next((i for i, row in enumerate(rows) if row.field == field), None)
            if index is None:
                self.show_state(current, text=True)
                self.query_one("#ticket-error", Static).update(f"{what}: {field} is no longer in the table.")
                return
            edited = edit(rows[index].model_copy())
            if edited is None:
                del rows[index]
            else:
                rows[index] = edited
            try:
                state = await self.client.put_rows(rows)
            except DriverRejected as exc:
                self.query_one("#ticket-error", Static).update(exc.body.error)
                return
            self.query_one("#ticket-error", Static).update("")
            self.show_state(state, text=True)

        self.mutate(what, change)

    def push_query(self, text: str) -> None:
        """Queue the edited JSON; on a 400 show where it is wrong and leave the table alone."""
        self._query_pushes += 1

        async def change() -> None:
            try:
                state = await self.client.put_query(text)
            except DriverRejected as exc:
                self.query_one("#query-error", Static).update(f"✖ {describe_problem(exc)}")
                return
            finally:
                self._query_pushes -= 1
            self.query_one("#query-error", Static).update("")
            self.show_state(state, text=False)

        self.mutate("Apply the Create Query", change)

    def push_field(self, body: AddField) -> None:
        """Queue adding a field to the table."""

        async def change() -> None:
            try:
                state = await self.client.add_field(body)
            except DriverRejected as exc:
                self.query_one("#ticket-error", Static).update(exc.body.error)
                return
            self.query_one("#ticket-error", Static).update("")
            self.show_state(state, text=True)

        self.mutate(f"Add field {body.id}", change)

    def run_execute(self) -> None:
        """Queue creating the ticket from the Create Query as every earlier change left it."""
        result = self.query_one("#execute-result", Static)
        result.update("Creating the ticket…")

        async def change() -> None:
            try:
                entry = await self.client.execute(wait_seconds=EXECUTE_WAIT)
            except DriverRejected as exc:
                result.update(Text.assemble(("Not sent: ", "bold red"), exc.body.error))
                return
            result.update(describe_execution(entry))
            self.post_message(TicketExecuted(entry))

        # Execute changes the log, not the table: a refresh of the page need not wait for Jira.
        self.mutate("Execute", change, changes_view=False)

    # --- showing --------------------------------------------------------------------------------

    def show_state(self, state: CreationTableState, *, text: bool) -> None:
        """Show the driver's table, and its query text unless the operator's JSON is on its way.

        text=False (the answer to the operator's own JSON) keeps the editor as typed; a queued
        JSON push also keeps it, so what the operator typed stays on screen until it is applied.
        """
        self.state = state
        self.query_one(TicketTable).show(state.rows)
        if text and not self._query_pushes:
            self._shown_text = state.query_text
            self.query_one("#create-query", TextArea).load_text(state.query_text)
            self.query_one("#query-error", Static).update("")

    # --- operator actions -----------------------------------------------------------------------

    @on(TextArea.Changed, "#create-query")
    def _query_edited(self, event: TextArea.Changed) -> None:
        if event.text_area.text == self._shown_text:
            return  # our own load_text, not the operator
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(QUERY_DEBOUNCE, self.action_apply_query)

    def action_apply_query(self) -> None:
        """Send the JSON now instead of waiting for the pause in typing."""
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        text = self.query_one("#create-query", TextArea).text
        if text != self._shown_text:
            self._shown_text = text
            self.push_query(text)

    def _shown_row(self, index: int) -> TicketRowBody | None:
        """The row the operator sees at `index` (what a key press on that line means)."""
        rows = self.state.rows if self.state else []
        return rows[index] if 0 <= index < len(rows) else None

    @on(TicketTable.ModeToggled)
    def _toggle_mode(self, event: TicketTable.ModeToggled) -> None:
        shown = self._shown_row(event.index)
        if shown is None:
            return

        def flip(row: TicketRowBody) -> TicketRowBody:
            # Flipped from the driver's mode when the change runs: two quick toggles cancel out.
            row.mode = "Excluded" if row.mode == "Included" else "Included"
            return row

        self.edit_rows(f"Toggle Mode of {shown.field}", shown.field, flip)

    @on(TicketTable.RowRemoved)
    def _remove_row(self, event: TicketTable.RowRemoved) -> None:
        shown = self._shown_row(event.index)
        if shown is None:
            return
        field = shown.field
        if field not in NEEDED_BY_EVERY_CREATE:
            self.edit_rows(f"Remove {field}", field, lambda row: None)
            return
        # one keypress took the project away and every CREATE after it was refused by Jira
        question = (
            f"Remove the {field} row? Jira refuses every create without a {field}: each CREATE"
            f" that does not name one will fail."
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.edit_rows(f"Remove {field}", field, lambda row: None)

        self.app.push_screen(ConfirmModal(question, yes="Remove"), answer)

    @on(TicketTable.RowChosen)
    def _edit_value(self, event: TicketTable.RowChosen) -> None:
        shown = self._shown_row(event.index)
        if shown is None:
            return

        def apply(value: str | None) -> None:
            if value is None or value == shown.value:
                return

            def set_value(row: TicketRowBody) -> TicketRowBody:
                row.value = value
                return row

            self.edit_rows(f"Edit the value of {shown.field}", shown.field, set_value)

        title = f"Value of {shown.name or shown.field} ({shown.field}, {shown.type})"
        self.app.push_screen(PromptModal(title, shown.value), apply)

    @on(Button.Pressed, "#add-field")
    def action_add_field(self) -> None:
        """Open the Add Field dialog."""
        if self.state is None:
            return
        present = {row.field for row in self.state.rows}
        modal = AddFieldModal(self.state.catalog, self.state.field_types, present)

        def add(body: AddField | None) -> None:
            if body is not None:
                self.push_field(body)

        self.app.push_screen(modal, add)

    @on(Button.Pressed, "#execute")
    def action_execute(self) -> None:
        """Ask, then create the ticket."""
        question = "Create a ticket in Jira from the Create Query as it stands?"

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_execute()

        self.app.push_screen(ConfirmModal(question, yes="Create ticket"), answer)
