"""When a row goes again after a failed attempt, and what Jira's health learns from the failure.

A 401 stops everything, a 429 pauses its scope, an outage holds every GUID (JiraHealth.observe,
the one rule); a database error retries soon; any other failure backs off exponentially with
jitter (driver.jira.backoff), Jira's Retry-After a minimum.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from driver.errors import JiraRateLimited, JiraRejected, JiraRetryable, JiraTimeout, JiraUnavailable
from driver.jira.backoff import backoff_seconds
from driver.jira.health import JiraHealth
from driver.sending.queues import GuidQueues
from driver.sending.verdicts import Decision, Verdict
from driver.sending.work import Work, WorkKind
from driver.store import Store

log = logging.getLogger("driver.engine")

CREDENTIALS_REFUSED = (
    "waiting for Jira: credentials refused (HTTP 401); nothing is sent until they change"
    " (jira-driver ui, Configuration, or PUT /api/settings/auth)"
)
"""What a row waiting behind a 401 says in its error column."""
DB_RETRY_BASE = 0.2
"""Seconds before a row whose request met the driver's own database error goes again."""
DB_RETRY_CAP = 10.0
"""The longest wait, s, of a worker whose write the database refused, before it tries again."""


def jira_spoke(error: BaseException | None) -> bool:
    """Jira answered the request itself (whatever it said), so it is up and the credentials work."""
    if error is None or isinstance(error, JiraRejected):
        return True
    return isinstance(error, JiraRetryable) and not isinstance(
        error, JiraTimeout | JiraUnavailable | JiraRateLimited
    )


class Retries:
    """The retry policy of the rows, and the outage's words on every waiting row."""

    def __init__(
        self,
        store: Store,
        queues: GuidQueues,
        health: JiraHealth,
        *,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.queues = queues
        self.health = health
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.rand = rand
        self._timeout_rows: set[int] = set()
        self._heads_told_of_outage = False

    def timeouts_repeat(self, job_id: int) -> bool:
        """A timeout while others time out too (different rows, no answer between), or in an outage."""
        self._timeout_rows.add(job_id)
        return self.health.outage_strikes > 0 or len(self._timeout_rows) >= 2

    def jira_answered(self) -> None:
        """Jira answered a request properly: timeouts start counting afresh, an outage ends."""
        self._timeout_rows.clear()
        if self.health.answered():
            log.warning(
                "Jira answers again: sending resumes",
                extra={"event": "jira_state", "reason": "answers again"},
            )

    def when_again(
        self, work: Work, decision: Decision, error: BaseException, now: datetime
    ) -> tuple[datetime | None, str]:
        """When the head row goes again, and the words its error column gets meanwhile."""
        if decision.verdict in (Verdict.STOP, Verdict.PAUSE, Verdict.PARK):
            if not self.health.outage_strikes:
                self._heads_told_of_outage = False  # any outage before this one has ended
            seen = self.health.observe(error, now, work.guid)
            if seen.news:
                level = logging.ERROR if decision.verdict == Verdict.STOP else logging.WARNING
                log.log(level, "%s", seen.news, extra={"event": "jira_state", "reason": seen.news})
            if decision.verdict == Verdict.STOP:
                if seen.news:
                    # the first 401 of these credentials: every GUID's next row says why it waits
                    self._mark_heads_waiting(CREDENTIALS_REFUSED)
                return None, "waiting for Jira: credentials refused: "
            if decision.verdict == Verdict.PAUSE:
                return seen.until, "retrying: "
            if not self._heads_told_of_outage:
                # once an outage (whoever met it first): every GUID's next row says why it waits,
                # without the request that met it (another alarm's path read as this row's own)
                self._heads_told_of_outage = True
                met = _REQUEST_NAMED.sub("", getattr(error, "reason", str(error)))
                self._mark_heads_waiting(f"waiting for Jira: {met} (met by log #{work.head.id})")
            # Ready at once in memory: the outage pause holds it, and an answer lifts that early.
            return None, "waiting for Jira: "
        if isinstance(error, sqlite3.Error):
            return now + timedelta(seconds=DB_RETRY_BASE), "retrying: "
        # a stamp search's failures do not count as the row's attempts, but back off all the same
        attempt = (work.head.searches_failed if work.kind == WorkKind.PROBE else work.head.attempts) + 1
        retry_after = getattr(error, "retry_after", None)
        delay = backoff_seconds(attempt, self.retry_base, retry_after, self.retry_cap, self.rand)
        log.info(
            "log #%d: %s; retry %d in %.2f s",
            work.head.id,
            decision.reason,
            attempt,
            delay,
            extra={
                "event": "row_retry",
                "guid": work.guid,
                "log_id": work.head.id,
                "outcome": "retry",
                "reason": decision.reason,
                "jira_status": getattr(error, "status", None),
            },
        )
        return now + timedelta(seconds=delay), "retrying: "

    def _mark_heads_waiting(self, reason: str) -> None:
        """An outage began: every GUID's next row says why it waits (one request tests the water)."""
        for guid in self.queues.guids():
            head = self.queues.head(guid)
            if head is not None and not self.queues.is_busy(guid):
                self.store.note_error(head.id, reason)


_REQUEST_NAMED = re.compile(r" \((?:GET|POST|PUT|DELETE|PATCH) [^()]*\)$")
"""The `(METHOD path)` a timeout's reason ends with (driver.jira.client): the request that met it."""


class DatabaseTrouble:
    """The engine's own database refusing writes (locked, disk full, I/O error): why, and how long
    a worker waits before it tries again (backoff from DB_RETRY_BASE to DB_RETRY_CAP s)."""

    def __init__(self, rand: Callable[[], float]) -> None:
        self.rand = rand
        self.problem = ""
        """Why the database refused the last write ('' when it works)."""
        self._strikes = 0

    async def wait(self, exc: sqlite3.Error) -> None:
        """A write was refused: say so (once per episode) and wait before the next try."""
        self._strikes += 1
        if not self.problem:
            log.error(
                "database unavailable: %s (the engine keeps trying)",
                exc,
                extra={"event": "database_unavailable"},
            )
        self.problem = str(exc)
        await asyncio.sleep(backoff_seconds(self._strikes, DB_RETRY_BASE, None, DB_RETRY_CAP, self.rand))

    def ok(self) -> None:
        """A write was taken: the episode is over."""
        if self.problem:
            log.warning("database available again", extra={"event": "database_available"})
        self.problem = ""
        self._strikes = 0
