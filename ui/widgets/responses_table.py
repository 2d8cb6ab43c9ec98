"""The Responses table (every answer heard from Jira) that asks for older pages as the operator scrolls."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import JustifyMethod
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from driver.contract.responses import ResponseEntry
from ui.widgets.paged_table import PagedTable

COLUMNS = ("#", "Time", "Kind", "Method", "Path", "Status", "ms", "Row", "Retry-After")
FIXED_WIDTHS = {"#": 7, "Kind": 10, "Method": 6, "Status": 6, "ms": 6, "Row": 7, "Retry-After": 11}
"""Cell widths (characters, padding excluded) of the columns whose width does not follow the table's."""
TIME_NARROW = 8
TIME_WIDE = 19
WIDE_AT = 130
"""From this many characters of table width on, the Time column shows the date too."""
PATH_MIN = 20
PATH_MAX = 120


def status_style(status: int | None) -> str:
    """The colour of a status: 2xx green, 4xx yellow, 429 magenta, 5xx and no answer red."""
    if status is None or status >= 500:
        return "bold red"
    if status == 429:
        return "bold magenta"
    if status >= 400:
        return "bold yellow"
    if 200 <= status < 300:
        return "green"
    return ""


def status_label(status: int | None) -> str:
    """The status code, or "none" when no answer came."""
    return "none" if status is None else str(status)


def status_text(status: int | None) -> Text:
    """The status label in its colour."""
    return Text(status_label(status), style=status_style(status))


def _cut(value: str, *, justify: JustifyMethod = "left", style: str = "") -> Text:
    # A fixed-width column would wrap longer text onto lines the row has no room for.
    return Text(value, style=style, no_wrap=True, overflow="ellipsis", justify=justify)


def _cells(entry: ResponseEntry, wide: bool) -> tuple[Text, ...]:
    when = entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S" if wide else "%H:%M:%S")
    return (
        _cut(str(entry.id), justify="right"),
        _cut(when),
        _cut(entry.kind),
        _cut(entry.method),
        _cut(entry.path),
        _cut(status_label(entry.status), style=status_style(entry.status)),
        _cut(f"{entry.duration_ms:.0f}", justify="right"),
        _cut("" if entry.log_id is None else str(entry.log_id), justify="right"),
        _cut(entry.retry_after or ""),
    )


@dataclass(frozen=True)
class ColumnLayout:
    """How the columns share the table's width: the date shown or not, the Path column's width."""

    wide: bool
    path: int


def layout_for(width: int, cell_padding: int) -> ColumnLayout:
    """The layout for a table `width` characters wide (scroll bar excluded)."""
    wide = width >= WIDE_AT
    fixed = sum(FIXED_WIDTHS.values()) + (TIME_WIDE if wide else TIME_NARROW)
    padding = 2 * cell_padding * len(COLUMNS)
    return ColumnLayout(wide, max(PATH_MIN, min(PATH_MAX, width - fixed - padding)))


class ResponsesTable(PagedTable):
    """Newest first; holds only the pages loaded so far, keyed by response id.

    Every column but Path has a fixed width; Path takes what the table's width leaves (at least
    PATH_MIN, so at 80 columns the last columns scroll off rather than the path shrinking to nothing).
    """

    DEFAULT_CSS = """
    ResponsesTable { height: 1fr; }
    """

    @dataclass
    class EntryHighlighted(Message):
        """The cursor rests on a response."""

        table: ResponsesTable
        entry: ResponseEntry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: dict[int, ResponseEntry] = {}
        self.column_layout = ColumnLayout(wide=False, path=PATH_MIN)

    def on_mount(self) -> None:
        if not self.columns:  # a resize before the mount has laid them out already
            self._add_columns()

    def _add_columns(self) -> None:
        for label in COLUMNS:
            if label == "Path":
                width = self.column_layout.path
            elif label == "Time":
                width = TIME_WIDE if self.column_layout.wide else TIME_NARROW
            else:
                width = FIXED_WIDTHS[label]
            self.add_column(label, key=label, width=width)

    def on_resize(self, event: events.Resize) -> None:
        # Room for the vertical scroll bar is kept whether it shows or not, so rows arriving do
        # not change the layout.
        width = self.content_region.width - self.styles.scrollbar_size_vertical
        layout = layout_for(width, self.cell_padding)
        if layout != self.column_layout:
            self.column_layout = layout
            self._rebuild()

    def _rebuild(self) -> None:
        """Lay the columns out again and refill the rows, the cursor kept on its response."""
        current = self.current
        entries = list(self.entries.values())
        self._filling = True
        try:
            self.clear(columns=True)
            self._add_columns()
            self.entries = {}
            self.append(entries)
            if current is not None:
                self.move_cursor(row=self.get_row_index(str(current.id)), animate=False)
        finally:
            self._filling = False

    @property
    def current(self) -> ResponseEntry | None:
        """The response under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.entries.get(int(key.value)) if key.value is not None else None

    def replace(self, entries: list[ResponseEntry]) -> None:
        """Show exactly these rows (a new filter or a first load)."""
        self.clear()
        self.entries = {}
        self.append(entries)

    def append(self, entries: list[ResponseEntry]) -> None:
        """Add an older page below the loaded rows."""
        # Adding rows moves the cursor bookkeeping; that is not the operator nearing the end.
        filling, self._filling = self._filling, True
        try:
            for entry in entries:
                if entry.id in self.entries:
                    continue
                self.entries[entry.id] = entry
                self.add_row(*_cells(entry, self.column_layout.wide), key=str(entry.id))
        finally:
            self._filling = filling

    def merge_newest(self, entries: list[ResponseEntry]) -> bool:
        """Fold a fresh first page in: new responses on top. True if any arrived.

        Responses are never changed once heard, so rows already shown stay as they are.
        """
        newest = max(self.entries) if self.entries else 0
        fresh = [entry for entry in entries if entry.id > newest]
        if not fresh:
            return False
        current = self.current
        self.append(fresh)
        self.sort("#", key=lambda cell: int(str(cell)), reverse=True)
        if current is not None and self.cursor_row > 0:
            # Keep the operator's row under the cursor while new rows arrive above it.
            self.move_cursor(row=self.get_row_index(str(current.id)), animate=False)
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key: RowKey = event.row_key
        entry = self.entries.get(int(key.value)) if key.value is not None else None
        if entry is not None:
            self.post_message(self.EntryHighlighted(self, entry))
