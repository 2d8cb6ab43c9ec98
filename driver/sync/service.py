"""Hearing back from Jira (I/O): webhook deliveries and polls, through one handler, into the store.

`[sync] mode` says which way Jira's changes arrive (driver.sync.rules has the rules, pure):

    webhook   POST /api/jira/webhook (driver.api.webhook) hands the raw body and headers to
              `Sync.handle_webhook`: the signature is checked on the raw bytes, the body parsed,
              Jira's retries (the same X-Atlassian-Webhook-Identifier) answered `duplicate`.
    poll      driver.sync.polling.Poller searches every `poll_seconds`: the driver's tickets by id
              (or its projects' issues) updated since the last poll, oldest change first, with each
              hit's changelog and comments (who changed it). The cursor (the moment the next poll
              counts from) is a settings row, so a restart neither misses changes nor reads a week
              again.

Both end in `_handle`: find whose issue it is (a current ticket key or id, an earlier ticket of a
GUID, or a create in doubt recognised by its stamp), apply driver.sync.rules.apply_change, store it
(`store.record_jira_state`, in the same transaction as the delivery's identifier and the counters),
and then tell the engine (`Engine.ticket_changed`), so the GUID's next rows are planned with it.
Nothing awaits between reading the record and telling the engine, so no engine step interleaves.

Polling's requests (and the one GET myself that tells the driver's own account) obey the engine's
JiraHealth like every request: nothing is sent after a 401 until the credentials change, nor
during a 429 pause or an outage; a 401, 429 or outage met here is reported to it, and an answer
ends an outage (JiraHealth.observe: the engine's requests follow the same rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import ValidationError

from driver.clock import Clock, Timer
from driver.config import SyncSection
from driver.contract.schemas import SyncStatus
from driver.errors import (
    DriverError,
    JiraError,
)
from driver.jira.client import JiraClient
from driver.jira.health import JiraHealth
from driver.model.answers import JiraUser
from driver.model.jobs import DOUBTFUL, TicketRecord, TicketState
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.store import Store, Total
from driver.sync.incoming import MAX_WEBHOOK_BYTES, IncomingBody
from driver.sync.polling import IDENTITY_WAIT, Poller
from driver.sync.rules import (
    EVENT_CLOCK_SKEW,
    WEBHOOK_IDS_KEEP,
    Handled,
    HandledResult,
    JiraChange,
    WebhookBody,
    apply_change,
    changed,
    from_the_future,
    stamp_owner,
    webhook_change,
)
from driver.sync.webhook_reader import WebhookUnreadable, issue_named, read_webhook

log = logging.getLogger("driver.sync")
REFUSAL_LOG_EVERY = 60.0
"""Seconds between two log lines about refused webhook deliveries."""

COUNTERS: dict[HandledResult, Total] = {
    "applied": Total.WEBHOOK_APPLIED,
    "unchanged": Total.WEBHOOK_UNCHANGED,
    "duplicate": Total.WEBHOOK_DUPLICATE,
    "ignored": Total.WEBHOOK_IGNORED,
}
"""The running total a webhook delivery counts in, by result."""


class WebhookRefused(DriverError):
    """A delivery refused before anything was read into the store.

    kind: 'disabled' ([sync] mode takes no webhooks), 'signature' (X-Hub-Signature missing or
    wrong), 'malformed' (not JSON, or not a webhook body), 'too_large' (over MAX_WEBHOOK_BYTES).
    """

    def __init__(
        self, kind: Literal["disabled", "signature", "malformed", "too_large"], message: str
    ) -> None:
        self.kind = kind
        super().__init__(message)


class Sync:
    """What the driver hears back from Jira, by webhook and by polling (see the module docstring)."""

    def __init__(
        self,
        config: SyncSection,
        store: Store,
        jira: JiraClient,
        engine: Engine,
        *,
        health: JiraHealth,
        setup: RequestSetup,
        clock: Clock | None = None,
    ) -> None:
        self.mode = config.mode
        self.poll_seconds = config.poll_seconds
        self.poll_by_id_max = config.poll_by_id_max
        self._secret = config.webhook_secret
        self.store = store
        self.jira = jira
        self.engine = engine
        self.health = health
        """Jira's health, shared with the engine: polls obey it and feed it."""
        self.setup = setup
        """The request settings in force (the GUID field, the ticket location)."""
        self.clock: Clock = clock or engine.clock
        self.timer: Timer = engine.timer
        """Waits (retries, Jira's pauses) are on the engine's timer; the cursor is on the wall clock."""
        # Refused deliveries are counted in memory, not in the store: whoever can reach the
        # endpoint unsigned must not be able to make the driver write.
        self.refused = 0
        self.last_refused_at: datetime | None = None
        self.last_refused_reason = ""
        self._refusal_logged: datetime | None = None
        """Timer instants of the last log line of each kind (a wall clock set back must not mute them)."""
        self.future_events = 0
        self._future_logged: datetime | None = None
        self._me: JiraUser | None = None
        self._me_for: object = None
        self._asking: asyncio.Task[JiraUser | None] | None = None
        self._reading: set[asyncio.Task[int | None]] = set()
        """Reads of issues whose delivery was refused (too large, malformed), under way."""
        self._polling: asyncio.Task[None] | None = None
        self.poller = Poller(
            config,
            store,
            jira,
            engine,
            health=health,
            setup=setup,
            clock=self.clock,
            timer=self.timer,
            handle=self._handle,
            identity=self.identity,
        )

    @property
    def takes_webhooks(self) -> bool:
        """Mode webhook or both."""
        return self.mode in ("webhook", "both")

    @property
    def polls(self) -> bool:
        """Mode poll or both."""
        return self.mode in ("poll", "both")

    def start(self) -> None:
        """Start polling as a task of the running loop when the mode polls (the webhook is a route)."""
        if self.polls and self._polling is None:
            self._polling = asyncio.get_running_loop().create_task(self.poller.run(), name="sync-poll")
            log.info("polling Jira for changes to the driver's tickets every %g s", self.poll_seconds)

    async def stop(self) -> None:
        """Stop polling and any GET myself in flight (a poll cut off moves no cursor)."""
        tasks = [t for t in (self._polling, self._asking, *self._reading) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        self._polling = None

    # --- the webhook ----------------------------------------------------------------------------

    def incoming(self) -> IncomingBody:
        """A body to stream one delivery into, signed with the webhook secret as it comes."""
        return IncomingBody(self._secret.get_secret_value())

    async def handle_webhook(self, incoming: IncomingBody, headers: Mapping[str, str]) -> Handled:
        """Handle one delivery: its body (streamed into `incoming`) and its HTTP headers (any case).

        Only the parts sync uses are parsed (driver.sync.webhook_reader), off the event loop, so a
        delivery of megabytes costs little memory and holds nothing up. Raises WebhookRefused
        (nothing changed) when webhooks are off, the signature is missing or wrong, the body is not
        a webhook's, or it is over MAX_WEBHOOK_BYTES; a refused delivery signed with the secret
        (Jira's own, which Jira will not send again after a 4xx) has the issue it names read
        instead (`read_issue`). sqlite3.OperationalError when the database cannot take it (nothing
        changed either: Jira sends it again).
        """
        if not self.takes_webhooks:
            raise WebhookRefused("disabled", f"webhooks are off ([sync] mode = {self.mode})")
        named = {name.lower(): value for name, value in headers.items()}
        signed = incoming.signed_by(named.get("x-hub-signature"))
        if incoming.too_large:
            if signed:
                await self._read_instead(incoming)
            raise WebhookRefused(
                "too_large",
                f"the body is over {MAX_WEBHOOK_BYTES} bytes ({incoming.size} read); nothing was changed",
            )
        if not signed:
            raise WebhookRefused(
                "signature",
                "missing or wrong X-Hub-Signature (HMAC-SHA256 of the body with [sync] webhook_secret)",
            )
        stamp_field = self.setup.settings.guid_field
        try:
            parsed = await asyncio.to_thread(read_webhook, incoming.file(), stamp_field)
            body = WebhookBody.model_validate(parsed)
        except WebhookUnreadable as exc:
            await self._read_instead(incoming)
            raise WebhookRefused("malformed", str(exc)) from None
        except ValidationError as exc:
            await self._read_instead(incoming)
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "body"
            raise WebhookRefused("malformed", f"not a Jira webhook body: {where}: {first['msg']}") from None
        identifier = named.get("x-atlassian-webhook-identifier", "").strip()[:200] or None
        change = webhook_change(body)
        me = await self.identity(IDENTITY_WAIT) if change is not None else None
        key = body.issue.key if body.issue is not None else ""
        return self._handle(change, me, key=key, identifier=identifier, counted=True)

    async def _read_instead(self, incoming: IncomingBody) -> None:
        """A signed delivery refused: read the issue it names from Jira instead, in the background
        (a 4xx is never sent again, so a person's resolve in it would be lost). The body is looked
        through on a worker thread: one that names no issue is read to its end (up to
        MAX_WEBHOOK_BYTES), which must not hold the event loop."""
        named = await asyncio.to_thread(issue_named, incoming.file())
        if named is None:
            log.warning("a refused webhook delivery names no issue: nothing to read instead")
            return
        task = asyncio.get_running_loop().create_task(self.read_issue(named), name="sync-read-issue")
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def read_issue(self, issue: str) -> int | None:
        """Read one issue (by id or key) as a poll does, and handle it (Poller.read_issue)."""
        me = await self.identity(IDENTITY_WAIT)
        return await self.poller.read_issue(issue, me)

    # --- the one handler ------------------------------------------------------------------------

    def _handle(
        self,
        change: JiraChange | None,
        me: JiraUser | None,
        *,
        key: str,
        identifier: str | None = None,
        counted: bool = False,
    ) -> Handled:
        """Apply one change in one transaction (with the delivery's identifier and its counter),
        then tell the engine about a record that changed. No await: nothing interleaves."""
        now = self.clock()
        after: TicketRecord | None = None
        with self.store.transaction():
            if identifier is not None and not self.store.webhook_seen(identifier):
                handled = Handled("duplicate", key, "a retry of a delivery already handled")
            elif change is None:
                handled = Handled("ignored", key, "an event sync does not use")
            else:
                handled, after = self._apply(change, me, now)
            if counted:
                self.store.count_total(COUNTERS[handled.result])
        if after is not None:
            self.engine.ticket_changed(after)
        return handled

    def _apply(
        self, change: JiraChange, me: JiraUser | None, now: datetime
    ) -> tuple[Handled, TicketRecord | None]:
        key = change.key
        record = self.store.ticket_by_key(key)
        if record is not None and change.id and record.ticket_id and record.ticket_id != change.id:
            # Jira never gives one key to two issues at once: an event whose id is another than
            # the ticket's is about some other issue (or a moved one, found by its id below).
            record = None
        if record is None and change.id:
            record = self.store.ticket_by_key(change.id)
        if record is not None and record.state == TicketState.CREATED and record.ticket_key:
            if from_the_future(change, now):
                self._note_future(change, now)
            new = apply_change(record, change, me, now)
            if new is None:
                why = "known deleted" if record.deleted_at is not None else "older than what the driver has"
                return Handled("unchanged", key, why), None
            self.store.record_jira_state(new)
            if not changed(record, new):
                return Handled("unchanged", key, "nothing new"), None
            return Handled("applied", key, _summary(new)), new
        if record is not None:
            return Handled("unchanged", key, "the driver's ticket, its create still being settled"), None
        if self.store.guid_of_old_ticket(key) or (change.id and self.store.guid_of_old_ticket(change.id)):
            return Handled("unchanged", key, "an earlier ticket of a GUID"), None
        settings = self.setup.settings
        doubtful = [(r.guid, r.generation) for r in self.store.tickets_in(DOUBTFUL)]
        if doubtful and stamp_owner(change.state, doubtful, settings.guid_field, settings.guid_label_prefix):
            return Handled("unchanged", key, "the driver's ticket, its create still being settled"), None
        return Handled("ignored", key, "not one of the driver's tickets"), None

    # --- the driver's own account ---------------------------------------------------------------

    async def identity(self, wait: float) -> JiraUser | None:
        """The Jira user the driver's credentials act as (GET myself once per credentials).

        None when it is not known within `wait` seconds, or Jira may not be asked now (a 401, a
        429 pause, an outage): who changed a ticket is then recorded without saying whether it
        was the driver.
        """
        credentials = self.jira.credentials
        if self._me is not None and self._me_for is credentials:
            return self._me
        if self._asking is None or self._asking.done():
            if self.poller.blocked(self.timer()):
                return None
            self._asking = asyncio.get_running_loop().create_task(self._ask_identity(credentials))
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._asking), wait)
        return None

    async def _ask_identity(self, credentials: object) -> JiraUser | None:
        now = self.timer()
        self.health.sent(now)
        try:
            me = await self.jira.current_user()
        except JiraError as exc:
            self.poller.jira_failed(exc, now)
            log.warning("cannot ask Jira who the driver is (GET myself): %s", exc)
            return None
        self.engine.mark_ok()
        if self.jira.credentials is credentials:
            self._me, self._me_for = me, credentials
        return me

    async def poll_once(self) -> int | None:
        """One poll now (driver.sync.polling.Poller.poll_once)."""
        return await self.poller.poll_once()

    # --- retention and status -------------------------------------------------------------------

    def note_refused(self, reason: str) -> None:
        """A delivery was refused (401 or 400): counted, shown in the status, logged once a minute
        (a webhook registered with another secret would otherwise fail unseen on this side)."""
        now = self.clock()
        self.refused += 1
        self.last_refused_at = now
        self.last_refused_reason = reason
        if self._due(self._refusal_logged):
            self._refusal_logged = self.timer()
            log.warning(
                "webhook delivery refused: %s (%d refused so far; is the webhook registered in Jira"
                " with [sync] webhook_secret?)",
                reason,
                self.refused,
            )

    def _due(self, last: datetime | None) -> bool:
        """Whether a once-a-minute log line last written at timer instant `last` may be written."""
        return last is None or (self.timer() - last).total_seconds() >= REFUSAL_LOG_EVERY

    def _note_future(self, change: JiraChange, now: datetime) -> None:
        """A change dated beyond the driver's clock: counted, and logged at most once a minute."""
        self.future_events += 1
        if self._due(self._future_logged):
            self._future_logged = self.timer()
            log.warning(
                "a change of %s is dated %s, beyond this host's clock (%s) by more than %s: taken as"
                " made now (%d such changes so far; is a clock wrong?)",
                change.key,
                change.moment.isoformat() if change.moment else "?",
                now.isoformat(),
                EVENT_CLOCK_SKEW,
                self.future_events,
            )

    def prune(self) -> int:
        """Forget webhook delivery identifiers older than a week (Jira retries within hours)."""
        return self.store.prune_webhook_deliveries(WEBHOOK_IDS_KEEP)

    def status(self) -> SyncStatus:
        """The `sync` part of GET /api/status."""
        counters = [COUNTERS["applied"], COUNTERS["unchanged"], COUNTERS["duplicate"], COUNTERS["ignored"]]
        totals = self.store.totals(counters)
        applied, unchanged, duplicate, ignored = (totals[counter] for counter in counters)
        return SyncStatus(
            mode=self.mode,
            last_poll_at=self.poller.last_poll_at,
            last_poll_error=self.poller.last_poll_error,
            webhooks_applied=applied,
            webhooks_unchanged=unchanged,
            webhooks_duplicate=duplicate,
            webhooks_ignored=ignored,
            webhooks_refused=self.refused,
            last_refused_at=self.last_refused_at,
            last_refused_reason=self.last_refused_reason,
        )


def _summary(record: TicketRecord) -> str:
    if record.deleted_at is not None:
        return "deleted in Jira"
    parts = [f"status {record.jira_status or '?'}"]
    if record.resolution:
        parts.append(f"resolution {record.resolution}")
    if record.changed_by:
        parts.append(f"by {record.changed_by}")
    return ", ".join(parts)
