"""The always-visible line of driver state: connection, Jira, queue, pause."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from driver.contract.schemas import DriverStatus, JiraState


def describe(status: DriverStatus | None, error: str, url: str) -> tuple[Text, str]:
    """The bar's text for a status (or a failure to get one) and its CSS state class."""
    if status is None:
        if not error:
            return Text(f"… connecting to the driver at {url}"), "-connecting"
        return (
            Text.assemble(("✖ disconnected", "bold"), f" from the driver at {url}: {error} — retrying"),
            "-disconnected",
        )
    # Queue first: Jira's message can be long, and the counts must never be cut off.
    parts: list[Text | str | tuple[str, str]] = [
        ("● connected", "bold"),
        f" │ queue {status.queue_depth} (pending {status.pending}, deferred {status.deferred})"
        f" │ failed today {status.failed_today} │ ",
    ]
    state = "-ok"
    if status.database == "unavailable":
        # The driver's own trouble comes first: nothing is recorded (or taken) until it passes.
        parts += [
            ("database unavailable", "bold"),
            f": {status.database_message.removeprefix('database unavailable: ')} │ ",
        ]
        state = "-jira-down"
    pair = status.pair
    standby = pair is not None and pair.role == "standby"
    if pair is not None and not standby:
        parts.append(f"leader {pair.node} (term {pair.term}) │ ")
    elif pair is not None:
        # a standby sends nothing by design: who does is what the operator needs
        parts += [("standby", "bold"), f": {pair.leader or 'no node'} leads │ "]
        if pair.lease_problem:
            parts += [("lease", "bold"), f": {pair.lease_problem} │ "]
            state = "-jira-down"
    if pair is not None and pair.nodes_problem:
        # a setup mistake, not a failure: one node still leads and sends each command once
        parts += [("⚠ nodes", "bold"), f": {pair.nodes_problem} │ "]
    if not status.engine_running and not standby:
        parts += [("sending stopped", "bold"), " (see the driver's log) │ "]
        state = "-jira-down"
    if status.jira_state is JiraState.PAUSED and status.paused_until is not None:
        until = status.paused_until.astimezone().strftime("%H:%M:%S")
        reason = f" ({status.pause_reason})" if status.pause_reason else ""
        parts.append((f"⏸ paused by Jira until {until}{reason}", "bold"))
        state = "-paused" if state == "-ok" else state
    elif status.jira_state is JiraState.AUTH_FAILED:
        parts += [("Jira auth failed", "bold"), f": {status.jira_message or 'check the credentials'}"]
        state = "-auth-failed" if state == "-ok" else state
    elif status.jira_state is JiraState.UNREACHABLE:
        parts += [("Jira unreachable", "bold"), f": {status.jira_message}" if status.jira_message else ""]
        state = "-jira-down"
    else:
        parts.append(f"Jira {status.jira_state.value}")
    if status.near_limit:
        parts.append(" │ near Jira's rate limit")
    if status.credential_warning:
        parts += [" │ ", ("⚠ " + status.credential_warning, "bold")]
    return Text.assemble(*parts), state


class StatusBar(Static):
    """Driver state at a glance; the app sets `status`, `error` and `url`."""

    status: reactive[DriverStatus | None] = reactive(None)
    error: reactive[str] = reactive("")
    url: reactive[str] = reactive("")

    _STATES = ("-connecting", "-disconnected", "-ok", "-paused", "-auth-failed", "-jira-down")

    def render(self) -> Text:
        text, state = describe(self.status, self.error, self.url)
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.remove_class(*self._STATES)
        self.add_class(state)
        return text
