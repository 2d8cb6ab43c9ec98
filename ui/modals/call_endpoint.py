"""Call a custom API endpoint for one alarm: pick the endpoint, fill its variables (one input each)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from driver.contract.endpoints import EndpointInfo
from ui.widgets.text_box import TextBox


@dataclass(frozen=True)
class EndpointChoice:
    """What the person asked for: the endpoint and its variables' values."""

    name: str
    variables: dict[str, str]


class CallEndpointModal(ModalScreen[EndpointChoice | None]):
    """The endpoints configured, the chosen one's request, and an input per variable; Enter (or Call)
    calls it, Escape gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, guid: str, endpoints: list[EndpointInfo]) -> None:
        super().__init__()
        self.guid = guid
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}

    def compose(self) -> ComposeResult:
        first = next(iter(self.endpoints))
        with Vertical(id="call-dialog"):
            yield Label(f"Call an endpoint for {self.guid}", id="call-title")
            yield Select(
                [(name, name) for name in self.endpoints], value=first, allow_blank=False, id="call-endpoint"
            )
            yield Label("", id="call-request")
            yield VerticalScroll(id="call-variables")
            with Horizontal(id="call-buttons"):
                yield Button("Call", id="call-ok", variant="primary")
                yield Button("Cancel", id="call-cancel")

    async def on_mount(self) -> None:
        await self._show(next(iter(self.endpoints)))

    @on(Select.Changed, "#call-endpoint")
    async def _chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            await self._show(event.value)

    async def _show(self, name: str) -> None:
        endpoint = self.endpoints[name]
        flags = "" if endpoint.idempotent else "  (not idempotent: a lost answer fails it)"
        self.query_one("#call-request", Label).update(f"{endpoint.method} {endpoint.path}{flags}")
        box = self.query_one("#call-variables", VerticalScroll)
        await box.remove_children()
        for variable in endpoint.variables:
            await box.mount(TextBox(placeholder=variable, id=f"call-var-{variable}", classes="call-variable"))
        if not endpoint.variables:
            await box.mount(Label("(no variables)"))

    def _choice(self) -> EndpointChoice:
        name = str(self.query_one("#call-endpoint", Select).value)
        values = {
            variable: self.query_one(f"#call-var-{variable}", Input).value
            for variable in self.endpoints[name].variables
        }
        return EndpointChoice(name, values)

    @on(Input.Submitted)
    @on(Button.Pressed, "#call-ok")
    def _ok(self) -> None:
        self.dismiss(self._choice())

    @on(Button.Pressed, "#call-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
