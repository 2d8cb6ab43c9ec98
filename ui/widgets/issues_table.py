"""Jira's issues found by Get Eligible Ticket, one row each, loaded page by page."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from driver.contract.eligible import EligibleIssue

COLUMNS = ("Key", "Status", "Assignee", "Updated", "Summary")
CATEGORY_STYLE = {"new": "bold blue", "indeterminate": "bold yellow", "done": "green"}
NEAR_END = 10


class IssuesTable(DataTable[Text | str]):
    """The issues loaded so far, keyed by Jira key, in Jira's order (newest update first)."""

    @dataclass
    class NearEnd(Message):
        """The cursor is close to the last loaded issue: time for the next page."""

        table: IssuesTable

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.issues: dict[str, EligibleIssue] = {}

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    @property
    def current(self) -> EligibleIssue | None:
        """The issue under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.issues.get(str(key)) if key is not None else None

    def show(self, issues: list[EligibleIssue], *, more: bool = False) -> None:
        """Show these issues (a new search), or add them below (`more`: the next page)."""
        if not more:
            self.clear()
            self.issues = {}
        for issue in issues:
            if issue.key in self.issues:
                continue
            self.issues[issue.key] = issue
            self.add_row(
                issue.key,
                Text(issue.status, style=CATEGORY_STYLE.get(issue.status_category, "")),
                issue.assignee or "",
                (issue.updated or "")[:16].replace("T", " "),
                issue.summary,
                key=issue.key,
            )

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self.row_count and self.cursor_row >= self.row_count - NEAR_END:
            self.post_message(self.NearEnd(self))
