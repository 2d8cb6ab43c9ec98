"""The answer to one delivery of Jira's admin webhook (POST /api/jira/webhook; driver.sync.service
hears it). Pure pydantic."""

from __future__ import annotations

from typing import Literal

from driver.contract.schemas import Body


class WebhookAnswer(Body):
    """The answer to one Jira webhook delivery (POST /api/jira/webhook)."""

    result: Literal["applied", "unchanged", "duplicate", "ignored"]
    """applied: the ticket's record changed; unchanged: the driver's ticket, nothing new;
    duplicate: a retry of a delivery already handled; ignored: not the driver's issue, or an
    event sync does not use."""
    key: str = ""
    """The issue key the delivery is about ('' when it names none)."""
    reason: str = ""
