"""The sending engine: a fixed pool of workers that take ready rows, send them, and record the outcome.

The loop
    `concurrency` worker coroutines each repeat: take the next ready row (`_take`), deliver its
    request (driver.delivery), record the outcome (`_record`). A worker that finds nothing ready
    registers a wake-up future and waits for it or for the next moment something becomes due;
    every change that can make work ready (intake, a settled row, new credentials, wake()) resolves
    all registered futures. The check and the registration happen with no await between them, so a
    wake-up cannot be lost; a worker that finishes a request takes the next one itself, so a
    settled wave never needs anyone to notice it.

What decides readiness, each in its own module
    driver.guid_queues   per-GUID order (one request per GUID at a time, in id order)
    driver.jira_health   outages, 429 pauses, 401 stops, and how many requests may be in flight
    driver.dispatch      what a GUID's head row sends (create, update with merged deferred rows,
                         probe), or why it waits (update limit, per-issue 429, field list)
    driver.settlement    what an outcome means: done / retry / fail / park / pause / stop
    driver.exactly_once  the rules that keep one ticket per GUID and each comment once

The database
    Every decision is committed before memory follows it: a write that fails (locked, busy, disk
    full, I/O error) leaves memory as it was, and the worker tries the same step again with a
    backoff while GET /api/status says "database unavailable: <reason>". An acknowledged row is
    never failed for the driver's own database.

Exactly one ticket per GUID, each comment once: see driver.exactly_once and driver.delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from driver.clock import Clock, utc_now
from driver.commands import Action
from driver.delivery import Delivery, JiraPort, Outcome
from driver.dispatch import Hold, Refuse, Work, WorkKind, plan_next
from driver.errors import (
    JiraAuthError,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraTimeout,
    JiraUnavailable,
)
from driver.exactly_once import COMMENT_JOURNAL_KEEP, PROBE_MISSES_TRUSTED, comment_not_added
from driver.guid_queues import GuidQueues
from driver.jira_health import JiraHealth
from driver.jobs import Job, TicketRecord
from driver.limiter import UpdateLimiter, backoff_seconds
from driver.schemas import LogStatus, LogType
from driver.settlement import Decision, Verdict, decide
from driver.store import Store
from driver.ticket_config import TicketConfig

log = logging.getLogger("driver.engine")

DB_RETRY_BASE = 0.2
DB_RETRY_CAP = 10.0


def _answer(value: Any) -> Any:
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


def _jira_spoke(error: BaseException | None) -> bool:
    """Jira answered the request itself (whatever it said), so it is up and the credentials work."""
    if error is None or isinstance(error, JiraRejected):
        return True
    return isinstance(error, JiraRetryable) and not isinstance(
        error, JiraTimeout | JiraUnavailable | JiraRateLimited
    )


def _merged_note(head: Job) -> str:
    return f"merged into the request of log #{head.id}"


@dataclass
class _After:
    """What memory does once a step's writes are committed (nothing, if they are not)."""

    steps: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self, step: Callable[[], None]) -> None:
        self.steps.append(step)

    def run(self) -> None:
        for step in self.steps:
            step()


