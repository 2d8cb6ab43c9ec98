"""The answer to a control, shown on the lines under it."""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class Feedback(Static):
    """Takes no line until there is an answer; then shows it whole, wrapped, and in view.

    At 80x24 the Configuration page's columns stack and the page scrolls: an answer drawn below
    the last visible line was never seen, and a refused save looked like nothing had happened.
    """

    def say(self, content: VisualType) -> None:
        """Show this answer in place of the last one and scroll the page to it."""
        self.update(content)
        self.add_class("-shown")
        # After the refresh, when the page has laid out the answer's lines: all of them come in.
        self.call_after_refresh(self.scroll_visible, animate=False)
