"""Keys that arrive together (a paste, a fast typist, an SSH link that batches keystrokes) are
applied in the order they came, editing keys included: Textual runs an Input's or TextArea's own
bindings only once the key has bubbled back to the app, after the characters behind it
(ui.widgets.text_box; Textual issue #6605)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, TextArea

from tests.ui.conftest import press_together, settle
from tests.ui.fake_driver import FakeDriver
from ui.app import JiraDriverApp
from ui.widgets.text_box import TextBox, TextEditor

TOGETHER = [
    (["a", "b", "c", "backspace", "d"], "abd"),
    (["a", "b", "c", "ctrl+u", "d", "e"], "de"),
    (["a", "b", "c", "left", "d"], "abdc"),
    (["x", "home", "y"], "yx"),
]


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield TextBox(id="box")
        yield TextEditor(id="editor")


@pytest.mark.parametrize(("keys", "typed"), TOGETHER)
async def test_editing_keys_sent_together_with_characters_keep_their_order(
    keys: list[str], typed: str
) -> None:
    app = Boxes()
    async with app.run_test() as pilot:
        for widget_id in ("box", "editor"):
            app.query_one(f"#{widget_id}").focus()
            await settle(pilot)
            press_together(pilot, *keys)
            await settle(pilot)
        assert app.query_one("#box", Input).value == typed
        assert app.query_one("#editor", TextArea).text == typed


async def test_the_log_search_box_takes_a_burst_as_typed() -> None:
    """The operator's page: a correction typed fast into the Log page's search box."""
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        box = app.screen.query_one("#filter-text", Input)
        box.focus()
        await settle(pilot)
        press_together(pilot, *"ALARM-4", "backspace", "5")
        await settle(pilot)
        assert box.value == "ALARM-5"


def test_every_text_box_of_the_ui_is_one_that_keeps_the_order() -> None:
    """A plain Input or TextArea added to a page would bring the disorder back."""
    import re
    from pathlib import Path

    plain = re.compile(r"(?<![\w.])(Input|TextArea)(\(|\.code_editor\()")
    root = Path(__file__).resolve().parents[2] / "ui"
    found = [
        f"{path.relative_to(root.parent)}:{n}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "text_box.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if plain.search(line)
    ]
    assert found == [], "use ui.widgets.text_box's TextBox / TextEditor:\n" + "\n".join(found)
