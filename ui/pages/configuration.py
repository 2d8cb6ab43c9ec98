"""The Configuration page: update and log settings, Jira location and credentials, Advanced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from driver.contract.schemas import (
    AuthUpdate,
    CommandProblem,
    DriverStatus,
    JiraSettings,
    JiraSettingsUpdate,
    LogSettings,
    Settings,
    UpdateSettings,
)
from ui.client import DriverApi, DriverRejected
from ui.modals.auth import MODE_LABELS, AuthModal
from ui.mutations import MutationQueue
from ui.pages.base import DriverPage
from ui.widgets.feedback import Feedback
from ui.widgets.text_box import TextBox

SCOPES = [("per ticket", "ticket"), ("across all tickets", "global")]


def caret_under(problem: CommandProblem) -> Text:
    """The bad command with a caret under the 1-based position, and the reason."""
    pad = " " * max(0, problem.position - 1)
    return Text.assemble(
        ("✖ ", "bold red"),
        (f"line {problem.line}, position {problem.position}: {problem.reason}\n", "bold"),
        f"  {problem.command}\n",
        (f"  {pad}^", "bold red"),
    )


API_NAMES = {"cloud": "Cloud", "datacenter": "Data Center"}


def jira_line(jira: JiraSettings, status: DriverStatus | None) -> str:
    """Where Jira is and its API: as configured and, when that is auto, what the driver detected."""
    api: str = jira.api_type
    if api == "auto" and status is not None:
        found = API_NAMES.get(status.api_type)
        api += f", detected {found}" if found else ", not detected yet"
    return f"Jira at {jira.url} (API: {api})"


def auth_summary(jira: JiraSettings) -> str:
    """Who the driver signs in as, never the secret itself."""
    who = f" as {jira.username}" if jira.username else ""
    secret = "a secret is stored" if jira.has_secret else "no secret stored"
    return f"{MODE_LABELS.get(jira.auth_mode, jira.auth_mode)}{who}; {secret}"


FIELDS = {
    "max_updates": ("Max updates", "#max-updates"),
    "interval_seconds": ("Interval", "#interval"),
    "max_entries": ("Maximum entries", "#max-entries"),
    "remove_older_than_days": ("Remove older than", "#remove-older"),
    "ticket_location": ("Ticket Location URL", "#ticket-location"),
}
"""The settings typed in a text box: the label the form gives each, and its box."""
UPDATE_FIELDS = ("max_updates", "interval_seconds")
LOG_FIELDS = ("max_entries", "remove_older_than_days")
LOCATION_FIELDS = ("ticket_location",)


def form_values(settings: Settings) -> dict[str, str]:
    """The text each box shows for these settings, by the field of FIELDS."""
    return {
        "max_updates": str(settings.update.max_updates),
        "interval_seconds": f"{settings.update.interval_seconds:g}",
        "max_entries": str(settings.log.max_entries),
        "remove_older_than_days": str(settings.log.remove_older_than_days),
        "ticket_location": settings.jira.ticket_location,
    }


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The field of the first problem, and the problem in the form's words."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    label = FIELDS[field][0] if field in FIELDS else field.replace("_", " ").capitalize()
    return field, f"{label}: {error['msg']}"


class ConfigurationPage(DriverPage):
    """Settings on the left, Jira on the right, as on the connector's page."""

    FOCUS = "#max-updates"

    def __init__(self, client: DriverApi, mutations: MutationQueue, *, id: str | None = None) -> None:
        super().__init__(client, mutations, id=id)
        self.settings: Settings | None = None
        self.status: DriverStatus | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="config-left"):
                yield Label("Update Settings", classes="section-title")
                with Horizontal(classes="field"):
                    yield Label("Max updates (0 = no limit)")
                    yield TextBox(id="max-updates", type="integer")
                with Horizontal(classes="field"):
                    yield Label("Interval (seconds)")
                    yield TextBox(id="interval", type="number")
                with Horizontal(classes="field"):
                    yield Label("Scope")
                    yield Select(SCOPES, allow_blank=False, value="ticket", id="scope")
                yield Button("Save update settings", id="save-update")
                yield Feedback(id="update-result")
                yield Label("Log Settings", classes="section-title")
                with Horizontal(classes="field"):
                    yield Label("Maximum entries (0 = all)")
                    yield TextBox(id="max-entries", type="integer")
                with Horizontal(classes="field"):
                    yield Label("Remove older than (days)")
                    yield TextBox(id="remove-older", type="integer")
                yield Button("Save log settings", id="save-log")
                yield Feedback(id="log-result")
            with Vertical(id="config-right"):
                yield Label("Jira", classes="section-title")
                yield Static("", id="jira-url")
                with Horizontal(classes="field"):
                    yield Label("Ticket Location URL")
                    yield TextBox(id="ticket-location", placeholder="rest/api/latest/issue")
                    yield Button("Save", id="save-location")
                yield Feedback(id="location-result")
                yield Static("", id="auth-summary")
                with Horizontal(classes="buttons"):
                    yield Button("Authentication…", id="auth")
                    yield Button("Test connection", id="check")
                yield Feedback(id="auth-result")
                yield Feedback(id="check-result")
                yield Label("Advanced", classes="section-title")
                with Horizontal(classes="field"):
                    yield TextBox(id="advanced", placeholder="ALARM-1|CREATE|summary;Disk full|")
                    yield Button("Send", id="send-advanced", variant="warning")
                yield Feedback(id="advanced-result")

    def refresh_data(self) -> None:
        self.load()

    def shown(self, status: DriverStatus | None) -> None:
        self.status = status
        super().shown(status)

    def status_changed(self, status: DriverStatus) -> None:
        self.status = status
        if self.settings is not None:
            self.show_jira(self.settings.jira)

    # --- driver calls ---------------------------------------------------------------------------

    @work(exclusive=True, group="config-read", exit_on_error=False)
    async def load(self) -> None:
        """Fetch the settings into the form (a newer load supersedes this one)."""
        token = self.read_started()
        settings = await self.client.settings()
        if self.read_current(token):
            self.show_settings(settings)

    def save_update(self, body: UpdateSettings) -> None:
        """Queue storing the update settings."""
        self._save(
            "Save the update settings",
            lambda: self.client.put_update_settings(body),
            "Update settings saved.",
            "#update-result",
            UPDATE_FIELDS,
        )

    def save_log(self, body: LogSettings) -> None:
        """Queue storing the log settings."""
        self._save(
            "Save the log settings",
            lambda: self.client.put_log_settings(body),
            "Log settings saved.",
            "#log-result",
            LOG_FIELDS,
        )

    def save_location(self, body: JiraSettingsUpdate) -> None:
        """Queue storing the Ticket Location URL."""
        self._save(
            "Save the Ticket Location URL",
            lambda: self.client.put_jira_settings(body),
            "Ticket Location URL saved.",
            "#location-result",
            LOCATION_FIELDS,
        )

    def save_auth(self, body: AuthUpdate) -> None:
        """Queue storing the credentials (the secret goes one way)."""
        self._save(
            "Save the authentication",
            lambda: self.client.put_auth(body),
            "Authentication saved.",
            "#auth-result",
        )

    def _save(
        self,
        what: str,
        call: Callable[[], Awaitable[Settings]],
        done: str,
        answer: str,
        fields: Sequence[str] = (),
    ) -> None:
        """Queue a save of `fields`; its answer goes under the control that asked (`answer`)."""

        async def change() -> None:
            try:
                settings = await call()
            except DriverRejected as exc:
                self._refused(answer, exc.body.error, fields)
                return
            self.show_settings(settings)
            self.query_one(answer, Feedback).say(Text(f"✔ {done}", style="green"))

        self.mutate(what, change)

    def run_check(self) -> None:
        """Queue asking the driver to reach Jira with the credentials stored by then."""
        out = self.query_one("#check-result", Feedback)
        out.say("Testing the connection to Jira…")

        async def change() -> None:
            answer = await self.client.check()
            text = Text(("✔ " if answer.ok else "✖ ") + answer.message, style="green" if answer.ok else "red")
            for finding in answer.findings:
                # one line each, as `jira-driver check` prints them: the class, then what to do
                label = "warning" if finding.kind == "expiry" else finding.kind
                text.append(
                    f"\n  {label}: {finding.message}", style="yellow" if finding.kind == "expiry" else "red"
                )
            out.say(text)

        # Not a change, but it must test what an authentication save queued before it stored.
        self.mutate("Test connection", change, changes_view=False)

    def send_advanced(self, command: str) -> None:
        """Queue sending one Advanced command; show the parse error under its position."""
        out = self.query_one("#advanced-result", Feedback)

        async def change() -> None:
            try:
                accepted = await self.client.send_commands([command])
            except DriverRejected as exc:
                details = exc.body.details
                out.say(caret_under(details) if isinstance(details, CommandProblem) else exc.body.error)
                return
            done = ", ".join(f"#{a.id} {a.guid} {a.action}" for a in accepted.accepted)
            out.say(Text(f"✔ Accepted {done} (see the Log page)", style="green"))

        self.mutate("Send the Advanced command", change, changes_view=False)

    # --- showing --------------------------------------------------------------------------------

    def show_settings(self, settings: Settings) -> None:
        """Fill the form from the driver's settings."""
        self.settings = settings
        for field, text in form_values(settings).items():
            box = self.query_one(FIELDS[field][1], Input)
            box.value = text
            box.remove_class("-refused")
        self.query_one("#scope", Select).value = settings.update.scope
        jira = settings.jira
        self.show_jira(jira)
        self.query_one("#auth-summary", Static).update(f"Authentication: {auth_summary(jira)}")

    def show_jira(self, jira: JiraSettings) -> None:
        """The Jira line, from the settings and the driver's latest status (its detected API)."""
        line = self.query_one("#jira-url", Static)
        text = jira_line(jira, self.status)
        if str(line.render()) != text:  # statuses come every half second, mostly the same
            line.update(text)

    # --- operator actions -----------------------------------------------------------------------

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def _refused(self, answer: str, reason: str, fields: Sequence[str], at: str = "") -> None:
        """Say why a save was refused and mark the boxes it sent whose text the driver does not hold.

        The refused text stays in its box for the operator to correct (put the saved value back
        and the typo is lost, with the other values typed beside it), but marked, so it is not
        taken for what is saved; the answer names the value the driver keeps for `at`, the field
        at fault. Editing a box clears its mark (`_edited`).
        """
        text = Text(f"✖ {reason}", style="bold red")
        if self.settings is not None:
            saved = form_values(self.settings)
            if at in saved:
                text.append(f" (not saved: the driver keeps {saved[at] or 'none'})", style="red")
            for field in fields:
                box = self.query_one(FIELDS[field][1], Input)
                box.set_class(box.value.strip() != saved[field], "-refused")
        self.query_one(answer, Feedback).say(text)

    def _invalid(self, exc: ValidationError, answer: str, fields: Sequence[str]) -> None:
        field, reason = _first_error(exc)
        self._refused(answer, reason, fields, at=field)

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.input.remove_class("-refused")

    @on(Button.Pressed, "#save-update")
    def _save_update(self) -> None:
        try:
            body = UpdateSettings.model_validate(
                {
                    "max_updates": self._value("#max-updates") or None,
                    "interval_seconds": self._value("#interval") or None,
                    "scope": self.query_one("#scope", Select).value,
                }
            )
        except ValidationError as exc:
            self._invalid(exc, "#update-result", UPDATE_FIELDS)
            return
        self.save_update(body)

    @on(Button.Pressed, "#save-log")
    def _save_log(self) -> None:
        try:
            body = LogSettings.model_validate(
                {
                    "max_entries": self._value("#max-entries") or None,
                    "remove_older_than_days": self._value("#remove-older") or None,
                }
            )
        except ValidationError as exc:
            self._invalid(exc, "#log-result", LOG_FIELDS)
            return
        self.save_log(body)

    @on(Input.Submitted, "#ticket-location")
    @on(Button.Pressed, "#save-location")
    def _save_location(self) -> None:
        try:
            body = JiraSettingsUpdate(ticket_location=self._value("#ticket-location"))
        except ValidationError as exc:
            self._invalid(exc, "#location-result", LOCATION_FIELDS)
            return
        self.save_location(body)

    @on(Button.Pressed, "#auth")
    def open_auth(self) -> None:
        """Open the Authentication dialog."""
        if self.settings is None:
            return

        def store(update: AuthUpdate | None) -> None:
            if update is not None:
                self.save_auth(update)

        self.app.push_screen(AuthModal(self.settings.jira), store)

    @on(Button.Pressed, "#check")
    def _check(self) -> None:
        self.run_check()

    @on(Input.Submitted, "#advanced")
    @on(Button.Pressed, "#send-advanced")
    def _send(self) -> None:
        command = self.query_one("#advanced", Input).value
        if command.strip():
            self.send_advanced(command)
