"""A table of rows loaded a page at a time (the log, the Responses and Alarms tables, the issues
Get Eligible Ticket found): it asks for the next page when the operator comes near the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable


class PagedTable(DataTable[Text | str]):
    """Posts NearEnd when the cursor or the view comes within NEAR_END rows of the last loaded row;
    never while rows are being added (`_filling`), which moves the cursor's bookkeeping too."""

    NEAR_END: ClassVar[int] = 20

    @dataclass
    class NearEnd(Message):
        """The operator is close to the last loaded row: time to load the next page."""

        table: PagedTable

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._filling = False

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
