"""A bar chart of two daily series side by side (created against updated)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from driver.contract.schemas import DayCount

_EIGHTHS = " ▁▂▃▄▅▆▇█"
SLOT = 3
"""Columns per day: one bar for each series and a gap."""


def _bar_cell(value: int, top: int, row_from_bottom: int, height: int) -> str:
    eighths = round(value / top * height * 8) if top else 0
    if value and not eighths:
        eighths = 1  # a day with any activity must not look like a day with none
    level = max(0, min(8, eighths - row_from_bottom * 8))
    return _EIGHTHS[level]


class StatsChart(Widget):
    """Days oldest first; the owner sets `days`."""

    # Focusable so the Statistics page can start here: its only other controls are the Reset
    # buttons, and a page shown with one focused reset the counters on an Enter meant elsewhere.
    can_focus = True

    COMPONENT_CLASSES = {"stats-chart--created", "stats-chart--updated", "stats-chart--axis"}

    DEFAULT_CSS = """
    StatsChart { height: 14; }
    StatsChart > .stats-chart--created { color: $success; }
    StatsChart > .stats-chart--updated { color: $accent; }
    StatsChart > .stats-chart--axis { color: $text-muted; }
    """

    days: reactive[list[DayCount]] = reactive(list, always_update=True)

    def render(self) -> Text:
        created = self.get_component_rich_style("stats-chart--created")
        updated = self.get_component_rich_style("stats-chart--updated")
        axis = self.get_component_rich_style("stats-chart--axis")
        days = self.days
        text = Text(no_wrap=True, overflow="crop")
        top = max([max(d.created, d.updated) for d in days] + [0])
        text.append("■ created", created)
        text.append("  ")
        text.append("■ updated", updated)
        text.append(f"   last {len(days)} days, highest {top} a day\n", axis)
        height = max(1, self.size.height - 2)
        for row in range(height - 1, -1, -1):
            for day in days:
                text.append(_bar_cell(day.created, top, row, height), created)
                text.append(_bar_cell(day.updated, top, row, height), updated)
                text.append(" ")
            text.append("\n")
        text.append(self._labels(days), axis)
        return text

    @staticmethod
    def _labels(days: list[DayCount]) -> str:
        line = [" "] * (len(days) * SLOT + 5)
        for index in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
            label = days[index].day[5:]  # MM-DD
            start = min(index * SLOT, len(line) - len(label))
            line[start : start + len(label)] = label
        return "".join(line).rstrip()
