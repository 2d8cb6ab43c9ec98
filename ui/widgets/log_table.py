"""The create/update log as a table that asks for older pages as the operator scrolls."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from driver.contract.schemas import LogEntry, LogStatus
from ui.widgets.paged_table import PagedTable

STATUS_STYLE: dict[LogStatus, str] = {
    LogStatus.PENDING: "bold yellow",
    LogStatus.DEFERRED: "bold magenta",
    LogStatus.OK: "bold green",
    LogStatus.FAILED: "bold red",
    LogStatus.CANCELLED: "dim",
}

COLUMNS = ("#", "Type", "Action", "GUID", "Time", "Status", "Ticket", "Error")


def status_text(status: LogStatus) -> Text:
    """The status word in its colour."""
    return Text(status.value, style=STATUS_STYLE[status])


def _cells(entry: LogEntry) -> tuple[Text | str, ...]:
    error = entry.error.splitlines()[0] if entry.error else ""
    return (
        Text(str(entry.id), justify="right"),
        entry.type.value,
        entry.action,
        entry.guid,
        entry.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        status_text(entry.status),
        entry.ticket_key or "",
        error,
    )


class LogTable(PagedTable):
    """Newest first; holds only the pages loaded so far, keyed by log id."""

    DEFAULT_CSS = """
    LogTable { height: 1fr; }
    """

    @dataclass
    class EntryHighlighted(Message):
        """The cursor rests on a log row."""

        table: LogTable
        entry: LogEntry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: dict[int, LogEntry] = {}

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    @property
    def oldest_id(self) -> int | None:
        """The smallest id loaded, or None when empty."""
        return min(self.entries) if self.entries else None

    @property
    def current(self) -> LogEntry | None:
        """The entry under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.entries.get(int(key.value)) if key.value is not None else None

    def replace(self, entries: list[LogEntry]) -> None:
        """Show exactly these rows (a new filter or a first load)."""
        self.clear()
        self.entries = {}
        self.append(entries)

    def append(self, entries: list[LogEntry]) -> None:
        """Add an older page below the loaded rows."""
        # Adding rows moves the cursor bookkeeping; that is not the operator nearing the end.
        self._filling = True
        try:
            for entry in entries:
                if entry.id in self.entries:
                    continue
                self.entries[entry.id] = entry
                self.add_row(*_cells(entry), key=str(entry.id))
        finally:
            self._filling = False

    def merge_newest(self, entries: list[LogEntry]) -> bool:
        """Fold a fresh first page in: update changed rows, put new ones on top. True if anything moved."""
        changed = False
        fresh: list[LogEntry] = []
        newest = max(self.entries) if self.entries else 0
        for entry in entries:
            old = self.entries.get(entry.id)
            if old is None:
                if entry.id > newest:
                    fresh.append(entry)
                continue
            if old != entry:
                changed = True
                self.entries[entry.id] = entry
                for column, cell in zip(COLUMNS, _cells(entry), strict=True):
                    self.update_cell(str(entry.id), column, cell)
        if fresh:
            changed = True
            current = self.current
            self.append(fresh)
            self.sort("#", key=lambda cell: int(str(cell)), reverse=True)
            if current is not None and self.cursor_row > 0:
                # Keep the operator's row under the cursor while new rows arrive above it.
                self.move_cursor(row=self.get_row_index(str(current.id)), animate=False)
        return changed

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key: RowKey = event.row_key
        entry = self.entries.get(int(key.value)) if key.value is not None else None
        if entry is not None:
            self.post_message(self.EntryHighlighted(self, entry))
