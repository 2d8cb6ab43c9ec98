"""Polling Jira for changes to the driver's tickets: one search per `poll_seconds` (by the tickets'
ids, or the projects' updated issues), every page handled as it comes through sync's one handler,
and a cursor stored so a restart or a wall clock set back misses no change.

The search is a relative-minutes JQL (driver.sync.rules.poll_jql, poll_id_jql: docs/wire-facts.md,
search); polls obey Jira's health and feed it (JiraHealth.observe).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from driver.clock import Clock, Timer
from driver.config import SyncSection
from driver.errors import JiraAuthError, JiraError, JiraRejected
from driver.jira.client import ISSUE_STATE_FIELDS, JiraClient
from driver.jira.health import JiraHealth
from driver.model.answers import IssueState, JiraUser
from driver.model.jql import jql_string
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.store import Store, iso
from driver.sync.poll_search import (
    POLL_ID_CHUNK,
    changelog_cut,
    missing_issue,
    next_cursor,
    poll_id_jql,
    poll_jql,
    poll_minutes,
)
from driver.sync.rules import Handled, JiraChange, poll_change

log = logging.getLogger("driver.sync")

POLL_MAX_PAGES = 1000
"""Pages of 100 issues one poll reads at most (a bound on one poll's time, not on its progress: a
poll cut there goes on from its last hit the next time)."""
CURSOR_SETTING = "sync_poll"
"""The settings row holding the poll cursor: `{"since": ISO moment}`."""
IDENTITY_WAIT = 3.0
"""Seconds a poll or a webhook waits for GET myself (once per credentials) before it goes without."""

Handler = Callable[..., Handled]
"""Sync's one handler: (change, me, *, key) -> Handled, in one transaction."""


class Poller:
    """The polls of one driver and where they stand (`last_poll_at`, `last_poll_error`)."""

    def __init__(
        self,
        config: SyncSection,
        store: Store,
        jira: JiraClient,
        engine: Engine,
        *,
        health: JiraHealth,
        setup: RequestSetup,
        clock: Clock,
        timer: Timer,
        handle: Handler,
        identity: Callable[[float], Awaitable[JiraUser | None]],
    ) -> None:
        self.poll_seconds = config.poll_seconds
        self.poll_by_id_max = config.poll_by_id_max
        self.store = store
        self.jira = jira
        self.engine = engine
        self.health = health
        self.setup = setup
        self.clock = clock
        self.timer = timer
        self._handle = handle
        self._identity = identity
        self.last_poll_at: datetime | None = None
        self.last_poll_error = ""
        self._cursor_at: tuple[datetime, datetime, datetime] | None = None
        """(the cursor saved last in this process, the wall time and the timer's instant then)."""
        self._retry_at: datetime | None = None

    async def run(self) -> None:
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

    def blocked(self, now: datetime) -> bool:
        """Jira's health holds every request now (a 401, a pause, an outage)."""
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
        me = await self._identity(IDENTITY_WAIT)
        now, instant = self.clock(), self.timer()
        if self.blocked(instant):
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
            self.jira_failed(exc, self.timer())
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
            jql = poll_id_jql(ids, minutes) if ids else poll_jql(projects, minutes, guid_field)
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

    async def read_issue(self, issue: str, me: JiraUser | None) -> int | None:
        """Read one issue (an id, or a key) with its changelog and comments, as a poll reads a hit,
        and handle it: a webhook delivery of it was refused (too large, malformed). The hits (0:
        Jira does not show it); None when Jira's health holds every request or Jira failed it."""
        if self.blocked(self.timer()):
            log.warning("the issue %s of a refused delivery is not read: requests to Jira are held", issue)
            return None
        guid_field = self.setup.settings.guid_field
        fields = [*ISSUE_STATE_FIELDS, "comment", *([guid_field] if guid_field else [])]
        jql = f"id = {issue}" if issue.isdigit() else f"key = {jql_string(issue)}"
        try:
            hits, _, _ = await self._read(jql, fields, me)
        except JiraError as exc:
            self.jira_failed(exc, self.timer())
            log.warning("the issue %s of a refused delivery could not be read: %s", issue, exc)
            return None
        log.info("read %s from Jira instead of its refused webhook delivery (%d hit)", issue, hits)
        return hits

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
                    changelog = hit.changelog
                    if changelog_cut(changelog):
                        # the search kept only the newest histories, and none moved the status:
                        # who moved it last is in the older ones (Cloud keeps 40)
                        changelog = {"histories": await self.jira.changelog(hit.id or hit.key)}
                    change = poll_change(hit.id, hit.key, hit.fields, changelog)
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

    def jira_failed(self, exc: JiraError, now: datetime) -> None:
        """Tell Jira's health what a request of sync met (the one rule: JiraHealth.observe); the next
        poll waits for what it says."""
        if isinstance(exc, JiraRejected):
            self.engine.mark_ok()  # Jira answered: it is up, the credentials work
            return
        seen = self.health.observe(exc, now)
        if seen.until is not None:
            self._retry_at = seen.until
        if seen.news:
            log.log(logging.ERROR if isinstance(exc, JiraAuthError) else logging.WARNING, "%s", seen.news)
