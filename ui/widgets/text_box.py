"""Text inputs whose own editing keys keep their place among the characters typed around them.

Textual's Input and TextArea insert a typed character in their own key handler, but run their
bound keys (backspace, the arrows, ctrl+u, ...) only once the key's event has bubbled back to the
app: keys that arrive together (a paste, a fast typist, an SSH link that batches keystrokes) were
applied out of order ("abc", backspace, "d" gave "abc"; Textual issue #6605, open). These run the
widget's own bindings in its key handler, where the characters go, in the order they came.
"""

from __future__ import annotations

from textual import events
from textual.actions import parse
from textual.widget import Widget
from textual.widgets import Input, TextArea


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run, now, the binding `widget` itself has for the key, and stop the event; whether it had
    one. Priority bindings are left alone: the app ran those before the widget saw the key."""
    for key in event.aliases:
        for binding in widget._bindings.key_to_bindings.get(key, []):
            _, action, parameters = parse(binding.action)
            if binding.priority or not widget.check_action(action, parameters):
                continue
            event.stop()
            event.prevent_default()  # the base class's key handler does not run after this one
            await widget.run_action(binding.action)
            return True
    return False


class TextBox(Input):
    """Input, its editing keys in order with typing."""

    async def _on_key(self, event: events.Key) -> None:
        if await run_own_binding(self, event):
            self._restart_blink()
        # else Input's own handler runs next (Textual calls each class's handler in turn)


class TextEditor(TextArea):
    """TextArea, its editing keys in order with typing."""

    async def _on_key(self, event: events.Key) -> None:
        if self.read_only:
            return
        if await run_own_binding(self, event):
            self._restart_blink()