class Engine:
    """Sends accepted rows to Jira in order per GUID, concurrently across GUIDs."""

    def __init__(
        self,
        store: Store,
        jira: JiraPort,
        limiter: UpdateLimiter,
        ticket: TicketConfig | None = None,
        health: JiraHealth | None = None,
        *,
        clock: Clock | None = None,
        max_retries: int = 5,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
        probe_delay: float = 5.0,
        concurrency: int = 16,
        outage_cap: float = 60.0,
        rand: Callable[[], float] = random.random,
        probe_unknown_guids: bool = False,
    ) -> None:
        self.store = store
        self.jira = jira
        self.limiter = limiter
        self.ticket = ticket or TicketConfig()
        self.health = health or JiraHealth(
            retry_base=retry_base, outage_cap=outage_cap, rate_cap=retry_cap, rand=rand
        )
        self.clock: Clock = clock or utc_now
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.probe_delay = probe_delay
        self.concurrency = max(1, concurrency)
        self.rand = rand
        self.queues = GuidQueues()
        self.delivery = Delivery(jira, store)
        self.db_problem = ""
        """Why the database refused the last write ('' when it works)."""
        self._db_strikes = 0
        self._tickets: dict[str, TicketRecord | None] = {}
        self._in_doubt: set[str] = set()
        self.probe_unknown_guids = probe_unknown_guids
        """A GUID with no ticket record is in doubt until one stamp search (a database taken over
        with `run --init` may not know tickets created earlier; driver.database_file)."""
        self._unknown_probed: set[str] = set()
        self._timeout_rows: set[int] = set()
        self._in_flight = 0
        self._idle: set[asyncio.Future[None]] = set()
        self._settled: dict[int, list[asyncio.Future[None]]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the open rows and in-doubt creates from the store (call once, before start)."""
        for record in self.store.tickets_in(["creating", "in_doubt"]):
            # Whatever was in flight when the driver stopped may have reached Jira.
            self._in_doubt.add(record.guid)
            if record.probes:
                # A miss before the restart may be moments old: the second probe must still come
                # probe_delay after a first one, or a lagging search (Cloud) makes a duplicate.
                self.store.set_ticket_state(record.guid, record.state, 0)
                record.probes = 0
            self._tickets[record.guid] = record
        if self.limiter.enabled:
            # The update limit's window is in memory: rebuild it from what the log says went out,
            # so a restart does not let a flapping alarm through again at once.
            self.limiter.restore(self.store.recent_updates(self.clock() - self.limiter.interval))
        self.submit(self.store.open_jobs())
        self.prune_journal()

    def prune_journal(self) -> None:
        """Forget old entries of the comment journal (at start and with the daily retention)."""
        self.store.prune_comment_journal(COMMENT_JOURNAL_KEEP)

    def start(self) -> None:
        """Start the workers as tasks of the running event loop."""
        loop = asyncio.get_running_loop()
        self._workers = [
            loop.create_task(self._worker(), name=f"engine-{n}") for n in range(self.concurrency)
        ]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop sending: requests in flight get `grace` s to finish and be recorded; the rest stay open.

        A create cut off stays journaled ('creating') and is probed at the next start; an update
        stays Pending and is sent again.
        """
        self._stopping = True
        self._notify()
        if not self._workers:
            return
        _, pending = await asyncio.wait(self._workers, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    @property
    def running(self) -> bool:
        """Every worker is alive (a dead one would be a bug; GET /api/status shows it)."""
        return bool(self._workers) and not any(task.done() for task in self._workers)

    def submit(self, jobs: list[Job]) -> None:
        """Queue rows the store has just committed (rows behind a Deferred one wait with it)."""
        now = self.clock()
        for guid in self.queues.add(jobs, now):
            queue = self.queues.queue(guid)
            head = queue[0]
            if (
                head.status == LogStatus.DEFERRED
                and head.next_attempt_at is not None
                and head.next_attempt_at > now
                and not self.queues.is_busy(guid)
            ):
                # They wait for the same window as the deferred rows ahead of them (and go out
                # merged with them): Pending would tell the operator they are about to go.
                with contextlib.suppress(sqlite3.OperationalError):
                    self._mark_deferred(guid, head.next_attempt_at)
        self._notify()

    def wake(self) -> None:
        """Look at the queue and the clock now (tests advance a fake clock, settings change)."""
        self._notify()

    def credentials_changed(self) -> None:
        """New credentials: sending resumes after a 401 (one canary request first)."""
        if self.health.auth_failed:
            log.info("credentials changed: sending resumes")
        self.health.credentials_changed()
        self.delivery.forget_identity()
        self._notify()

    def mark_ok(self) -> None:
        """Jira answered properly outside the engine (check, field list): an outage ends."""
        if self.health.answered():
            log.warning("Jira answers again: sending resumes")
        self._notify()

    def queue_depth(self) -> int:
        """Rows not yet settled."""
        return len(self.queues)

    @property
    def idle(self) -> bool:
        """Every worker waits and nothing is at Jira: only new work, time or a change moves it."""
        return self._in_flight == 0 and len(self._idle) == len(self._workers) > 0

    @property
    def in_flight(self) -> int:
        """Requests at Jira now."""
        return self._in_flight

    async def wait_settled(self, log_id: int, seconds: float) -> None:
        """Wait until a row is Ok or Failed, or the timeout passes."""
        if log_id not in self.queues:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settled.setdefault(log_id, []).append(future)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, seconds)

    # --- the workers ----------------------------------------------------------------------------

    def _notify(self) -> None:
        idle, self._idle = self._idle, set()
        for future in idle:
            if not future.done():
                future.set_result(None)

    async def _worker(self) -> None:
        while True:
            work = await self._next_work()
            if work is None:
                return
            outcome = await self.delivery.deliver(work, self.ticket.settings)
            await self._record(outcome)

    async def _next_work(self) -> Work | None:
        while not self._stopping:
            now = self.clock()
            try:
                work = self._take(now)
            except sqlite3.OperationalError as exc:
                await self._database_trouble(exc)
                continue
            if work is not None:
                return work
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle.add(future)
            due = self._next_moment(now)
            timeout = None if due is None else max(0.0, (due - now).total_seconds()) + 0.001
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, timeout)
            self._idle.discard(future)
        return None

    def _next_moment(self, now: datetime) -> datetime | None:
        moments = [m for m in (self.queues.next_due(), self.health.blocked_until(now)) if m is not None]
        if self.health.auth_failed:
            return None  # until the credentials change
        return min(moments) if moments else None

    async def _database_trouble(self, exc: sqlite3.Error) -> None:
        self._db_strikes += 1
        if not self.db_problem:
            log.error("database unavailable: %s (the engine keeps trying)", exc)
        self.db_problem = str(exc)
        delay = backoff_seconds(self._db_strikes, DB_RETRY_BASE, None, DB_RETRY_CAP, self.rand)
        await asyncio.sleep(delay)

    def _database_ok(self) -> None:
        if self.db_problem:
            log.warning("database available again")
        self.db_problem = ""
        self._db_strikes = 0

    # --- taking work ----------------------------------------------------------------------------

    def _take(self, now: datetime) -> Work | None:
        self.queues.promote_due(now)
        if self.health.blocked_until(now) is not None:
            return None
        while self._in_flight < self.health.send_limit(self.concurrency):
            guid = self.queues.take(prefer_creates=self.jira.near_limit)
            if guid is None:
                return None
            try:
                work = self._prepare(guid, now)
            except sqlite3.OperationalError:
                self.queues.release(guid, now)
                raise
            except Exception as exc:  # a bug must not stop sending for every GUID
                log.exception("unexpected error preparing the next row of GUID %s", guid)
                head = self.queues.head(guid)
                assert head is not None
                try:
                    self._internal_failure(Work(WorkKind.UPDATE, [head], guid), exc)
                except sqlite3.OperationalError:
                    self.queues.release(guid, now)
                    raise
                continue
            if work is not None:
                self._in_flight += 1
                self.health.sent(now)
                self._database_ok()
                return work
        return None

    def _ticket(self, guid: str) -> TicketRecord | None:
        if guid not in self._tickets:
            self._tickets[guid] = self.store.ticket(guid)
        return self._tickets[guid]

    def _is_in_doubt(self, guid: str, ticket: TicketRecord | None) -> bool:
        if guid in self._in_doubt:
            return True
        return self.probe_unknown_guids and ticket is None and guid not in self._unknown_probed

    def _prepare(self, guid: str, now: datetime) -> Work | None:
        """The head row's request, or None after holding or refusing it (the GUID released)."""
        queue = self.queues.queue(guid)
        head = queue[0]
        paused = self.health.issue_paused_until(guid, now)
        if paused is not None:
            head.next_attempt_at = paused
            self.queues.release(guid, now)
            return None
        ticket = self._ticket(guid)
        plan = plan_next(queue, ticket, self._is_in_doubt(guid, ticket), self.ticket, self.limiter, now)
        if isinstance(plan, Hold):
            with self.store.transaction():
                if plan.defer:
                    self._mark_deferred(guid, plan.until)
                elif plan.reason:
                    self.store.update_row(head.id, error=plan.reason)
            head.next_attempt_at = plan.until
            self.queues.release(guid, now)
            return None
        if isinstance(plan, Refuse):
            after = _After()
            with self.store.transaction():
                self._settle_rows(Work(WorkKind.UPDATE, [head], guid), LogStatus.FAILED, plan.reason, after)
            after.run()
            return None
        work = plan.work
        if work.kind == WorkKind.CREATE:
            self.store.journal_intent(guid, head.id)
            self._tickets[guid] = TicketRecord(guid, "creating", create_log_id=head.id)
        elif work.kind == WorkKind.UPDATE and work.automatic:
            self.limiter.record(work.key, now)
        return work

    def _mark_deferred(self, guid: str, moment: datetime) -> None:
        """Mark the automatic rows at the front of a GUID's queue Deferred until `moment`."""
        for job in self.queues.queue(guid):
            if job.type != LogType.AUTOMATIC:
                break
            if job.status != LogStatus.DEFERRED or job.next_attempt_at != moment:
                self.store.update_row(job.id, status=LogStatus.DEFERRED, next_attempt_at=moment)
                job.status = LogStatus.DEFERRED
                job.next_attempt_at = moment

    # --- recording outcomes ---------------------------------------------------------------------

    async def _record(self, outcome: Outcome) -> None:
        """Commit the outcome, then let memory follow; a database error is retried, never dropped."""
        while True:
            after = _After()
            try:
                with self.store.transaction():
                    self._settle(outcome, self.clock(), after)
            except sqlite3.OperationalError as exc:
                await self._database_trouble(exc)
                continue
            except Exception as exc:  # a bug must not stop the worker
                log.exception("unexpected error recording the outcome of log #%d", outcome.work.head.id)
                after = _After()
                try:
                    self._internal_failure(outcome.work, exc)
                except sqlite3.OperationalError as db_exc:
                    await self._database_trouble(db_exc)
                    continue
            break
        self._database_ok()
        self._in_flight -= 1
        after.run()
        if self.jira.near_limit:
            self.health.near_limit(self.jira.rate_hint, self.clock())
        self._notify()

    def _settle(self, outcome: Outcome, now: datetime, after: _After) -> None:
        work = outcome.work
        head = work.head
        error = outcome.error
        if outcome.comment_in_flight is not None and error is not None and comment_not_added(error):
            # Jira refused it, or it never left: that comment is not on the ticket, no lookup needed.
            self.store.forget_comment(*outcome.comment_in_flight)
        jira_out = isinstance(error, JiraTimeout) and self._timeouts_repeat(head.id)
        decision = decide(work.kind, error, head.attempts, self.max_retries, jira_out=jira_out)
        if _jira_spoke(error):
            after(self._timeout_rows.clear)
            after(self._jira_answered)
        if decision.verdict == Verdict.DONE:
            if work.kind == WorkKind.PROBE:
                self._settle_probe(outcome, now, after)
            elif work.kind == WorkKind.CREATE:
                self._settle_created(outcome, after)
            else:
                self._settle_updated(outcome, after)
            return
        self._apply_ticket_effect(work, decision)
        if decision.verdict == Verdict.FAIL:
            self._settle_rows(work, LogStatus.FAILED, decision.reason, after, decision.response)
            return
        assert error is not None
        at, prefix = self._when_again(work, decision, error, now)
        attempts = head.attempts + (1 if decision.count_attempt else 0)
        self.store.update_row(head.id, attempts=attempts, next_attempt_at=at, error=prefix + decision.reason)

        def again() -> None:
            head.attempts = attempts
            head.next_attempt_at = at
            self.queues.release(work.guid, now)

        after(again)

    def _timeouts_repeat(self, job_id: int) -> bool:
        """A timeout while others time out too (different rows, no answer between), or in an outage."""
        self._timeout_rows.add(job_id)
        return self.health.outage_strikes > 0 or len(self._timeout_rows) >= 2

    def _jira_answered(self) -> None:
        if self.health.answered():
            log.warning("Jira answers again: sending resumes")

    def _when_again(
        self, work: Work, decision: Decision, error: BaseException, now: datetime
    ) -> tuple[datetime | None, str]:
        """When the head row goes again, and the words its error column gets meanwhile."""
        if decision.verdict == Verdict.STOP:
            assert isinstance(error, JiraAuthError)
            if self.health.refused_credentials(error):
                log.error("Jira answered 401: sending stops until the credentials change")
            return None, ""
        if decision.verdict == Verdict.PAUSE:
            assert isinstance(error, JiraRateLimited)
            until = self.health.rate_limited(error, now, work.guid)
            log.warning(
                "%s: pausing %s until %s",
                error.reason,
                "issue " + work.guid if error.scope == "issue" else "all sending",
                until.isoformat(timespec="milliseconds"),
            )
            return until, "retrying: "
        if decision.verdict == Verdict.PARK:
            assert isinstance(error, JiraUnavailable | JiraTimeout)
            until, began = self.health.unavailable(
                error if isinstance(error, JiraUnavailable) else JiraUnavailable(error.reason), now
            )
            if began:
                wait = (until - now).total_seconds()
                log.warning("Jira is unreachable (%s): all sending waits %.1f s", error.reason, wait)
                if self.health.outage_strikes == 1:
                    self._mark_heads_waiting("waiting for Jira: " + error.reason)
            # Ready at once in memory: the outage pause holds it, and an answer lifts that early.
            return None, "waiting for Jira: "
        if isinstance(error, sqlite3.Error):
            return now + timedelta(seconds=DB_RETRY_BASE), "retrying: "
        attempt = work.head.attempts + 1
        retry_after = getattr(error, "retry_after", None)
        delay = backoff_seconds(attempt, self.retry_base, retry_after, self.retry_cap, self.rand)
        log.info("log #%d: %s; retry %d in %.2f s", work.head.id, decision.reason, attempt, delay)
        return now + timedelta(seconds=delay), "retrying: "

    def _mark_heads_waiting(self, reason: str) -> None:
        """An outage began: every GUID's next row says why it waits (one request tests the water)."""
        for guid in self.queues.guids():
            head = self.queues.head(guid)
            if head is not None and not self.queues.is_busy(guid):
                self.store.update_row(head.id, error=reason)

    def _apply_ticket_effect(self, work: Work, decision: Decision) -> None:
        if work.kind != WorkKind.CREATE or decision.ticket == "keep":
            return
        guid = work.guid
        if decision.ticket == "forget":
            self.store.forget_ticket(guid)
            self._tickets.pop(guid, None)
            return
        # It may have been created: settle by probing before any new create.
        self.store.set_ticket_state(guid, "in_doubt")
        self._tickets[guid] = TicketRecord(guid, "in_doubt", create_log_id=work.head.id)
        self._in_doubt.add(guid)

    def _settle_created(self, outcome: Outcome, after: _After) -> None:
        work = outcome.work
        head = work.head
        created = outcome.created
        assert created is not None
        record = TicketRecord(work.guid, "created", created.id, created.key, created.url, head.id)
        self.store.ticket_created(record)
        self.store.count("create")
        self.store.settle(
            head.id,
            LogStatus.OK,
            ticket=record,
            note="; ".join(work.notes),
            attempts=head.attempts + 1,
            duration_ms=self._duration(head),
            request=work.body,
            response=_answer(created.answer),
        )
        self._remember_ticket(record, after)
        self._pop(work, after)

    def _remember_ticket(self, record: TicketRecord, after: _After) -> None:
        def remember() -> None:
            self._tickets[record.guid] = record
            self._in_doubt.discard(record.guid)

        after(remember)

    def _settle_probe(self, outcome: Outcome, now: datetime, after: _After) -> None:
        work = outcome.work
        head = work.head
        guid = work.guid
        found = outcome.found
        if found is not None:
            record = TicketRecord(guid, "created", found.id, found.key, found.url, head.id)
            self.store.ticket_created(record)
            self._remember_ticket(record, after)
            if work.probe_for == Action.CREATE:
                self.store.count("create")
                self.store.settle(
                    head.id,
                    LogStatus.OK,
                    ticket=record,
                    note=(
                        f"the ticket created earlier was found by its GUID stamp ({found.key});"
                        " not created again"
                    ),
                    attempts=head.attempts + 1,
                    duration_ms=self._duration(head),
                )
                self._pop(work, after)
            else:
                after(lambda: self.queues.release(guid, now))
            return
        ticket = self._ticket(guid)
        if ticket is None and guid not in self._in_doubt:
            # A GUID unknown to the store (probe_unknown_guids): a ticket made with an earlier
            # database is old enough for search to show it, so one miss is proof.
            def unknown() -> None:
                self._unknown_probed.add(guid)
                self.queues.release(guid, now)

            after(unknown)
            return
        probes = (ticket.probes if ticket else 0) + 1
        if probes < PROBE_MISSES_TRUSTED:
            # Search may lag behind creates (Jira Cloud): one miss is not proof.
            self.store.set_ticket_state(guid, "in_doubt", probes)
            again = now + timedelta(seconds=self.probe_delay)

            def later() -> None:
                if ticket is not None:
                    ticket.probes = probes
                head.next_attempt_at = again
                self.queues.release(guid, now)

            after(later)
            return
        if work.probe_for == Action.UPDATE:
            self.store.forget_ticket(guid)
        else:
            self.store.set_ticket_state(guid, "creating", 0)

        def trusted() -> None:
            self._in_doubt.discard(guid)
            if work.probe_for == Action.UPDATE:
                self._tickets.pop(guid, None)
            elif ticket is not None:
                ticket.probes = 0
            self.queues.release(guid, now)

        after(trusted)

    def _settle_updated(self, outcome: Outcome, after: _After) -> None:
        work = outcome.work
        head = work.head
        ticket = self._tickets.get(work.guid)
        self.store.count("update")
        answers = [_answer(a) for a in outcome.answers]
        self.store.settle(
            head.id,
            LogStatus.OK,
            ticket=ticket,
            note="; ".join(work.notes),
            attempts=head.attempts + 1,
            duration_ms=self._duration(head),
            request=work.logged_request,
            response=answers[-1] if len(answers) == 1 else {"answers": answers},
        )
        for job in work.jobs[1:]:
            self.store.settle(
                job.id,
                LogStatus.OK,
                ticket=ticket,
                note=_merged_note(head),
                duration_ms=self._duration(job),
                merged_into=head.id,
            )
        self._pop(work, after)

    def _settle_rows(
        self,
        work: Work,
        status: LogStatus,
        reason: str,
        after: _After,
        response: dict[str, Any] | None = None,
    ) -> None:
        """Settle every row of the work with one status (Failed, with the reason)."""
        head = work.head
        log.warning("log #%d %s %s failed: %s", head.id, head.action, head.guid, reason)
        request = work.logged_request
        for job in work.jobs:
            self.store.settle(
                job.id,
                status,
                error=reason,
                note="; ".join(work.notes) if job is head else _merged_note(head),
                attempts=head.attempts + 1 if job is head else job.attempts,
                duration_ms=self._duration(job),
                request=request if job is head else None,
                response=response,
            )
        self._pop(work, after)

    def _internal_failure(self, work: Work, exc: Exception) -> None:
        """Fail the work's rows with the bug's text; the GUID's later rows go on."""
        after = _After()
        with self.store.transaction():
            self._settle_rows(work, LogStatus.FAILED, f"internal error: {exc!r}", after)
        if work.kind == WorkKind.CREATE or work.guid in self._in_doubt:
            # Whatever reached Jira is unknown: later rows of this GUID probe first.
            self._in_doubt.add(work.guid)
        after.run()

    def _duration(self, job: Job) -> float:
        return max(0.0, (self.clock() - job.time).total_seconds() * 1000.0)

    def _pop(self, work: Work, after: _After) -> None:
        def pop() -> None:
            now = self.clock()
            for job in self.queues.pop(work.guid, [job.id for job in work.jobs]):
                self.delivery.settled(job.id)
                for future in self._settled.pop(job.id, []):
                    if not future.done():
                        future.set_result(None)
            self.queues.release(work.guid, now)

        after(pop)
