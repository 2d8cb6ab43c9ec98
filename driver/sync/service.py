"""Hearing back from Jira (I/O): webhook deliveries and polls, through one handler, into the store.

`[sync] mode` says which way Jira's changes arrive (driver.sync.rules has the rules, pure):

    webhook   POST /api/jira/webhook (driver.api.webhook) hands the raw body and headers to
              `Sync.handle_webhook`: the signature is checked on the raw bytes, the body parsed,
              Jira's retries (the same X-Atlassian-Webhook-Identifier) answered `duplicate`.
    poll      `run_polling` calls `poll_once` every `poll_seconds`: one JQL search for the driver's
              projects' issues updated since the last poll, oldest change first, with each hit's
              changelog and comments (who changed it). The cursor (the moment the next poll counts
              from) is a settings row, so a restart neither misses changes nor reads a week again.

Both end in `_handle`: find whose issue it is (a current ticket key or id, an earlier ticket of a
GUID, or a create in doubt recognised by its stamp), apply driver.sync.rules.apply_change, store it
(`store.record_jira_state`, in the same transaction as the delivery's identifier and the counters),
and then tell the engine (`Engine.ticket_changed`), so the GUID's next rows are planned with it.
Nothing awaits between reading the record and telling the engine, so no engine step interleaves.

Polling's requests (and the one GET myself that tells the driver's own account) obey the engine's
JiraHealth like every request: nothing is sent after a 401 until the credentials change, nor
during a 429 pause or an outage; a 401, 429 or outage met here is reported to it, and an answer
ends an outage (driver.sending.recording does the same for the engine's requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from pydantic import ValidationError

from driver.clock import Clock, Timer
from driver.config import SyncSection
from driver.contract.schemas import SyncStatus
from driver.errors import (
    DriverError,
    JiraAuthError,
    JiraError,
    JiraRejected,
)
from driver.jira.client import ISSUE_STATE_FIELDS, JiraClient
from driver.jira.health import JiraHealth
from driver.model.answers import IssueState, JiraUser
from driver.model.jobs import DOUBTFUL, TicketRecord, TicketState
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.store import Store, Total, iso
from driver.sync.rules import (
    EVENT_CLOCK_SKEW,
    POLL_ID_CHUNK,
    WEBHOOK_IDS_KEEP,
    Handled,
    HandledResult,
    JiraChange,
    WebhookBody,
    apply_change,
    changed,
    from_the_future,
    missing_issue,
    next_cursor,
    poll_change,
    poll_id_jql,
    poll_jql,
    poll_minutes,
    signature_valid,
    stamp_owner,
    webhook_change,
)

log = logging.getLogger("driver.sync")
REFUSAL_LOG_EVERY = 60.0
"""Seconds between two log lines about refused webhook deliveries."""

POLL_MAX_PAGES = 1000
"""Pages of 100 issues one poll reads at most (a bound on one poll's time, not on its progress: a
poll cut there goes on from its last hit the next time)."""
IDENTITY_WAIT = 3.0
"""Seconds a webhook waits for GET myself (once per credentials) before it is handled without."""
CURSOR_SETTING = "sync_poll"
"""The settings row holding the poll cursor: `{"since": ISO moment}`."""
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
    wrong), 'malformed' (not JSON, or not a webhook body).
    """

    def __init__(self, kind: Literal["disabled", "signature", "malformed"], message: str) -> None:
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
        self.last_poll_at: datetime | None = None
        self.last_poll_error = ""
        # Refused deliveries are counted in memory, not in the store: whoever can reach the
        # endpoint unsigned must not be able to make the driver write.
        self.refused = 0
        self.last_refused_at: datetime | None = None
        self.last_refused_reason = ""
        self._refusal_logged: datetime | None = None
        """Timer instants of the last log line of each kind (a wall clock set back must not mute them)."""
        self.future_events = 0
        self._future_logged: datetime | None = None
        self._cursor_at: tuple[datetime, datetime, datetime] | None = None
        """(the cursor saved last in this process, the wall time and the timer's instant then)."""
        self._retry_at: datetime | None = None
        self._me: JiraUser | None = None
        self._me_for: object = None
        self._asking: asyncio.Task[JiraUser | None] | None = None
        self._polling: asyncio.Task[None] | None = None

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
            self._polling = asyncio.get_running_loop().create_task(self.run_polling(), name="sync-poll")
            log.info("polling Jira for changes to the driver's tickets every %g s", self.poll_seconds)

    async def stop(self) -> None:
        """Stop polling and any GET myself in flight (a poll cut off moves no cursor)."""
        tasks = [t for t in (self._polling, self._asking) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        self._polling = None

    # --- the webhook ----------------------------------------------------------------------------

    async def handle_webhook(self, raw: bytes, headers: Mapping[str, str]) -> Handled:
        """Handle one delivery: its raw body and its HTTP headers (any case).

        Raises WebhookRefused (nothing changed) when webhooks are off, the signature is missing or
        wrong, or the body is not a webhook's; sqlite3.OperationalError when the database cannot
        take it (nothing changed either: Jira sends it again).
        """
        if not self.takes_webhooks:
            raise WebhookRefused("disabled", f"webhooks are off ([sync] mode = {self.mode})")
        named = {name.lower(): value for name, value in headers.items()}
        if not signature_valid(self._secret.get_secret_value(), raw, named.get("x-hub-signature")):
            raise WebhookRefused(
                "signature",
                "missing or wrong X-Hub-Signature (HMAC-SHA256 of the body with [sync] webhook_secret)",
            )
        try:
            body = WebhookBody.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "body"
            raise WebhookRefused("malformed", f"not a Jira webhook body: {where}: {first['msg']}") from None
        identifier = named.get("x-atlassian-webhook-identifier", "").strip()[:200] or None
        change = webhook_change(body)
        me = await self.identity(IDENTITY_WAIT) if change is not None else None
        key = body.issue.key if body.issue is not None else ""
        return self._handle(change, me, key=key, identifier=identifier, counted=True)

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
            if self._blocked(self.timer()):
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
            self._jira_failed(exc, now)
            log.warning("cannot ask Jira who the driver is (GET myself): %s", exc)
            return None
        self.engine.mark_ok()
        if self.jira.credentials is credentials:
            self._me, self._me_for = me, credentials
        return me

    # --- polling --------------------------------------------------------------------------------

    async def run_polling(self) -> None:
        """Poll every `poll_seconds` until cancelled (a poll held back by Jira's health goes as soon
        as it may, within the interval)."""
        while True:
            try:
                await self.poll_once()
            except sqlite3.OperationalError as exc:
                self.last_poll_error = f"database unavailable: {exc}"
                log.warning("poll not recorded: database unavailable: %s", exc)
            except Exception:  # a bug must not end polling
                log.exception("unexpected error in a poll")
                self.last_poll_error = "internal error: see the driver's log"
            await asyncio.sleep(self._next_delay())

    def _next_delay(self) -> float:
        if self._retry_at is None:
            return self.poll_seconds
        wait = (self._retry_at - self.timer()).total_seconds()
        return min(self.poll_seconds, max(0.05, wait))

    def _blocked(self, now: datetime) -> bool:
        health = self.health
        return health.auth_failed or health.blocked_until(now) is not None

    async def poll_once(self) -> int | None:
        """One poll: search, handle every hit, move the cursor. The number of hits; None when it did
        not go (Jira's health holds every request, or Jira failed it: `last_poll_error` says)."""
        now = self.clock()
        health = self.health
        self._retry_at = None
        if health.auth_failed:
            self.last_poll_error = "not sent: Jira refused the credentials (401); waiting for new ones"
            return None
        blocked = health.blocked_until(self.timer())
        if blocked is not None:
            self._retry_at = blocked
            self.last_poll_error = (
                f"not sent: requests to Jira wait until {iso(self.engine.wall_of(blocked))}"
            )
            return None
        projects = self.store.live_ticket_projects()
        if not projects:
            self._save_cursor(now)
            self._polled("")
            return 0
        me = await self.identity(IDENTITY_WAIT)
        now, instant = self.clock(), self.timer()
        if self._blocked(instant):
            self._retry_at = health.blocked_until(instant)
            self.last_poll_error = "not sent: requests to Jira are held (see jira_state)"
            return None
        minutes = poll_minutes(self._since(), now, self.poll_seconds)
        ids = self.store.live_ticket_ids()
        if 0 < len(ids) <= self.poll_by_id_max and all(i.isdigit() for i in ids):
            # Only the driver's own tickets: a backlog of other issues costs nothing.
            chunks = [ids[n : n + POLL_ID_CHUNK] for n in range(0, len(ids), POLL_ID_CHUNK)]
        else:
            chunks = [[]]  # every updated issue of the projects
        hits, complete = 0, True
        last_updated: datetime | None = None
        try:
            for chunk in chunks:
                read = await self._read_chunk(chunk, projects, minutes, me)
                hits += read[0]
                complete = read[2]
                if read[1] is not None:
                    # the oldest of the searches' last hits: the next poll misses none of them
                    last_updated = read[1] if last_updated is None else min(last_updated, read[1])
                if not complete:
                    break
        except JiraError as exc:
            self._jira_failed(exc, self.timer())
            self.last_poll_error = f"poll failed: {exc}"
            log.warning("poll failed after %d issues: %s", hits, exc)
            return None
        self._save_cursor(next_cursor(now, last_updated))
        note = ""
        if not complete:
            note = f"{hits} issues updated since the last poll: the rest comes with the next polls"
            log.warning("poll: %s", note)
        self._polled(note)
        return hits

    async def _read_chunk(
        self, ids: list[str], projects: list[str], minutes: int, me: JiraUser | None
    ) -> tuple[int, datetime | None, bool]:
        """One search of a poll (by `ids`, or by `projects` when there are none), every page handled
        as it comes: (hits, the last hit's time, whether the whole result was read). An id Jira no
        longer knows (a ticket deleted, or moved where the driver may not see it) is looked up: a
        404 records the deletion, and the search goes again without it."""
        guid_field = self.setup.settings.guid_field
        fields = [*ISSUE_STATE_FIELDS, "comment", *([guid_field] if guid_field else [])]
        ids = list(ids)
        for _ in range(len(ids) + 1):
            jql = poll_id_jql(ids, minutes) if ids else poll_jql(projects, minutes)
            try:
                return await self._read(jql, fields, me)
            except JiraRejected as exc:
                gone = missing_issue(exc.error_messages) if ids else None
                if exc.status != 400 or gone is None or gone not in ids:
                    raise
                ids.remove(gone)
                await self._vanished(gone, me)
                if not ids:
                    return 0, None, True
        raise AssertionError("unreachable: each retry drops one id")  # pragma: no cover

    async def _vanished(self, issue_id: str, me: JiraUser | None) -> None:
        """A ticket a search says does not exist: deleted when Jira answers 404 for it too."""
        try:
            await self.jira.get_issue(issue_id)
        except JiraRejected as exc:
            if exc.status == 404:
                record = self.store.ticket_by_key(issue_id)
                key = record.ticket_key if record is not None and record.ticket_key else issue_id
                self._handle(JiraChange(IssueState(key=key, id=issue_id), deleted=True), me, key=key)
            return

    async def _read(
        self, jql: str, fields: list[str], me: JiraUser | None
    ) -> tuple[int, datetime | None, bool]:
        health = self.health
        # Every page of the result, handled as it comes (memory holds one page): a poll that
        # stopped at a fixed number of hits began again at the same oldest ones next time, and
        # with a backlog of other issues it never reached a person's change (issue 15).
        pages = self.jira.search_pages(jql, fields, expand=("changelog",))
        hits = 0
        last_updated: datetime | None = None
        try:
            for _ in range(POLL_MAX_PAGES):
                health.sent(self.timer())
                page = await anext(pages, None)
                if page is None:
                    return hits, last_updated, True
                self.engine.mark_ok()
                for hit in page:
                    change = poll_change(hit.id, hit.key, hit.fields, hit.changelog)
                    hits += 1
                    if change is None:
                        continue
                    self._handle(change, me, key=hit.key)
                    if change.moment is not None:
                        last_updated = change.moment
                await asyncio.sleep(0)  # the engine and the API run between pages
        finally:
            await pages.aclose()
        return hits, last_updated, False

    def _polled(self, note: str) -> None:
        self.last_poll_at = self.clock()
        self.last_poll_error = note

    def _cursor(self) -> datetime | None:
        stored = self.store.setting(CURSOR_SETTING)
        since = stored.get("since") if isinstance(stored, dict) else None
        if not isinstance(since, str):
            return None
        try:
            return datetime.fromisoformat(since)
        except ValueError:
            return None

    def _save_cursor(self, since: datetime) -> None:
        self.store.put_setting(CURSOR_SETTING, {"since": iso(since)})
        self._cursor_at = (since, self.clock(), self.timer())

    def _since(self) -> datetime | None:
        """The cursor, moved back when the wall clock went back since it was saved in this process:
        the time elapsed on the timer is never undercounted, so a clock set back loses no change."""
        cursor = self._cursor()
        if cursor is None or self._cursor_at is None or self._cursor_at[0] != cursor:
            return cursor
        _, wall_then, timer_then = self._cursor_at
        behind = (self.timer() - timer_then) - (self.clock() - wall_then)
        return cursor - behind if behind > timedelta(0) else cursor

    def _jira_failed(self, exc: JiraError, now: datetime) -> None:
        """Tell Jira's health what a request of sync met (the one rule: JiraHealth.observe)."""
        if isinstance(exc, JiraRejected):
            self.engine.mark_ok()  # Jira answered: it is up, the credentials work
            return
        seen = self.health.observe(exc, now)
        if seen.until is not None:
            self._retry_at = seen.until
        if seen.news:
            log.log(logging.ERROR if isinstance(exc, JiraAuthError) else logging.WARNING, "%s", seen.news)

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
        total = self.store.total
        return SyncStatus(
            mode=self.mode,
            last_poll_at=self.last_poll_at,
            last_poll_error=self.last_poll_error,
            webhooks_applied=total(COUNTERS["applied"]),
            webhooks_unchanged=total(COUNTERS["unchanged"]),
            webhooks_duplicate=total(COUNTERS["duplicate"]),
            webhooks_ignored=total(COUNTERS["ignored"]),
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
