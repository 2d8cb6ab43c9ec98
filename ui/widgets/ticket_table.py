"""The Ticket Creation Table: field, name, type, value, mode; the page owns the rows."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from driver.contract.schemas import TicketRowBody

COLUMNS = ("Field", "Name", "Type", "Value", "Mode")


def _cut(text: str, width: int) -> str:
    # The whole value is in the Create Query and the edit dialog; the table keeps Mode in view.
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(body: TicketRowBody) -> list[Text]:
    mode = Text(body.mode, style="bold" if body.mode == "Included" else "dim italic")
    return [Text(body.field), Text(_cut(body.name, 14)), Text(body.type), Text(_cut(body.value, 16)), mode]


class TicketTable(DataTable[Text | str]):
    """Shows rows; keys only report what the operator asked for, the page applies it."""

    BINDINGS = [
        Binding("m,space", "toggle_mode", "Mode"),
        Binding("delete", "remove_row", "Remove row"),
    ]

    @dataclass
    class ModeToggled(Message):
        """The operator flipped the Mode of row `index`."""

        table: TicketTable
        index: int

    @dataclass
    class RowChosen(Message):
        """The operator pressed Enter on row `index` to edit its value."""

        table: TicketTable
        index: int

    @dataclass
    class RowRemoved(Message):
        """The operator asked to remove row `index`."""

        table: TicketTable
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.show([])

    def show(self, rows: list[TicketRowBody]) -> None:
        """Replace the shown rows, keeping the cursor on the same line.

        The columns are laid out again, each as wide as its widest cell, in the same call: left to
        DataTable, the widths are measured on its next idle, and a paint before that idle stays
        cached at the old widths (textual#3533), so a first load could keep 5-column cells.
        """
        row = self.cursor_row
        cells = [_cells(body) for body in rows]
        self.clear(columns=True)
        for index, label in enumerate(COLUMNS):
            width = max([len(label), *(line[index].cell_len for line in cells)])
            self.add_column(label, key=label, width=width)
        for line in cells:
            self.add_row(*line)
        if rows:
            self.move_cursor(row=min(row, len(rows) - 1), animate=False)

    def action_toggle_mode(self) -> None:
        if self.row_count:
            self.post_message(self.ModeToggled(self, self.cursor_row))

    def action_remove_row(self) -> None:
        if self.row_count:
            self.post_message(self.RowRemoved(self, self.cursor_row))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.RowChosen(self, event.cursor_row))
