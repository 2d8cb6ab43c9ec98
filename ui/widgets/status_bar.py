"""The always-visible line of driver state: connection, Jira, queue, pause."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from driver.contract.schemas import DriverStatus, JiraState

SEPARATOR = " │ "


def _part(headline: str, detail: str = "") -> Text:
    return Text.assemble((headline, "bold"), detail)


def describe(status: DriverStatus | None, error: str, url: str, width: int | None = None) -> tuple[Text, str]:
    """The bar's text for a status (or a failure to get one) and its CSS state class.

    What needs the operator comes first, most urgent first: the database, stopped sending, the
    pair's lease, Jira (auth failed, unreachable, paused until), then warnings (the pair's nodes, a
    credential about to expire). The routine parts follow: queue, today's failures, the pair's
    leader, "Jira ok", the rate limit. When the line is wider than `width`, the counts shorten to
    "queue N │ failed N", then routine parts are dropped from the end; the bar's ellipsis cuts the
    rest. A problem is never pushed off the line by a count.
    """
    if status is None:
        if not error:
            return Text(f"… connecting to the driver at {url}"), "-connecting"
        return (
            Text.assemble(("✖ disconnected", "bold"), f" from the driver at {url}: {error} — retrying"),
            "-disconnected",
        )
    alerts: list[Text] = []
    state = "-ok"
    if status.database == "unavailable":
        # The driver's own trouble comes first: nothing is recorded (or taken) until it passes.
        reason = status.database_message.removeprefix("database unavailable: ")
        alerts.append(_part("database unavailable", f": {reason}"))
        state = "-jira-down"
    pair = status.pair
    standby = pair is not None and pair.role == "standby"
    if not status.engine_running and not standby:
        alerts.append(_part("sending stopped", " (see the driver's log)"))
        state = "-jira-down"
    if pair is not None and standby and pair.lease_problem:
        alerts.append(_part("lease", f": {pair.lease_problem}"))
        state = "-jira-down"
    jira_ok = False
    if status.jira_state is JiraState.PAUSED and status.paused_until is not None:
        until = status.paused_until.astimezone().strftime("%H:%M:%S")
        reason = f" ({status.pause_reason})" if status.pause_reason else ""
        alerts.append(_part(f"⏸ paused by Jira until {until}{reason}"))
        state = "-paused" if state == "-ok" else state
    elif status.jira_state is JiraState.AUTH_FAILED:
        alerts.append(_part("Jira auth failed", f": {status.jira_message or 'check the credentials'}"))
        state = "-auth-failed" if state == "-ok" else state
    elif status.jira_state is JiraState.UNREACHABLE:
        alerts.append(_part("Jira unreachable", f": {status.jira_message}" if status.jira_message else ""))
        state = "-jira-down"
    else:
        jira_ok = True
    if pair is not None and pair.nodes_problem:
        # a setup mistake, not a failure: one node still leads and sends each command once
        alerts.append(_part("⚠ nodes", f": {pair.nodes_problem}"))
    if status.credential_warning:
        alerts.append(_part("⚠ " + status.credential_warning))  # a warning: the state stays -ok

    def routine(short: bool) -> list[Text]:
        if short:
            parts = [Text(f"queue {status.queue_depth}"), Text(f"failed {status.failed_today}")]
        else:
            parts = [
                Text(f"queue {status.queue_depth} (pending {status.pending}, deferred {status.deferred})"),
                Text(f"failed today {status.failed_today}"),
            ]
        if pair is not None and not standby:
            parts.append(Text(f"leader {pair.node} (term {pair.term})"))
        elif pair is not None:
            # a standby sends nothing by design: who does is what the operator needs
            parts.append(_part("standby", f": {pair.leader or 'no node'} leads"))
        if jira_ok:
            parts.append(Text(f"Jira {status.jira_state.value}"))
        if status.near_limit:
            parts.append(Text("near Jira's rate limit"))
        return parts

    def line(parts: list[Text]) -> Text:
        return Text(SEPARATOR).join([_part("● connected"), *alerts, *parts])

    text = line(routine(short=False))
    if width is not None and text.cell_len > width:
        parts = routine(short=True)
        text = line(parts)
        while parts and text.cell_len > width:
            parts.pop()
            text = line(parts)
    return text, state


class StatusBar(Static):
    """Driver state at a glance; the app sets `status`, `error` and `url`."""

    status: reactive[DriverStatus | None] = reactive(None)
    error: reactive[str] = reactive("")
    url: reactive[str] = reactive("")

    _STATES = ("-connecting", "-disconnected", "-ok", "-paused", "-auth-failed", "-jira-down")

    def render(self) -> Text:
        width = self.content_size.width or None  # None until laid out: the whole line
        text, state = describe(self.status, self.error, self.url, width)
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.remove_class(*self._STATES)
        self.add_class(state)
        return text
