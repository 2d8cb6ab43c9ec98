"""Alert notifications in: Alertmanager's or Grafana's payload becomes Advanced command lines
(driver.model.alert_intake) that go through the one intake path, committed with the notices that
make a repeated notification a no-op.

Everything between reading the notices and committing runs without yielding to the event loop,
so two copies of one notification (Alertmanager peers) are taken one after the other: the second
finds the first's notices and makes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from driver.app.alert_templates import AlertTemplates
from driver.app.driver import Driver
from driver.app.intake import Line, check_lines
from driver.model.alert_intake import Notification, Sender, guid_of, plan
from driver.model.jobs import Job


@dataclass(frozen=True)
class AlertsTaken:
    """What one notification made: the committed jobs, and how many alerts changed nothing."""

    jobs: list[Job]
    unchanged: int


def take_alerts(
    driver: Driver, sender: Sender, notification: Notification, templates: AlertTemplates
) -> AlertsTaken:
    """Commit the commands a notification makes (all or nothing). Raises TemplateFailed or
    IntakeError (bad input: nothing queued), sqlite3 errors (the database: nothing queued)."""
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
    entries = check_lines([Line(n, c.line) for n, c in enumerate(commands, start=1)], driver.setup)
    jobs = driver.accept(entries, notices=[c.notice for c in commands])
    return AlertsTaken(jobs, units - len(commands))
