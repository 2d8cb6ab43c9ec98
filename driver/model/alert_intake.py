"""Alert notifications in (Alertmanager's webhook, Grafana's webhook contact point) as Advanced
commands: which GUID, which action, which fields, and whether anything changed since the last
notification of the same alert (docs/wire-facts.md §14 has both payloads and their retry rules).

Pure: the caller gives the payload, the settings, the templates' renderer and what was last
recorded of each GUID; it gets command lines for the one intake path and the notices to record
with them, in the same transaction. A notification sent again unchanged (a retry, or every peer
of an Alertmanager cluster) yields nothing.

Rules: `firing` CREATEs the first time (or after its resolve), UPDATEs when its labels,
annotations or (per group) its alerts changed, and sends nothing when nothing did; `resolved`
RESOLVEs an alert last seen firing (the resolve hold and reopen window then apply as for any
alarm) and sends nothing for one never seen or already resolved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from driver.contract.schemas import MAX_GUID_LENGTH
from driver.model.commands import escape

Sender = Literal["alertmanager", "grafana"]
State = Literal["firing", "resolved"]
MAX_ALERTS = 10_000
"""Alerts one notification may carry (Alertmanager truncates its own at max_alerts)."""


class Alert(BaseModel):
    """One alert of a notification (Alertmanager's fields; Grafana adds its own, kept as extras)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict, max_length=1000)
    annotations: dict[str, str] = Field(default_factory=dict, max_length=1000)
    startsAt: datetime | None = None  # noqa: N815 (the payload's own names)
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = Field(default="", max_length=10_000)  # noqa: N815
    fingerprint: str = Field(default="", max_length=200)


class Notification(BaseModel):
    """Alertmanager's webhook payload (version 4) or Grafana's (version 1, the same and more)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    version: str = "4"
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=1000)
    groupKey: str = Field(default="", max_length=10_000)  # noqa: N815
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = Field(default="", max_length=10_000)  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)


@dataclass(frozen=True)
class Notice:
    """What the driver last did for one alert's GUID: its state and the content's digest."""

    guid: str
    state: State
    digest: str


@dataclass(frozen=True)
class AlertCommand:
    """One command line for intake, and the notice to record with it."""

    line: str
    notice: Notice
    template: str = ""


@dataclass(frozen=True)
class AlertSettings:
    """[alertmanager] / [grafana]: one ticket per alert or per group, and how fields are made."""

    ticket_per: Literal["alert", "group"] = "alert"
    severity_label: str = "severity"
    priorities: Mapping[str, str] = dataclass_field(default_factory=dict)
    """Severity label value (lower case) -> Jira priority name."""
    fields: tuple[str, ...] = ("summary", "description")
    """The fields templates make, in command order (their templates are the renderer's)."""


Render = Callable[[str, Mapping[str, Any]], str]
"""Renders the named field's template with a context; raises TemplateFailed."""


class TemplateFailed(ValueError):
    """A template that does not render for these values: the template's name and why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"template {name!r} does not render: {reason}")
        self.name = name
        self.reason = reason


def guid_of(sender: Sender, notification: Notification, alert: Alert | None) -> str:
    """The GUID: the alert's fingerprint, or (one ticket per group) a digest of the group key."""
    if alert is not None:
        key = alert.fingerprint or _digest(sorted(alert.labels.items()))[:16]
        return f"{sender}/{key}"[:MAX_GUID_LENGTH]
    return f"{sender}-group/{_digest(notification.groupKey or notification.receiver)[:24]}"


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def plan(
    sender: Sender,
    notification: Notification,
    settings: AlertSettings,
    render: Render,
    known: Mapping[str, Notice],
) -> list[AlertCommand]:
    """The commands this notification makes, given what was last recorded of each GUID.

    Raises TemplateFailed for a template these values do not render (nothing is made)."""
    base = _base_context(notification)  # once: each alert's context shares it (n alerts, not n^2)
    if settings.ticket_per == "group":
        units: list[tuple[str, State, Any, dict[str, Any]]] = [
            (
                guid_of(sender, notification, None),
                notification.status,
                [(a.fingerprint, a.status, a.labels, a.annotations) for a in notification.alerts],
                _context(base, notification, None),
            )
        ]
    else:
        units = [
            (
                guid_of(sender, notification, alert),
                alert.status,
                (alert.labels, alert.annotations),
                _context(base, notification, alert),
            )
            for alert in notification.alerts
        ]
    commands: list[AlertCommand] = []
    seen: set[str] = set()
    for guid, state, content, context in units:
        if guid in seen:
            continue  # the same alert twice in one notification: its first word stands
        seen.add(guid)
        notice = Notice(guid, state, _digest(content))
        before = known.get(guid)
        if (
            before is not None
            and before.state == state
            and (state == "resolved" or before.digest == notice.digest)
        ):
            continue  # sent again unchanged, or already resolved
        if state == "resolved":
            if before is None:
                continue  # never seen firing: nothing to resolve
            commands.append(AlertCommand(f"{escape(guid)}|RESOLVE|", notice))
            continue
        action = "UPDATE" if before is not None and before.state == "firing" else "CREATE"
        pairs = [(name, render(name, context)) for name in settings.fields]
        severity = context["labels"].get(settings.severity_label, "")
        priority = settings.priorities.get(severity.lower()) if severity else None
        if priority:
            pairs.append(("priority", priority))
        body = "".join(f"{escape(field)};{escape(value)}|" for field, value in pairs if value.strip())
        commands.append(AlertCommand(f"{escape(guid)}|{action}|{body}", notice))
    return commands


def _base_context(notification: Notification) -> dict[str, Any]:
    """What every template of a notification sees: its own fields and every alert."""
    alerts = [a.model_dump(mode="json") for a in notification.alerts]
    return {
        "receiver": notification.receiver,
        "status": notification.status,
        "group_labels": notification.groupLabels,
        "common_labels": notification.commonLabels,
        "common_annotations": notification.commonAnnotations,
        "external_url": notification.externalURL,
        "alerts": alerts,
        "firing": [a for a in alerts if a["status"] == "firing"],
        "extra": notification.model_extra or {},
    }


def _context(base: dict[str, Any], notification: Notification, alert: Alert | None) -> dict[str, Any]:
    """What templates see: the alert's labels, annotations and links (or, per group, the group's
    common labels and every alert), and the notification's own fields (`base`)."""
    if alert is None:
        return base | {"labels": notification.commonLabels, "annotations": notification.commonAnnotations}
    return base | {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generatorURL,
        "fingerprint": alert.fingerprint,
        "starts_at": alert.startsAt.isoformat() if alert.startsAt else "",
        "alert": alert.model_dump(mode="json"),
    }


DEFAULT_TEMPLATES: Mapping[str, str] = {
    "summary": "{{ labels.get('alertname', 'Alert') }}"
    "{% if labels.get('instance') %} on {{ labels.instance }}{% endif %}",
    "description": "{% for name, text in annotations | dictsort %}{{ name }}: {{ text }}\n{% endfor %}"
    "{% if alert is defined %}Labels: {% for k, v in labels | dictsort %}{{ k }}={{ v }} {% endfor %}\n"
    "{% if generator_url %}Source: {{ generator_url }}\n{% endif %}"
    "{% else %}{{ firing | length }} firing:\n{% for a in alerts %}- [{{ a.status }}] "
    "{{ a.labels.get('alertname', '') }} {{ a.labels.get('instance', '') }}\n{% endfor %}{% endif %}",
}
"""Templates that need no configuration: the alert's name and instance in the summary; its
annotations, labels and a link to its source in the description (per group: the alerts listed)."""
