"""Alert notifications in: Alertmanager's or Grafana's payload becomes Advanced command lines
(driver.model.alert_intake) that go through the one intake path, committed with the notices that
make a repeated notification a no-op.

Between reading the notices and committing, nothing else of the alert intake runs (the driver's
alert_lock; a big notification is planned on a worker thread meanwhile), so two copies of one
notification (Alertmanager peers) are taken one after the other: the second finds the first's
notices and makes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from driver.app.alert_templates import AlertTemplates
from driver.app.driver import Driver
from driver.app.intake import IntakeError, Line, check_lines
from driver.model.alert_intake import AlertCommand, Notice, Notification, Sender, guid_of, plan
from driver.model.jobs import Job, NewEntry


class AlertRefused(ValueError):
    """An alert (or group) whose command the intake refuses: its place in the notification
    (`alerts.5 (fingerprint '...')`) and why; nothing of the notification is queued."""


@dataclass(frozen=True)
class AlertsTaken:
    """What one notification made: the committed jobs, and how many alerts changed nothing."""

    jobs: list[Job]
    unchanged: int


THREAD_ALERTS = 1000
"""Notifications of more alerts than this are planned (templates rendered, lines checked) on a
worker thread, so the driver goes on answering and sending meanwhile (10,000 alerts, the bound,
take about two seconds on 2 cores: tests/bench/bench_alerts.py)."""


async def take_alerts(
    driver: Driver, sender: Sender, notification: Notification, templates: AlertTemplates
) -> AlertsTaken:
    """Commit the commands a notification makes (all or nothing), a big one planned on a worker
    thread. One notification at a time (driver.alert_lock, held from reading the notices to
    committing), so two copies of one are still taken one after the other and the second makes
    nothing. Raises TemplateFailed or AlertRefused (bad input: nothing queued), sqlite3 errors
    (the database: nothing queued)."""
    async with driver.alert_lock:
        guids, known = _known(driver, sender, notification, templates)
        if len(notification.alerts) > THREAD_ALERTS:
            planned = await asyncio.to_thread(_commands, driver, sender, notification, templates, known)
        else:
            planned = _commands(driver, sender, notification, templates, known)
        return _accept(driver, guids, planned)


def _known(
    driver: Driver, sender: Sender, notification: Notification, templates: AlertTemplates
) -> tuple[list[str], dict[str, Notice]]:
    """The GUIDs the notification speaks of, and what was last recorded of each (the store)."""
    if templates.settings.ticket_per == "group":
        guids = [guid_of(sender, notification, None)]
    else:
        guids = [guid_of(sender, notification, a) for a in notification.alerts]
    return guids, driver.store.notices(guids)


def _commands(
    driver: Driver,
    sender: Sender,
    notification: Notification,
    templates: AlertTemplates,
    known: Mapping[str, Notice],
) -> tuple[list[AlertCommand], list[NewEntry]]:
    """The commands and their checked entries (pure: safe on a worker thread)."""
    settings = templates.settings
    commands = plan(sender, notification, settings, templates.render, known)
    try:
        entries = check_lines([Line(n, c.line) for n, c in enumerate(commands, start=1)], driver.setup)
    except IntakeError as exc:
        # its line and position are in a command the sender never wrote: the alert's place instead
        guid = commands[exc.line - 1].notice.guid
        raise AlertRefused(
            f"{_place(sender, notification, settings.ticket_per, guid)}: {exc.reason}"
        ) from None
    return commands, entries


def _accept(
    driver: Driver, guids: list[str], planned: tuple[list[AlertCommand], list[NewEntry]]
) -> AlertsTaken:
    commands, entries = planned
    units = len(set(guids))
    if not commands:
        return AlertsTaken([], units)
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
