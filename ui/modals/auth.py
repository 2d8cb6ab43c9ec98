"""The Authentication dialog: mode, user and a secret typed masked, never shown back."""

from __future__ import annotations

from typing import get_args

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from driver.contract.schemas import AuthUpdate, JiraSettings, SettableAuthMode
from ui.widgets.text_box import TextBox

MODE_LABELS: dict[str, str] = {
    "basic": "Username and password / API token",
    "bearer": "Personal access token (Bearer)",
    "authorization_key": "Authorization Key (whole header value)",
    "none": "No authentication",
}


class AuthModal(ModalScreen[AuthUpdate | None]):
    """Returns the new credentials, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, jira: JiraSettings) -> None:
        super().__init__()
        self.jira = jira

    def compose(self) -> ComposeResult:
        modes: tuple[str, ...] = get_args(SettableAuthMode)
        oauth = self.jira.auth_mode not in modes
        with Vertical(id="auth-dialog"):
            yield Label("Authentication", classes="dialog-title")
            if oauth:
                # OAuth lives in the config file and its consent in `jira-driver auth login`
                yield Label(
                    f"Now: {self.jira.auth_mode}, from [jira] auth (docs/auth.md). Saving here replaces it.",
                    markup=False,  # "[jira]" is the INI section, not a style
                )
            yield Select(
                [(MODE_LABELS.get(m, m), m) for m in modes],
                value="basic" if oauth else self.jira.auth_mode,
                allow_blank=False,
                id="auth-mode",
            )
            yield TextBox(self.jira.username, placeholder="user (e-mail on Cloud)", id="auth-user")
            yield TextBox(placeholder="secret: password, token or key", password=True, id="auth-secret")
            stored = (
                "A secret is stored; leave the field empty to keep it."
                if self.jira.has_secret
                else "No secret is stored."
            )
            yield Label(stored, id="auth-stored")
            yield Label("", id="auth-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="auth-ok", variant="primary")
                yield Button("Cancel", id="auth-cancel")

    @on(Button.Pressed, "#auth-ok")
    @on(Input.Submitted)
    def _save(self) -> None:
        mode = self.query_one("#auth-mode", Select).value
        if mode not in get_args(SettableAuthMode):
            return
        user = self.query_one("#auth-user", Input).value.strip()
        secret = self.query_one("#auth-secret", Input).value
        if mode == "basic" and not user:
            self.query_one("#auth-error", Label).update("Basic authentication needs a user.")
            return
        self.dismiss(AuthUpdate.model_validate({"mode": mode, "username": user, "secret": secret}))

    @on(Button.Pressed, "#auth-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
