"""A table of rows loaded a page at a time (the log, the Responses and Alarms tables, the issues
Get Eligible Ticket found): it asks for the next page when the operator comes near the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


def cell_width(cell: object) -> int:
    """Terminal cells the widest line of a table cell takes (Text or str)."""
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return max((line.cell_len for line in text.split(allow_blank=True)), default=0)


class PagedTable(DataTable[Text | str]):
    """Posts NearEnd when the cursor or the view comes within NEAR_END rows of the last loaded row;
    never while rows are being added (`_filling`), which moves the cursor's bookkeeping too.

    A row added or a cell changed widens its columns in the same call. Left to DataTable, new rows
    are measured on its next idle, and a line painted before that idle stayed at the old widths
    (textual#3533: a first page drawn `alar  2026  OPS-10` until the cursor moved); a changed cell
    was not measured at all (a Failed row's error cut to the width of "Error").
    """

    NEAR_END: ClassVar[int] = 20

    @dataclass
    class NearEnd(Message):
        """The operator is close to the last loaded row: time to load the next page."""

        table: PagedTable

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._filling = False

    def add_row(
        self,
        *cells: Text | str,
        height: int | None = 1,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        for column, cell in zip(self.ordered_columns, cells, strict=False):
            column.content_width = max(column.content_width, cell_width(cell))
        return row_key

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text | str,
        *,
        update_width: bool = False,
    ) -> None:
        """DataTable's update_cell, its column always measured (`update_width` is ignored)."""
        super().update_cell(row_key, column_key, value, update_width=True)
        column = self.columns[column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)]
        column.content_width = max(column.content_width, cell_width(value))

    def _near_end(self, row: int) -> bool:
        return not self._filling and self.row_count > 0 and row >= self.row_count - self.NEAR_END

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self._near_end(self.cursor_row):
            self.post_message(self.NearEnd(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._near_end(int(new_value) + self.size.height):
            self.post_message(self.NearEnd(self))
