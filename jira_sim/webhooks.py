"""Admin webhooks (docs/wire-facts.md §12): the registry, and deliveries signed, retried and journaled.

A delivery is one event for one webhook. Its body is built once; every attempt sends the same bytes
with the same `X-Atlassian-Webhook-Identifier`, and, when the webhook has a secret,
`X-Hub-Signature: sha256=<hex>` (HMAC-SHA256 of the raw body keyed on the secret). An attempt that gets
a 5xx, a 429 or no answer (refused, reset, timed out) is tried again after `RETRY_DELAYS` seconds of the
simulator's clock, at most `MAX_ATTEMPTS` times in all; a 2xx ends it as delivered, any other answer
as failed. Deliveries run as background tasks; a reset disowns them (they stop without recording).

Deliveries go only to loopback addresses: registering any other URL is refused (`WebhookRefused`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import itertools
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from jira_sim.clock import Clock, ManualClock
from jira_sim.data import jira_time, now
from jira_sim.settings import WEBHOOK_EVENTS, WebhookSpec

MAX_ATTEMPTS = 5
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)
"""Seconds (of the simulator's clock) before the 2nd, 3rd, 4th and 5th attempt."""
ATTEMPT_TIMEOUT = 5.0
"""Real seconds an attempt waits for the receiver's answer."""
DELIVERIES_KEPT = 10_000


class WebhookRefused(ValueError):
    """A registration the simulator will not accept; the message says why."""


def check_url(url: str) -> None:
    """Accept an http(s) URL whose host is loopback (127.0.0.0/8, ::1, localhost); else WebhookRefused."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise WebhookRefused(f"The webhook URL '{url}' is not valid.") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise WebhookRefused(f"The webhook URL '{url}' is not valid: expected http(s)://host[:port]/path.")
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise WebhookRefused(
            f"The webhook URL '{url}' is refused: the simulator delivers only to loopback addresses."
        )


def check_spec(spec: WebhookSpec) -> None:
    """URL on loopback and only events the simulator delivers; WebhookRefused otherwise."""
    check_url(spec.url)
    if not spec.events:
        raise WebhookRefused("A webhook needs at least one event.")
    unknown = [e for e in spec.events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise WebhookRefused(
            f"Unsupported webhook events: {', '.join(unknown)} (supported: {', '.join(WEBHOOK_EVENTS)})."
        )


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Webhook:
    """A registered webhook."""

    id: int
    spec: WebhookSpec
    registered: datetime
    by: str

    def to_json(self, base: str) -> dict[str, Any]:
        """As `/rest/webhooks/1.0/webhook` shows it; the secret is never shown, only whether there is one."""
        spec = self.spec
        return {
            "self": f"{base}/rest/webhooks/1.0/webhook/{self.id}",
            "name": spec.name,
            "url": spec.url,
            "events": list(spec.events),
            "filters": {"issue-related-events-section": spec.jql or ""},
            "excludeBody": False,
            "enabled": True,
            "hasSecret": spec.secret is not None,
            "lastUpdatedUser": self.by,
            "lastUpdatedDisplayName": self.by,
            "lastUpdated": int(self.registered.timestamp() * 1000),
        }


@dataclass
class Attempt:
    """One try: when, the receiver's status (None: no answer) and what went wrong."""

    time: datetime
    status: int | None
    error: str | None = None


@dataclass
class Delivery:
    """One event for one webhook, with every attempt so far."""

    seq: int
    identifier: str
    webhook_id: int
    url: str
    event: str
    issue_key: str
    body: bytes
    headers: dict[str, str]
    attempts: list[Attempt] = field(default_factory=list)
    state: Literal["pending", "delivered", "failed"] = "pending"

    def to_json(self) -> dict[str, Any]:
        """As `/_sim/webhooks/deliveries` shows it (the signature header included, never the secret)."""
        return {
            "seq": self.seq,
            "identifier": self.identifier,
            "webhook": self.webhook_id,
            "url": self.url,
            "event": self.event,
            "issue_key": self.issue_key,
            "state": self.state,
            "signature": self.headers.get("X-Hub-Signature"),
            "attempts": [
                {"time": jira_time(a.time), "status": a.status, "error": a.error} for a in self.attempts
            ],
            "body": json.loads(self.body),
        }


class Webhooks:
    """The registry and the deliveries; `reset` puts back the command line's webhooks and disowns tasks."""

    def __init__(self, clock: Clock, specs: tuple[WebhookSpec, ...]) -> None:
        self.clock = clock
        self._specs = specs
        self.generation = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._tick: asyncio.Event | None = None
        self.reset()

    def reset(self) -> None:
        """Forget registrations (except the command line's) and deliveries; running deliveries stop."""
        self.generation += 1
        self.registry: dict[int, Webhook] = {}
        self.deliveries: deque[Delivery] = deque(maxlen=DELIVERIES_KEPT)
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        for spec in self._specs:
            self.register(spec, "jira-sim")
        self.clock_moved()

    def register(self, spec: WebhookSpec, by: str) -> Webhook:
        """Add a webhook (WebhookRefused for a URL off loopback or an unknown event)."""
        check_spec(spec)
        webhook = Webhook(next(self._ids), spec, now(self.clock), by)
        self.registry[webhook.id] = webhook
        return webhook

    def remove(self, webhook_id: int) -> bool:
        """Unregister; False when there was no such webhook."""
        return self.registry.pop(webhook_id, None) is not None

    def subscribed(self, event: str) -> list[Webhook]:
        """The webhooks registered for an event, oldest first."""
        return [w for w in self.registry.values() if event in w.spec.events]

    def deliver(self, webhook: Webhook, event: str, issue_key: str, payload: dict[str, Any]) -> Delivery:
        """Journal a delivery of `payload` and start sending it in the background."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        }
        if webhook.spec.secret:
            headers["X-Hub-Signature"] = signature(webhook.spec.secret, body)
        delivery = Delivery(
            next(self._seq),
            headers["X-Atlassian-Webhook-Identifier"],
            webhook.id,
            webhook.spec.url,
            event,
            issue_key,
            body,
            headers,
        )
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._run(delivery, self.generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        """Deliveries after sequence number `seq`, oldest first."""
        return [d.to_json() for d in self.deliveries if d.seq > seq]

    def clock_moved(self) -> None:
        """Wake deliveries waiting for a retry on a manual clock (call after every advance and reset)."""
        if self._tick is not None:
            self._tick.set()
            self._tick = None

    async def _wait_until(self, due: float, generation: int) -> bool:
        """Wait until the clock's monotonic time reaches `due`; False when a reset came first."""
        while self.generation == generation:
            remaining = due - self.clock.monotonic()
            if remaining <= 0:
                return True
            if isinstance(self.clock, ManualClock):
                if self._tick is None:
                    self._tick = asyncio.Event()
                await self._tick.wait()
            else:
                await asyncio.sleep(remaining)
        return False

    async def _run(self, delivery: Delivery, generation: int) -> None:
        async with httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT, trust_env=False) as client:
            for number in range(1, MAX_ATTEMPTS + 1):
                if number > 1:
                    due = self.clock.monotonic() + RETRY_DELAYS[number - 2]
                    if not await self._wait_until(due, generation):
                        return
                headers = dict(delivery.headers)
                if number > 1:
                    headers["X-Atlassian-Webhook-Retry"] = str(number - 1)
                try:
                    answer = await client.post(delivery.url, content=delivery.body, headers=headers)
                    attempt = Attempt(now(self.clock), answer.status_code)
                except httpx.HTTPError as exc:
                    attempt = Attempt(now(self.clock), None, type(exc).__name__)
                if self.generation != generation:
                    return
                delivery.attempts.append(attempt)
                status = attempt.status
                if status is not None and 200 <= status < 300:
                    delivery.state = "delivered"
                    return
                if status is not None and status < 500 and status != 429:
                    delivery.state = "failed"
                    return
        if self.generation == generation:
            delivery.state = "failed"
