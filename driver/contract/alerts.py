"""The answer of POST /api/alertmanager and /api/grafana: the commands an alert notification
committed, and how many of its alerts changed nothing (a notification sent again). Pure pydantic."""

from __future__ import annotations

from driver.contract.schemas import AcceptedCommand, Body


class AlertsAccepted(Body):
    accepted: list[AcceptedCommand]
    """The commands committed (CREATE, UPDATE, RESOLVE), one per alert (or group) that changed."""
    unchanged: int = 0
    """Alerts (or groups) that made no command: sent again unchanged, already resolved, or never
    seen firing."""
