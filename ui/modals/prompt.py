"""A one-line text prompt in a modal dialog."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ui.widgets.text_box import TextBox


class PromptModal(ModalScreen[str | None]):
    """Ask for one value; Enter keeps it, Escape gives None."""

    DEFAULT_CSS = """
    PromptModal { align: center middle; }
    PromptModal > Vertical {
        width: 80; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    PromptModal Label { margin-bottom: 1; }
    PromptModal Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    PromptModal Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="prompt-title")
            yield TextBox(self.value, placeholder=self.placeholder, id="prompt-input")
            with Horizontal():
                yield Button("OK", id="prompt-ok", variant="primary")
                yield Button("Cancel", id="prompt-cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#prompt-ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#prompt-input", Input).value)

    @on(Button.Pressed, "#prompt-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
