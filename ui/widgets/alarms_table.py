"""The Alarms table: one row per GUID, newest activity first, loaded page by page."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from driver.contract.alarms import AlarmEntry
from ui.widgets.paged_table import PagedTable

STATE_STYLE = {"active": "bold red", "resolve_hold": "bold yellow", "cleared": "green", "unknown": "dim"}
COLUMNS = ("GUID", "State", "Ticket", "Jira status", "Last", "When", "Sent", "Wait", "Failed", "Summary")


def state_text(state: str) -> Text:
    """The alarm's state in its colour."""
    return Text(state, style=STATE_STYLE.get(state, ""))


def _cells(alarm: AlarmEntry) -> tuple[Text | str, ...]:
    failed = Text(str(alarm.failed_rows), style="bold red") if alarm.failed_rows else Text("0", style="dim")
    return (
        alarm.guid,
        state_text(alarm.state),
        alarm.ticket_key or "",
        alarm.jira_status or "",
        alarm.last_action,
        alarm.last_at.astimezone().strftime("%m-%d %H:%M:%S"),
        Text(str(alarm.updates_sent), justify="right"),
        Text(str(alarm.updates_waiting), justify="right"),
        failed,
        alarm.summary or "",
    )


class AlarmsTable(PagedTable):
    """Holds only the pages loaded so far, keyed by GUID; the cursor stays on its GUID across reloads."""

    @dataclass
    class AlarmHighlighted(Message):
        """The cursor rests on an alarm."""

        table: AlarmsTable
        alarm: AlarmEntry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.alarms: dict[str, AlarmEntry] = {}

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    @property
    def current(self) -> AlarmEntry | None:
        """The alarm under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.alarms.get(str(key.value)) if key.value is not None else None

    def show(self, alarms: list[AlarmEntry]) -> None:
        """Show exactly these alarms (a new filter, or the newest page again), the cursor kept on its GUID."""
        current = self.current
        self._filling = True
        try:
            self.clear()
            self.alarms = {}
            self.append(alarms)
            if current is not None and current.guid in self.alarms:
                self.move_cursor(row=self.get_row_index(current.guid), animate=False)
        finally:
            self._filling = False

    def append(self, alarms: list[AlarmEntry]) -> None:
        """Add the next page below the loaded rows."""
        filling, self._filling = self._filling, True
        try:
            for alarm in alarms:
                if alarm.guid in self.alarms:
                    continue
                self.alarms[alarm.guid] = alarm
                self.add_row(*_cells(alarm), key=alarm.guid)
        finally:
            self._filling = filling

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        alarm = self.alarms.get(str(key)) if key is not None else None
        if alarm is not None:
            self.post_message(self.AlarmHighlighted(self, alarm))
