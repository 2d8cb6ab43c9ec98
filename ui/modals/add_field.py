"""The Add Field dialog: a known field from a Select, or a custom field id with its type."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from driver.contract.schemas import AddField, FieldInfo
from ui.widgets.text_box import TextBox

_CUSTOM_ID = re.compile(r"^customfield_\d+$")
MODES = [("Included", "Included"), ("Excluded", "Excluded")]


class AddFieldModal(ModalScreen[AddField | None]):
    """Returns the field to add, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, catalog: list[FieldInfo], field_types: list[str], present: set[str]) -> None:
        super().__init__()
        # Fields already in the table are left out: adding one twice is never what was meant.
        self.catalog = [f for f in catalog if f.id not in present]
        self.field_types = field_types

    def compose(self) -> ComposeResult:
        system = sorted((f for f in self.catalog if not f.custom), key=lambda f: f.name.lower())
        custom = sorted((f for f in self.catalog if f.custom), key=lambda f: f.name.lower())
        options = [(f"{f.name}  ({f.id}, {f.type})", f.id) for f in system + custom]
        with Vertical(id="add-field-dialog"):
            yield Label("Add Field", classes="dialog-title")
            yield Label("A known field:")
            yield Select(options, prompt="choose a field", id="fixed-field")
            yield Label("… or a custom field (id, name and type):")
            with Horizontal(classes="row"):
                yield TextBox(placeholder="customfield_10100", id="custom-id")
                yield TextBox(placeholder="name", id="custom-name")
                yield Select(
                    [(t, t) for t in self.field_types], prompt="type", id="custom-type", allow_blank=True
                )
            with Horizontal(classes="row"):
                yield TextBox(placeholder="value", id="field-value")
                yield Select(MODES, value="Included", allow_blank=False, id="field-mode")
            yield Label("", id="add-field-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Add", id="add-field-ok", variant="primary")
                yield Button("Cancel", id="add-field-cancel")

    def _error(self, text: str) -> None:
        self.query_one("#add-field-error", Label).update(text)

    @on(Button.Pressed, "#add-field-ok")
    @on(Input.Submitted)
    def _add(self) -> None:
        custom_id = self.query_one("#custom-id", Input).value.strip()
        fixed = self.query_one("#fixed-field", Select).value
        value = self.query_one("#field-value", Input).value
        mode_value = self.query_one("#field-mode", Select).value
        mode = "Excluded" if mode_value == "Excluded" else "Included"
        if custom_id:
            if not _CUSTOM_ID.match(custom_id):
                self._error("A custom field id looks like customfield_10100.")
                return
            field_type = self.query_one("#custom-type", Select).value
            known = any(f.id == custom_id for f in self.catalog)
            if not isinstance(field_type, str) and not known:
                self._error("Choose the type of the custom field.")
                return
            self.dismiss(
                AddField(
                    id=custom_id,
                    name=self.query_one("#custom-name", Input).value.strip(),
                    type=field_type if isinstance(field_type, str) else "",
                    value=value,
                    mode=mode,
                )
            )
        elif isinstance(fixed, str):
            self.dismiss(AddField(id=fixed, value=value, mode=mode))
        else:
            self._error("Choose a field, or type a custom field id.")

    @on(Button.Pressed, "#add-field-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
