"""Jira's issues found by Get Eligible Ticket, one row each, loaded page by page."""

from __future__ import annotations

from rich.text import Text

from driver.contract.eligible import EligibleIssue
from ui.widgets.paged_table import PagedTable

COLUMNS = ("Key", "Status", "Assignee", "Updated", "Summary")
CATEGORY_STYLE = {"new": "bold blue", "indeterminate": "bold yellow", "done": "green"}


class IssuesTable(PagedTable):
    """The issues loaded so far, keyed by Jira key, in Jira's order (newest update first)."""

    NEAR_END = 10

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
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
