"""Alert notifications in: Alertmanager's or Grafana's payload becomes Advanced command lines
(driver.model.alert_intake) that go through the one intake path, committed with the notices that
make a repeated notification a no-op.

Everything between reading the notices and committing runs without yielding to the event loop,
so two copies of one notification (Alertmanager peers) are taken one after the other: the second
finds the first's notices and makes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from driver.app.alert_templates import AlertTemplates
from driver.app.driver import Driver
from driver.app.intake import IntakeError, Line, check_lines
from driver.model.alert_intake import Notification, Sender, guid_of, plan
from driver.model.jobs import Job


class AlertRefused(ValueError):
    """An alert (or group) whose command the intake refuses: its place in the notification
    (`alerts.5 (fingerprint '...')`) and why; nothing of the notification is queued."""


@dataclass(frozen=True)
class AlertsTaken:
    """What one notification made: the committed jobs, and how many alerts changed nothing."""

    jobs: list[Job]
    unchanged: int


def take_alerts(
    driver: Driver, sender: Sender, notification: Notification, templates: AlertTemplates
) -> AlertsTaken:
    """Commit the commands a notification makes (all or nothing). Raises TemplateFailed or
    AlertRefused (bad input: nothing queued), sqlite3 errors (the database: nothing queued)."""
    settings = templates.settings
    if settings.ticket_per == "group":
        guids = [guid_of(sender, notification, None)]
    else:
        guids = [guid_of(sender, notification, a) for a in notification.alerts]
    known = driver.store.notices(guids)
    commands = plan(sender, notification, settings, templates.render, known)
    units = len(set(guids))
    if not commands:
        return AlertsTaken([], units)
    try:
        entries = check_lines([Line(n, c.line) for n, c in enumerate(commands, start=1)], driver.setup)
    except IntakeError as exc:
        # its line and position are in a command the sender never wrote: the alert's place instead
        guid = commands[exc.line - 1].notice.guid
        raise AlertRefused(
            f"{_place(sender, notification, settings.ticket_per, guid)}: {exc.reason}"
        ) from None
    jobs = driver.accept(entries, notices=[c.notice for c in commands])
    return AlertsTaken(jobs, units - len(commands))


def _place(sender: Sender, notification: Notification, per: Literal["alert", "group"], guid: str) -> str:
    """Where in the notification the command of `guid` came from, in the sender's own terms."""
    if per == "group":
        return f"the group {notification.groupKey or notification.receiver!r}"
    for index, alert in enumerate(notification.alerts):
        if guid_of(sender, notification, alert) == guid:
            return (
                f"alerts.{index} (fingerprint {alert.fingerprint!r})"
                if alert.fingerprint
                else f"alerts.{index}"
            )
    return f"the alert of GUID {guid!r}"
