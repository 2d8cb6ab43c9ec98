"""The sending engine: a fixed pool of workers that take ready rows, send them, and record the outcome.

The loop
    Worker coroutines (`concurrency` and an eighth more, at least 2) each repeat: take the next row
    (`_take`), deliver its request (driver.sending.delivery), record the outcome (`_record`,
    driver.sending.recording). At most `concurrency` requests are in flight: one leaves the count
    when Jira answers, so a spare worker sends the next while its outcome is committed. A worker
    that finds nothing ready waits for a wake-up future or the next moment something is due; every
    change that can make work ready resolves all those futures, with no await between the check
    and the registration, so no wake-up is lost and a settled wave needs no one to notice it.

What decides readiness, each in its own module
    sending.queues        per-GUID order (one request per GUID at a time, in id order), timing
    jira.health           outages, 429 pauses, 401 stops, and how many requests may be in flight
    sending.planning      what a GUID's head row sends (create, update with merged deferred rows,
                          probe, transition), or why it waits (update limit, hold, field list)
    sending.known_tickets the ticket records and the GUIDs in doubt that planning reads
An outcome: sending.verdicts (what it means), .recording (writes it), .retries (when again).

The database: every decision is committed before memory follows it (sending.work.After), the
writes of one loop turn in one transaction (sending.group_commit). A write that fails leaves memory
as it was; the worker tries the same step again with a backoff while GET /api/status says
"database unavailable: <reason>". A row is never failed for the driver's own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from driver.clock import Clock, Timer, instant_of, monotonic_now, utc_now, wall_of
from driver.contract.schemas import LogStatus, LogType
from driver.jira.health import JiraHealth
from driver.model.commands import Action
from driver.model.jobs import Job, TicketRecord
from driver.model.request_setup import RequestSetup
from driver.model.stamps import STAMP_BATCH
from driver.sending.delivery import Delivery, JiraPort
from driver.sending.exactly_once import COMMENT_JOURNAL_KEEP
from driver.sending.group_commit import GroupCommit
from driver.sending.intents import intent_written, write_intent
from driver.sending.known_tickets import KnownTickets
from driver.sending.limiter import UpdateLimiter
from driver.sending.planning import plan_next
from driver.sending.plans import Cancel, Hold, Refuse
from driver.sending.queues import GuidQueues
from driver.sending.recording import Recorder
from driver.sending.retries import CREDENTIALS_REFUSED, DatabaseTrouble
from driver.sending.wakeups import Wakeups
from driver.sending.work import LIMITED, After, Outcome, Work, WorkKind
from driver.store import Store
from driver.store.database_file import PROBE_ALWAYS

log = logging.getLogger("driver.engine")


class Engine:
    """Sends accepted rows to Jira in order per GUID, concurrently across GUIDs."""

    def __init__(
        self,
        store: Store,
        jira: JiraPort,
        limiter: UpdateLimiter,
        setup: RequestSetup | None = None,
        health: JiraHealth | None = None,
        *,
        clock: Clock | None = None,
        timer: Timer | None = None,
        max_retries: int = 5,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
        probe_delay: float = 5.0,
        concurrency: int = 16,
        outage_cap: float = 60.0,
        rand: Callable[[], float] = random.random,
        probe_unknown_guids: bool = False,
        probe_unknown_until: datetime | None = None,
    ) -> None:
        self.store = store
        self.jira = jira
        self.limiter = limiter
        self.setup = setup or RequestSetup()
        self.health = health or JiraHealth(
            retry_base=retry_base, outage_cap=outage_cap, rate_cap=retry_cap, rand=rand
        )
        self.clock: Clock = clock or utc_now
        self.timer: Timer = timer or monotonic_now
        self.concurrency = max(1, concurrency)
        self.rand = rand
        self.queues = GuidQueues()
        self.delivery = Delivery(jira, store)
        self.database = DatabaseTrouble(rand)
        self.probe_unknown_until: datetime | None = (
            PROBE_ALWAYS if probe_unknown_guids else probe_unknown_until
        )
        """Until when (the engine's wall clock) a GUID with no ticket record is in doubt until one
        stamp search: a new database (its first days), or one taken over with `run --init`, may
        not know tickets created earlier (driver.store.database_file.settle). None: never."""
        self._probes: list[Work] = []
        """Probes of GUIDs never seen, waiting for their batched search (at most STAMP_BATCH each)."""
        self._probe_task: asyncio.Task[None] | None = None
        self.tickets = KnownTickets(store, self.queues)
        self.recorder = Recorder(
            store,
            self.queues,
            self.health,
            self.delivery,
            self.tickets,
            clock=self.clock,
            timer=self.timer,
            settled=self._row_settled,
            max_retries=max_retries,
            retry_base=retry_base,
            retry_cap=retry_cap,
            probe_delay=probe_delay,
            rand=rand,
        )
        self._may_send: Callable[[], bool] = lambda: True  # send_while
        self._commits = GroupCommit.on(store)
        self._in_flight = 0
        self._idle = Wakeups()
        self._settled: dict[int, list[asyncio.Future[None]]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False

    def send_while(self, may_send: Callable[[], bool]) -> None:
        """Ask `may_send` before each request goes (a pair's leader: while it holds the lease)."""
        self._may_send = may_send

    def probe_unknown_while(self, until: datetime | None) -> None:
        """GUIDs unknown to the store are searched for until `until` (see probe_unknown_until;
        PROBE_ALWAYS: with no end, as after `run --init`)."""
        self.probe_unknown_until = until

    # --- lifecycle ------------------------------------------------------------------------------

    def load(self, through: int | None = None) -> None:
        """Load the open rows (ids up to `through`, None: all) and in-doubt creates from the
        store (call once, before start)."""
        self.tickets.load()
        wall, now = self.clock(), self.timer()
        if self.limiter.enabled:
            # the limit's window is in memory: rebuilt from the log (a restart must not let a
            # flapping alarm through at once), wall times clamped (a moved clock cannot lengthen it)
            interval = self.limiter.interval
            self.limiter.restore(
                (sent.ticket_key, instant_of(sent.at, wall, now, interval))
                for sent in self.store.recent_updates(wall - interval)
            )
        jobs = self.store.open_jobs(through=through)
        for job in jobs:  # the resolve hold runs from intake (never negative: a clock set back)
            job.taken(now - max(timedelta(0), wall - job.time))
        self.submit(jobs)
        self.prune_journal()

    def prune_journal(self) -> None:
        """Forget old entries of the comment journal (at start and with the daily retention)."""
        self.store.prune_comment_journal(COMMENT_JOURNAL_KEEP)

    def start(self) -> None:
        """Start the workers as tasks of the running event loop."""
        loop = asyncio.get_running_loop()
        workers = self.concurrency + max(2, self.concurrency // 8)
        self._workers = [loop.create_task(self._worker(), name=f"engine-{n}") for n in range(workers)]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop sending: requests in flight get `grace` s to finish and be recorded; the rest stay
        open (a create cut off stays journaled and is probed at the next start)."""
        self._stopping = True
        self._idle.all()
        tasks = [*self._workers, *([self._probe_task] if self._probe_task is not None else [])]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
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
        now = self.timer()
        for job in jobs:
            if job.accepted_at is None:
                job.taken(now)
        # Behind a 401 nothing leaves before new credentials: a new head row says so.
        refused = {job.id for job in jobs} if self.health.auth_failed else set()
        for guid in self.queues.add(jobs, now):
            queue = self.queues.queue(guid)
            head = queue[0]
            if head.id in refused and not self.queues.is_busy(guid):
                with contextlib.suppress(sqlite3.OperationalError):
                    self.store.note_error(head.id, CREDENTIALS_REFUSED)
            if head.action == Action.RESOLVE and len(queue) > 1:
                # A RESOLVE in its hold is taken back by a later CREATE/UPDATE/REOPEN: look now.
                self.queues.wake(guid, now)
            self._defer_behind(guid, now)
        self._idle.all()

    def _defer_behind(self, guid: str, now: datetime) -> None:
        """Rows behind a Deferred head wait for its window, merged with it (Pending would say they
        are about to go); a GUID out at Jira is looked at again once its outcome is recorded."""
        head, until = self.queues.head(guid), self.queues.waiting_until(guid)
        if head is None or head.status != LogStatus.DEFERRED or until is None or until <= now:
            return
        if not self.queues.is_busy(guid):
            with contextlib.suppress(sqlite3.OperationalError):
                self._mark_deferred(guid, until)

    def wall_of(self, instant: datetime) -> datetime:
        """The wall time of an instant of the engine's timer, for people (status, a Deferred row)."""
        return wall_of(instant, self.clock(), self.timer())

    def wake(self, deferred: bool = False) -> None:
        """Look at the queue and the clock now (tests advance a fake clock, settings change);
        `deferred`: the update limit changed, so its Deferred rows are planned again now."""
        if deferred:
            self.queues.wake_where(self.timer(), lambda head: head.status == LogStatus.DEFERRED)
        self._idle.all()

    def credentials_changed(self) -> None:
        """New credentials: sending resumes after a 401 (one canary request first)."""
        if self.health.auth_failed:
            log.info("credentials changed: sending resumes")
        self.health.credentials_changed()
        self.delivery.forget_identity()
        self._idle.all()

    def ticket_changed(self, record: TicketRecord) -> None:
        """Sync stored what Jira says of a GUID's ticket (a person resolved or deleted it): the GUID's
        next rows are planned with it."""
        self.tickets.changed(record)
        self._idle.all()

    def ticket_unlinked(self, guid: str) -> None:
        """The store ended the GUID's ticket (Alarms table, unlink): its next CREATE makes a new one."""
        self.tickets.forget(guid)

    def mark_ok(self) -> None:
        """Jira answered properly outside the engine (check, field list): an outage ends."""
        if self.health.answered():
            log.warning("Jira answers again: sending resumes")
        self._idle.all()

    def queue_depth(self) -> int:
        """Rows not yet settled."""
        return len(self.queues)

    @property
    def idle(self) -> bool:
        """Every worker waits and nothing is at Jira: only new work, time or a change moves it."""
        return self._in_flight == 0 and not self._probes and len(self._idle) == len(self._workers) > 0

    @property
    def db_problem(self) -> str:
        """Why the database refused the engine's last write ('' when it works)."""
        return self.database.problem

    @property
    def commits(self) -> int:
        """Transactions the workers' group commit has committed since start."""
        return self._commits.commits

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

    async def _worker(self) -> None:
        while True:
            work = await self._next_work()
            if work is None:
                return
            if work.journals_first and not await self._journal(work):
                continue
            if not self._may_send():  # past a pair's lease: open for the next leader (who probes)
                self._give_back(work.guid)
                return
            outcome = await self.delivery.deliver(work, self.setup.settings)
            # Jira answered: its place goes to a spare worker while the outcome is committed
            self._in_flight -= 1
            self._idle.one()
            await self._record(outcome)

    async def _journal(self, work: Work) -> bool:
        """Commit the work's intent before its request (driver.sending.intents); False when the
        database refused it, the GUID given back with nothing sent."""
        guid = work.guid
        try:
            await self._commits.run(lambda: write_intent(self.store, work))
        except sqlite3.OperationalError as exc:
            # Counted as sent by the pacing when it was taken: one phantom send only slows the
            # next second a little, and a full disk is no time to send faster.
            self._give_back(guid)
            await self.database.wait(exc)
            return False
        intent_written(work, self.tickets)
        return True

    def _give_back(self, guid: str) -> None:
        """The GUID's work was taken and not sent: its head row waits in its queue again."""
        self._in_flight -= 1
        self.queues.release(guid, self.timer())
        self._idle.all()

    async def _next_work(self) -> Work | None:
        while not self._stopping:
            now = self.timer()
            try:
                work = self._take(now)
            except sqlite3.OperationalError as exc:
                await self.database.wait(exc)
                continue
            if work is not None:
                return work
            # every place in flight taken: only an answer (`one`) can let this worker send
            full = 0 < self._in_flight >= self.health.send_limit(self.concurrency)
            future = self._idle.register(for_place=full)
            due = self._next_moment(now)
            await self._idle.wait(
                future, None if due is None else max(0.0, (due - now).total_seconds()) + 0.001
            )
        return None

    def _next_moment(self, now: datetime) -> datetime | None:
        moments = [m for m in (self.queues.next_due(), self.health.blocked_until(now)) if m is not None]
        if self.health.auth_failed:
            return None  # until the credentials change
        return min(moments) if moments else None

    # --- taking work ----------------------------------------------------------------------------

    def _take(self, now: datetime) -> Work | None:
        self.queues.promote_due(now)
        self.health.follow(self.jira.rate_hint, self.jira.bucket, self._in_flight, now)
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
                    self.recorder.internal_failure(Work(WorkKind.UPDATE, [head], guid), exc)
                except sqlite3.OperationalError:
                    self.queues.release(guid, now)
                    raise
                continue
            if work is not None and work.batched:
                self._probes.append(work)
                self._start_probes()
                continue
            if work is not None:
                self._in_flight += 1
                self.health.sent(now)
                self.database.ok()
                return work
        return None

    def _prepare(self, guid: str, now: datetime) -> Work | None:
        """The head row's request, or None after holding or refusing it (the GUID released)."""
        queue = self.queues.queue(guid)
        head = queue[0]
        paused = self.health.issue_paused_until(guid, now)
        if paused is not None:
            self.queues.release(guid, now, paused)
            return None
        ticket, known = self.tickets.ticket_or_generation(guid)
        wall = self.clock()  # `now` is the timer's; the probe window and the reopen window are wall times
        until = self.probe_unknown_until
        in_doubt = self.tickets.is_in_doubt(guid, ticket, until is not None and wall < until)
        plan = plan_next(queue, ticket, in_doubt, self.setup, self.limiter, now, known, wall=wall)
        if isinstance(plan, Hold):
            with self.store.transaction():
                if plan.defer:
                    self._mark_deferred(guid, plan.until)
                elif plan.reason:
                    self.store.note_error(head.id, plan.reason)
            self.queues.release(guid, now, plan.until)
            return None
        if isinstance(plan, Refuse):
            self.recorder.refuse(Work(WorkKind.UPDATE, [head], guid), plan.reason)
            return None
        if isinstance(plan, Cancel):
            self.recorder.cancel(Work(WorkKind.TRANSITION, [head], guid), plan.reason)
            return None
        work = plan.work
        if work.kind == WorkKind.PROBE and ticket is None and not self.tickets.created_in_doubt(guid):
            # No record, no create of ours in doubt: search with other new GUIDs, for the stamp the
            # create would carry (a forgotten GUID's old ticket is not this one). A create the
            # driver made in doubt keeps its own probes (docs/wire-facts.md §5).
            work = replace(work, batched=True, generation=known + 1)
        if work.kind in LIMITED and work.automatic and not work.continues:
            # A reopen before an update counts once, with the update it makes way for.
            self.limiter.record(work.limit_key, now)
            work = replace(work, limited_at=now)
        return work

    def _mark_deferred(self, guid: str, moment: datetime) -> None:
        """Mark the automatic rows at the front of a GUID's queue Deferred until `moment`."""
        for job in self.queues.queue(guid):
            if job.type != LogType.AUTOMATIC:
                break
            if job.status != LogStatus.DEFERRED or job.deferred_until != moment:
                self.store.defer(job.id, self.wall_of(moment))
                job.defer(moment)

    # --- recording outcomes ---------------------------------------------------------------------

    def _start_probes(self) -> None:
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.get_running_loop().create_task(self._probe_batches())

    async def _probe_batches(self) -> None:
        """Search for the waiting probes' stamps, STAMP_BATCH GUIDs a search, one search at a time
        (probes queued meanwhile go in the next), each outcome recorded like a lone probe's. A
        search counts in flight and in the pacing; Jira blocked: the GUIDs wait like any row."""
        while self._probes and not self._stopping and self._may_send():
            now = self.timer()
            if self.health.blocked_until(now) is not None:
                waiting, self._probes = self._probes, []
                for work in waiting:
                    self.queues.release(work.guid, now)
                self._idle.all()
                return
            batch, self._probes = self._probes[:STAMP_BATCH], self._probes[STAMP_BATCH:]
            self._in_flight += 1
            self.health.sent(now)
            try:
                outcomes = await self.delivery.probe_batch(batch, self.setup.settings)
                for outcome in outcomes:
                    await self._record(outcome)
            finally:
                # after the outcomes are recorded: `idle` must not say so while they are not
                self._in_flight -= 1
            self._idle.all()

    async def _record(self, outcome: Outcome) -> None:
        """Commit the outcome, then let memory follow; a database error is retried, never dropped."""
        while True:
            try:
                after = await self._commits.run(lambda: self.recorder.record(outcome))
            except sqlite3.OperationalError as exc:
                await self.database.wait(exc)
                continue
            except Exception as exc:  # a bug must not stop the worker
                log.exception("unexpected error recording the outcome of log #%d", outcome.work.head.id)
                after = After()
                try:
                    self.recorder.internal_failure(outcome.work, exc)
                except sqlite3.OperationalError as db_exc:
                    await self.database.wait(db_exc)
                    continue
            break
        self.database.ok()
        work = outcome.work
        nothing_sent = work.kind == WorkKind.TRANSITION and outcome.error is None and not outcome.transitioned
        if work.limited_at is not None and (outcome.error is not None or nothing_sent):
            self.limiter.unrecord(work.limit_key, work.limited_at)
        after.run()
        self._defer_behind(work.guid, self.timer())
        self._idle.ready()
        self._idle.places(self.health.send_limit(self.concurrency) - self._in_flight)

    def _row_settled(self, log_id: int) -> None:
        """A row left its queue Ok or Failed: wake whoever waits for it (wait_settled)."""
        for future in self._settled.pop(log_id, []):
            if not future.done():
                future.set_result(None)
