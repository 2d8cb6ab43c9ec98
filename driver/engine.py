"""The sending engine: store -> limiter -> Jira -> store, exactly once per GUID.

Ordering and concurrency
    Work is the log's unsettled rows. Rows of one GUID go strictly in id order (one request of a
    GUID in flight at a time); different GUIDs go concurrently, up to `concurrency` requests.
    Queues live in memory (loaded from the store at start, extended by intake), so picking the
    next job never scans SQLite. One wake-up of the loop commits all its writes in one transaction.

Exactly one ticket per GUID, each comment once
    Before a create goes out its intent is committed (tickets.state = creating); before each
    comment's POST, its entry in the comment journal. An outcome left unknown (timeout, lost
    connection, 5xx, or the driver died) puts that create or comment in doubt: the next attempt
    first probes Jira for the GUID's stamp (twice, `probe_delay` apart, before a miss is trusted)
    or looks the comment up on the ticket. The rules (what proves nothing was sent, what counts
    as a match) are in driver.exactly_once.

Outages
    When Jira as a whole cannot be reached (JiraUnavailable), nothing fails and no attempt is
    counted: all sending pauses for a backoff that doubles from `retry_base` up to `outage_cap`
    (Retry-After a minimum), the job waits with "waiting for Jira: <reason>", and jira_state is
    UNREACHABLE. After the pause one request at a time tests the water; the first success ends
    the outage and the queue drains in order. `max_retries` counts only failures of one request.

Rate limits
    Automatic UPDATEs pass the UpdateLimiter; past the limit they become Deferred and, when the
    window allows, all queued UPDATEs of that GUID go out merged as one request. A 429 pauses its
    issue (jira-per-issue-on-write) or everything until Retry-After / X-RateLimit-Reset; with
    X-RateLimit-NearLimit creates are picked before updates. A 401 stops all sending until
    credentials_changed() is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from driver.clock import Clock, utc_now
from driver.commands import Action, ResolvedCommand
from driver.errors import (
    JiraAuthError,
    JiraError,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraUnavailable,
)
from driver.exactly_once import (
    COMMENT_CLOCK_SKEW,
    COMMENT_JOURNAL_KEEP,
    PROBE_MISSES_TRUSTED,
    comment_not_added,
    exact_match,
    find_comment,
    never_sent,
    our_comments,
    people,
)
from driver.fields import FieldCatalog
from driver.limiter import Pauses, UpdateLimiter, backoff_seconds
from driver.schemas import JiraState, LogStatus, LogType
from driver.store import (
    S_CATALOG,
    S_TICKET_TABLE,
    Job,
    NewEntry,
    Store,
    TicketRecord,
)
from driver.ticket_requests import (
    RequestSettings,
    merge_updates,
    plan_requests,
    stamp_create_body,
    stamp_jql,
)
from driver.ticket_table import TicketTable

log = logging.getLogger("driver.engine")


class JiraPort(Protocol):
    """What the engine needs from Jira (driver.jira_client.JiraClient implements it)."""

    near_limit: bool
    api_type: Literal["cloud", "datacenter", "unknown"]

    async def create_issue(self, body: Mapping[str, Any]) -> Any: ...
    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Any: ...
    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Any: ...
    async def list_comments(self, key: str) -> list[dict[str, Any]]: ...
    async def search_by_stamp(self, jql: str, fields: Sequence[str] = ...) -> list[Any]: ...
    async def get_fields(self) -> list[dict[str, Any]]: ...
    async def server_info(self) -> dict[str, Any]: ...
    async def myself(self) -> dict[str, Any]: ...
    async def detect_api_type(self) -> Literal["cloud", "datacenter", "unknown"]: ...


def command_to_json(command: ResolvedCommand) -> dict[str, Any]:
    """A resolved command as stored in a log row's payload."""
    return {
        "guid": command.guid,
        "action": command.action.value,
        "fields": command.fields,
        "comments": list(command.comments),
    }


def command_from_json(data: Mapping[str, Any]) -> ResolvedCommand:
    """The inverse of command_to_json."""
    return ResolvedCommand(
        guid=str(data["guid"]),
        action=Action(str(data["action"])),
        fields=dict(data.get("fields") or {}),
        comments=tuple(data.get("comments") or ()),
    )


def _answer(value: Any) -> Any:
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


# --- outcomes of one unit of work -----------------------------------------------------------------


@dataclass
class _Work:
    """One unit handed to a task: the jobs it settles (the first is the primary)."""

    kind: Literal["create", "update", "probe"]
    jobs: list[Job]
    guid: str
    body: dict[str, Any] | None = None
    key: str = ""
    comments: list[dict[str, Any]] = field(default_factory=list)
    # (log row, index of the comment in that row's command), one per comment: the journal's key.
    comment_refs: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    probe_for: Literal["create", "update"] = "create"
    started: float = 0.0

    @property
    def logged_request(self) -> Any:
        """What the log row keeps as the request sent: the body, or for an update its edit and comments."""
        return {"edit": self.body, "comments": self.comments} if self.kind == "update" else self.body


def _merged_note(head: Job) -> str:
    return f"merged into the request of log #{head.id}"


@dataclass
class _Outcome:
    work: _Work
    created: Any = None
    found: Any = None
    probed: bool = False
    answers: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    # The comment whose POST was on the wire when `error` came.
    comment_in_flight: tuple[int, int] | None = None


class Engine:
    """Sends accepted work to Jira in order per GUID, concurrently across GUIDs."""

    def __init__(
        self,
        store: Store,
        jira: JiraPort,
        limiter: UpdateLimiter,
        *,
        clock: Clock | None = None,
        settings: RequestSettings | None = None,
        table: TicketTable | None = None,
        catalog: FieldCatalog | None = None,
        max_retries: int = 5,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
        probe_delay: float = 5.0,
        concurrency: int = 16,
        outage_cap: float = 60.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.jira = jira
        self.limiter = limiter
        self.clock: Clock = clock or utc_now
        self.settings = settings or RequestSettings()
        self.table = table or TicketTable()
        self.catalog = catalog or FieldCatalog.system()
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.probe_delay = probe_delay
        self.concurrency = concurrency
        self.outage_cap = outage_cap
        self.rand = rand
        self.pauses = Pauses()
        # An outage pause is kept apart from Pauses: a success ends it at once, a 429 pause not.
        self._outage_strikes = 0
        self._outage_until: datetime | None = None
        self.jira_state = JiraState.UNKNOWN
        self.jira_message = ""
        self.auth_failed = False
        self._queues: dict[str, deque[Job]] = {}
        self._busy: set[str] = set()
        self._scheduled: set[str] = set()
        self._ready_create: list[tuple[int, str]] = []
        self._ready_update: list[tuple[int, str]] = []
        self._timed: list[tuple[float, int, str]] = []
        self._tickets: dict[str, TicketRecord | None] = {}
        self._probe: set[str] = set()
        self._edits_sent: dict[int, Any] = {}
        self._me: frozenset[str] | None = None
        self._rate_strikes = 0
        self._done: list[_Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the pending work and in-doubt creates from the store (call once, before run)."""
        for record in self.store.tickets_in(["creating", "in_doubt"]):
            # Whatever was in flight when the driver stopped may have reached Jira.
            self._probe.add(record.guid)
            if record.probes:
                # A miss before the restart may be moments old: the second probe must still come
                # probe_delay after a first one, or a lagging search (Cloud) makes a duplicate.
                self.store.set_ticket_state(record.guid, record.state, 0)
                record.probes = 0
            self._tickets[record.guid] = record
        if self.limiter.enabled:
            # The window of the update limit is in memory: rebuild it from what the log says went
            # out, so a restart does not let a flapping alarm through again at once.
            self.limiter.restore(self.store.recent_updates(self.clock() - self.limiter.interval))
        self._enqueue(self.store.open_jobs())
        self.prune_journal()

    def prune_journal(self) -> None:
        """Forget old entries of the comment journal (at start and with the daily retention)."""
        self.store.prune_comment_journal(COMMENT_JOURNAL_KEEP)

    def start(self) -> None:
        """Start the sending loop as a task of the running event loop."""
        self._loop_task = asyncio.get_running_loop().create_task(self.run(), name="engine")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop sending; let in-flight requests finish for up to `grace` s, park the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        # Cancelled creates stay 'creating' in the store and are probed at the next start;
        # cancelled updates stay Pending and are sent again.
        self._flush()

    def wake(self) -> None:
        """Make the loop look at the queue and the clock now (tests advance a fake clock)."""
        self._wake.set()

    def submit(self, jobs: list[Job]) -> None:
        """Queue jobs the store has just committed."""
        self._enqueue(jobs)
        self._wake.set()

    def credentials_changed(self) -> None:
        """New credentials: resume sending after a 401."""
        if self.auth_failed:
            log.info("credentials changed: sending resumes")
        self.auth_failed = False
        self.jira_state = JiraState.UNKNOWN
        self.jira_message = ""
        self._me = None
        self._wake.set()

    def queue_depth(self) -> int:
        """Jobs not yet settled."""
        return sum(len(q) for q in self._queues.values())

    async def wait_settled(self, log_id: int, seconds: float) -> None:
        """Wait until a row is Ok or Failed, or the timeout passes."""
        if not any(job.id == log_id for q in self._queues.values() for job in q):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(log_id, []).append(future)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, seconds)

    # --- Jira metadata ----------------------------------------------------------------------------

    async def detect(self) -> bool:
        """Settle api_type (auto) and with it how user fields are shaped; False if Jira did not answer."""
        try:
            flavor = await self.jira.detect_api_type()
        except JiraError as exc:
            self._note_error(exc)
            log.warning("cannot ask Jira for its deployment type yet: %s", exc)
            return False
        if flavor in ("cloud", "datacenter") and self.settings.user_style != flavor:
            self.settings = dataclasses.replace(self.settings, user_style=flavor)
        return True

    async def refresh_catalog(self) -> FieldCatalog:
        """Load Jira's field list into the catalog (kept in the store); JiraError if Jira fails."""
        items = await self.jira.get_fields()
        catalog = FieldCatalog.system().with_jira_fields(items)
        # Custom fields someone added by hand (Add Field) stay known even if Jira omits them.
        for definition in self.catalog:
            if definition.custom and catalog.get(definition.id) is None:
                catalog = catalog.with_field(definition)
        self.catalog = catalog
        self.store.put_setting(S_CATALOG, catalog.to_list())
        self.mark_ok()
        return catalog

    def set_table(self, table: TicketTable) -> None:
        """Use and persist a new Ticket Creation Table."""
        self.table = table
        self.store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))

    def manual_entry(self, body: Mapping[str, Any]) -> NewEntry:
        """The log row of an Execute: the Create Query as it stands, stamped with a fresh GUID."""
        guid = f"manual-{uuid.uuid4().hex[:12]}"
        stamped = stamp_create_body(body, guid, self.settings.guid_field, self.settings.guid_label_prefix)
        return NewEntry(LogType.MANUAL, Action.CREATE.value, guid, {"create": stamped, "notes": []})

    def automatic_entry(self, command: ResolvedCommand) -> NewEntry:
        """The log row of an accepted Advanced command (create bodies built now, from the table)."""
        payload: dict[str, Any] = {"command": command_to_json(command)}
        if command.action == Action.CREATE:
            plan = plan_requests(command, self.table, self.settings, self.catalog)
            assert plan.main is not None
            payload["create"] = plan.main.body
            payload["notes"] = list(plan.notes)
        return NewEntry(LogType.AUTOMATIC, command.action.value, command.guid, payload)

    # --- scheduling -----------------------------------------------------------------------------

    def _now_ts(self) -> float:
        return self.clock().timestamp()

    def _enqueue(self, jobs: list[Job]) -> None:
        touched: list[str] = []
        now_ts = self._now_ts()
        with self.store.transaction():
            for job in jobs:
                queue = self._queues.get(job.guid)
                if queue is None:
                    queue = self._queues[job.guid] = deque()
                head = queue[0] if queue else None
                queue.append(job)
                touched.append(job.guid)
                if (
                    head is not None
                    and head.status == LogStatus.DEFERRED
                    and head.next_attempt_at is not None
                    and head.next_attempt_at > now_ts
                    and job.guid not in self._busy
                ):
                    # It waits for the same window as the deferred rows ahead of it (and goes out
                    # merged with them): Pending would tell the operator it is about to go.
                    self._defer_waiting(queue, head.next_attempt_at)
        for guid in touched:
            self._schedule(guid)

    def _defer_waiting(self, queue: deque[Job], moment: float) -> None:
        """Mark the automatic rows at the front of a GUID's queue Deferred until `moment`."""
        for job in queue:
            if job.type != LogType.AUTOMATIC:
                break
            if job.status != LogStatus.DEFERRED or job.next_attempt_at != moment:
                job.status = LogStatus.DEFERRED
                job.next_attempt_at = moment
                self.store.update_row(job.id, status=LogStatus.DEFERRED, next_attempt_at=moment)

    def _schedule(self, guid: str) -> None:
        if guid in self._busy or guid in self._scheduled:
            return
        queue = self._queues.get(guid)
        if not queue:
            self._queues.pop(guid, None)
            return
        head = queue[0]
        self._scheduled.add(guid)
        if head.next_attempt_at is not None and head.next_attempt_at > self._now_ts():
            heapq.heappush(self._timed, (head.next_attempt_at, head.id, guid))
        elif head.action == Action.CREATE.value:
            heapq.heappush(self._ready_create, (head.id, guid))
        else:
            heapq.heappush(self._ready_update, (head.id, guid))

    def _promote_due(self, now_ts: float) -> None:
        while self._timed and self._timed[0][0] <= now_ts:
            _, _, guid = heapq.heappop(self._timed)
            self._scheduled.discard(guid)
            queue = self._queues.get(guid)
            if queue:
                queue[0].next_attempt_at = None
            self._schedule(guid)

    def _pop_ready(self) -> str | None:
        creates, updates = self._ready_create, self._ready_update
        if not creates and not updates:
            return None
        prefer_creates = self.jira.near_limit and bool(creates)
        take_create = prefer_creates or not updates or bool(creates and creates[0] < updates[0])
        source = creates if take_create else updates
        _, guid = heapq.heappop(source)
        self._scheduled.discard(guid)
        return guid

    def _next_wait(self, now_ts: float) -> float | None:
        moments = []
        if self._timed:
            moments.append(self._timed[0][0])
        if self.pauses.all_until is not None:
            moments.append(self.pauses.all_until.timestamp())
        if self._outage_until is not None:
            moments.append(self._outage_until.timestamp())
        if not moments:
            return None
        return max(0.0, min(moments) - now_ts)

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        """The sending loop; returns after stop()."""
        while not self._stopping:
            self._wake.clear()
            self._flush()
            if self._stopping:
                break
            now = self.clock()
            now_ts = now.timestamp()
            self._promote_due(now_ts)
            blocked = (
                self.auth_failed
                or self.pauses.paused_until(None, now) is not None
                or (self._outage_until is not None and self._outage_until > now)
            )
            # While Jira is out, one request tests whether it is back instead of a whole wave.
            limit = 1 if self._outage_strikes else self.concurrency
            if not blocked:
                with self.store.transaction():
                    while len(self._tasks) < limit:
                        guid = self._pop_ready()
                        if guid is None:
                            break
                        try:
                            with self.store.transaction():
                                self._dispatch(guid, now)
                        except Exception as exc:  # a bug must not stop the loop for every GUID
                            log.exception("unexpected error preparing the next job of GUID %s", guid)
                            head = self._queues[guid][0]
                            self._internal_failure(_Work("update", [head], guid), exc)
            timeout = None if blocked and self.auth_failed else self._next_wait(now_ts)
            if self._done:
                continue
            with contextlib.suppress(TimeoutError):
                if timeout is None:
                    await self._wake.wait()
                else:
                    await asyncio.wait_for(self._wake.wait(), timeout + 0.001)

    def _ticket(self, guid: str) -> TicketRecord | None:
        if guid not in self._tickets:
            self._tickets[guid] = self.store.ticket(guid)
        return self._tickets[guid]

    def _dispatch(self, guid: str, now: datetime) -> None:
        queue = self._queues[guid]
        head = queue[0]
        ticket = self._ticket(guid)
        paused = self.pauses.paused_until(guid, now)
        if paused is not None:
            head.next_attempt_at = paused.timestamp()
            self._schedule(guid)
            return
        if guid in self._probe:
            probe_for: Literal["create", "update"] = (
                "create" if head.action == Action.CREATE.value else "update"
            )
            self._launch(_Work("probe", [head], guid, probe_for=probe_for))
            return
        if head.action == Action.CREATE.value:
            if ticket is not None and ticket.state == "created":
                self._dispatch_update(guid, queue, ticket, now, duplicate=True)
                return
            body = head.payload.get("create")
            if not isinstance(body, dict):
                self._settle_now(head, LogStatus.FAILED, "the stored create body is missing")
                return
            self.store.journal_intent(guid, head.id)
            self._tickets[guid] = TicketRecord(guid, "creating", create_log_id=head.id)
            notes = [str(n) for n in head.payload.get("notes") or ()]
            self._launch(_Work("create", [head], guid, body=body, notes=notes))
            return
        if ticket is None or ticket.state != "created" or not ticket.ticket_key:
            if ticket is not None and ticket.state in ("creating", "in_doubt"):
                # The CREATE failed while its outcome was unknown: find out before giving up.
                self._probe.add(guid)
                self._launch(_Work("probe", [head], guid, probe_for="update"))
                return
            self._settle_now(
                head,
                LogStatus.FAILED,
                f"no ticket for GUID {guid!r}: it was never created (or its CREATE failed)",
            )
            return
        self._dispatch_update(guid, queue, ticket, now, duplicate=False)

    def _dispatch_update(
        self,
        guid: str,
        queue: deque[Job],
        ticket: TicketRecord,
        now: datetime,
        duplicate: bool,
    ) -> None:
        head = queue[0]
        key = ticket.ticket_key or ""
        automatic = head.type == LogType.AUTOMATIC
        if automatic:
            allowed = self.limiter.next_allowed(key, now)
            if allowed is not None:
                moment = allowed.timestamp()
                self._defer_waiting(queue, moment)
                head.next_attempt_at = moment
                self._schedule(guid)
                return
        jobs = [head]
        raw = head.payload.get("command")
        if raw is None:
            self._settle_now(head, LogStatus.FAILED, "nothing to update: the stored command is missing")
            return
        command = command_from_json(raw)
        notes: list[str] = []
        if duplicate:
            # The ticket's project and type are settled; a repeated CREATE only refreshes fields.
            fields = {k: v for k, v in command.fields.items() if k not in ("project", "issuetype")}
            command = ResolvedCommand(guid, Action.UPDATE, fields, ())
            notes.append(f"a ticket already exists for this GUID ({key}): updated it instead of creating")
        refs = [(head.id, index) for index in range(len(command.comments))]
        if head.status == LogStatus.DEFERRED and automatic:
            # Everything queued behind a deferred update of this GUID goes out in one request.
            for job in list(queue)[1:]:
                if job.type != LogType.AUTOMATIC or job.action != Action.UPDATE.value:
                    break
                later = job.payload.get("command")
                if later is None:
                    break
                later_command = command_from_json(later)
                command = merge_updates(command, later_command)
                refs.extend((job.id, index) for index in range(len(later_command.comments)))
                jobs.append(job)
            if len(jobs) > 1:
                notes.append(f"merged {len(jobs)} deferred updates into one request")
        settings = self.settings
        if not automatic:
            # protected_fields guard people's edits against automation; a Manual execute is a person
            settings = dataclasses.replace(settings, protected_fields=())
        plan = plan_requests(command, self.table, settings, self.catalog).with_key(key)
        notes.extend(plan.notes)
        if automatic:
            self.limiter.record(key, now)
        self._launch(
            _Work(
                "update",
                jobs,
                guid,
                body=plan.main.body if plan.main else None,
                key=key,
                comments=[c.body for c in plan.comments],
                comment_refs=refs
                if len(refs) == len(plan.comments)
                else [(head.id, i) for i in range(len(plan.comments))],
                notes=notes,
            )
        )

    def _settle_now(self, job: Job, status: LogStatus, error: str) -> None:
        self.store.settle(job.id, status, error=error, duration_ms=self._duration(job), attempts=job.attempts)
        if status == LogStatus.FAILED:
            log.warning("log #%d %s %s failed: %s", job.id, job.action, job.guid, error)
        self._pop(job.guid, [job])

    def _duration(self, job: Job) -> float:
        return max(0.0, (self.clock() - job.time).total_seconds() * 1000.0)

    def _pop(self, guid: str, jobs: list[Job]) -> None:
        queue = self._queues.get(guid)
        ids = {job.id for job in jobs}
        if queue is not None:
            while queue and queue[0].id in ids:
                queue.popleft()
        for job_id in ids:
            self._edits_sent.pop(job_id, None)
            for future in self._waiters.pop(job_id, []):
                if not future.done():
                    future.set_result(None)
        self._busy.discard(guid)
        self._schedule(guid)

    def _launch(self, work: _Work) -> None:
        self._busy.add(work.guid)
        work.started = self._now_ts()
        task = asyncio.get_running_loop().create_task(self._perform(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _perform(self, work: _Work) -> None:
        outcome = _Outcome(work)
        try:
            if work.kind == "probe":
                settings = self.settings
                jql = stamp_jql(work.guid, settings.guid_field, settings.guid_label_prefix)
                found = await self.jira.search_by_stamp(jql, [settings.guid_field or "labels"])
                outcome.probed = True
                outcome.found = self._exact_match(work.guid, found)
            elif work.kind == "create":
                assert work.body is not None
                outcome.created = await self.jira.create_issue(work.body)
            else:
                head_id = work.jobs[0].id
                # A retry re-sends the edit unless this very body already went out: rows merged in
                # since the last attempt change it, and skipping it would lose their fields.
                if work.body is not None and self._edits_sent.get(head_id) != work.body:
                    outcome.answers.append(await self.jira.edit_issue(work.key, work.body))
                    self._edits_sent[head_id] = work.body
                await self._send_comments(work, outcome)
        except JiraError as exc:
            outcome.error = exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the loop or lose the job
            log.exception("unexpected error sending log #%d", work.jobs[0].id)
            outcome.error = exc
        self._done.append(outcome)
        self._wake.set()

    async def _send_comments(self, work: _Work, outcome: _Outcome) -> None:
        """Post the work's comments, each exactly once across retries, timeouts and crashes.

        The journal (store.comment_sends) is written outside the loop's transactions, so each
        write commits at once: the intent before the POST, 'sent' with Jira's id after the 201.
        A comment still 'sending' when its work comes round again is in doubt (a timeout, a lost
        answer, a 5xx, or the process died with the POST on the wire) and is looked up on the
        ticket before anything is posted.
        """
        journal = self.store.comment_journal(sorted({ref[0] for ref in work.comment_refs}))
        in_doubt = [i for i, ref in enumerate(work.comment_refs) if journal.get(ref) == "sending"]
        if in_doubt:
            await self._settle_comments_in_doubt(work, in_doubt, journal)
        for comment, ref in zip(work.comments, work.comment_refs, strict=True):
            if journal.get(ref) == "sent":
                continue
            self.store.journal_comment(ref[0], ref[1], work.key)
            outcome.comment_in_flight = ref
            answer = await self.jira.add_comment(work.key, comment)
            outcome.comment_in_flight = None
            body = getattr(answer, "body", None)
            comment_id = str(body["id"]) if isinstance(body, dict) and "id" in body else None
            self.store.comment_sent(ref[0], ref[1], work.key, comment_id)
            journal[ref] = "sent"
            outcome.answers.append(answer)

    async def _settle_comments_in_doubt(
        self, work: _Work, in_doubt: list[int], journal: dict[tuple[int, int], str]
    ) -> None:
        """Look for in-doubt comments on the ticket: found -> 'sent', missing -> sent afresh.

        A match is a comment by the driver's Jira user, created at or after the intake of the
        row it belongs to (less COMMENT_CLOCK_SKEW for Jira's clock), with the same text (ADF
        compared by its text), and not one the driver already knows it posted (a flapping alarm
        repeats the same comment text). Reading comments is consistent, unlike search: one
        miss is proof.
        """
        me = await self._identity()
        posted = await self.jira.list_comments(work.key)
        candidates = our_comments(posted, me, self.store.our_comment_ids(work.key))
        intake = {job.id: job.time for job in work.jobs}
        for index in in_doubt:
            ref = work.comment_refs[index]
            since = intake.get(ref[0], work.jobs[0].time) - COMMENT_CLOCK_SKEW
            match = find_comment(candidates, work.comments[index].get("body"), since)
            if match is None:
                self.store.forget_comment(ref[0], ref[1])
                journal.pop(ref, None)
                continue
            candidates.remove(match)
            self.store.comment_sent(ref[0], ref[1], work.key, match.id)
            journal[ref] = "sent"
            work.notes.append(
                f"comment {index + 1} was already on {work.key} (comment {match.id}): not posted again"
            )

    async def _identity(self) -> frozenset[str]:
        if self._me is None:
            self._me = people(await self.jira.myself())
        return self._me

    def _exact_match(self, guid: str, found: list[Any]) -> Any:
        """The hit that carries exactly this GUID's stamp, if any (see exactly_once.exact_match)."""
        return exact_match(guid, found, self.settings.guid_field, self.settings.guid_label_prefix)

    # --- settling -------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._done:
            return
        done, self._done = self._done, []
        with self.store.transaction():
            for outcome in done:
                try:
                    with self.store.transaction():
                        self._settle(outcome)
                except Exception as exc:  # a bug must not stop the loop: everything queued would wait
                    log.exception(
                        "unexpected error recording the outcome of log #%d", outcome.work.jobs[0].id
                    )
                    self._internal_failure(outcome.work, exc)

    def mark_ok(self) -> None:
        """Jira answered properly: clear an unreachable/unknown state and end an outage."""
        if self._outage_strikes:
            log.warning("Jira answers again: sending resumes")
            self._outage_strikes = 0
            self._outage_until = None
            self._wake.set()
        if self.jira_state != JiraState.OK:
            self.jira_state = JiraState.OK
            self.jira_message = ""

    def _note_error(self, exc: BaseException) -> None:
        if isinstance(exc, JiraAuthError):
            return
        if isinstance(exc, JiraUnavailable):
            self.jira_state = JiraState.UNREACHABLE
            self.jira_message = exc.reason

    def _settle(self, outcome: _Outcome) -> None:
        work = outcome.work
        head = work.jobs[0]
        guid = work.guid
        now = self.clock()
        error = outcome.error
        if error is None:
            self.mark_ok()
            self._rate_strikes = 0
            if work.kind == "probe":
                self._settle_probe(outcome, now)
            elif work.kind == "create":
                created = outcome.created
                record = TicketRecord(guid, "created", created.id, created.key, created.url, head.id)
                self.store.ticket_created(record)
                self._tickets[guid] = record
                self._probe.discard(guid)
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
                self._pop(guid, [head])
            else:
                self._settle_update_ok(outcome)
            return
        self._note_error(error)
        if outcome.comment_in_flight is not None and comment_not_added(error):
            # Jira refused it, or it never left: that comment is not on the ticket, no lookup needed.
            self.store.forget_comment(*outcome.comment_in_flight)
        if isinstance(error, JiraAuthError):
            if not self.auth_failed:
                log.error("Jira answered 401: sending stops until the credentials change")
            self.auth_failed = True
            self.jira_state = JiraState.AUTH_FAILED
            self.jira_message = (
                f"Jira answered 401 ({error.message}): check the credentials; nothing is sent"
                " until they change"
            )
            self._retry_later(work, None, count_attempt=False)
            return
        if isinstance(error, JiraRateLimited):
            self._rate_strikes += 1
            delay = backoff_seconds(
                self._rate_strikes, self.retry_base, error.retry_after, self.retry_cap, self.rand
            )
            until = now + timedelta(seconds=delay)
            if error.scope == "issue":
                self.pauses.pause_issue(guid, until)
            else:
                self.pauses.pause_all(until, error.reason_header or "rate limited")
                self.jira_state = JiraState.PAUSED
                self.jira_message = f"Jira rate limit ({error.reason_header or '429'}): paused"
            log.warning(
                "%s: pausing %s for %.1f s",
                error.reason,
                "issue " + guid if error.scope == "issue" else "all sending",
                delay,
            )
            self._retry_later(work, until.timestamp(), count_attempt=False, reason=error.reason)
            return
        if isinstance(error, JiraUnavailable):
            self._park_for_outage(work, error, now)
            return
        if isinstance(error, JiraRetryable):
            if work.kind == "create":
                # It may have been created: settle by probing before any new create.
                self.store.set_ticket_state(guid, "in_doubt")
                self._tickets[guid] = TicketRecord(guid, "in_doubt", create_log_id=head.id)
                self._probe.add(guid)
            attempts = head.attempts + 1
            if attempts > self.max_retries:
                self._fail(work, f"{error.reason} (gave up after {attempts} attempts)", attempts)
                return
            delay = backoff_seconds(attempts, self.retry_base, error.retry_after, self.retry_cap, self.rand)
            log.info("log #%d: %s; retry %d in %.2f s", head.id, error.reason, attempts, delay)
            self._retry_later(work, now.timestamp() + delay, count_attempt=True, reason=error.reason)
            return
        if isinstance(error, JiraRejected):
            if work.kind == "create":
                self.store.forget_ticket(guid)
                self._tickets.pop(guid, None)
            self._fail(
                work,
                str(error),
                head.attempts + 1,
                response={
                    "status": error.status,
                    "body": {"errorMessages": error.error_messages, "errors": error.errors},
                },
            )
            return
        self._fail(work, f"internal error: {error}", head.attempts + 1)

    def _park_for_outage(self, work: _Work, error: JiraUnavailable, now: datetime) -> None:
        """Jira is down: pause all sending, keep the job as it is (no attempt counted)."""
        guid = work.guid
        if work.kind == "create":
            if never_sent(error):
                # No connection was made: no ticket exists, so the next attempt simply creates.
                self.store.forget_ticket(guid)
                self._tickets.pop(guid, None)
            else:
                # A gateway's 502/504 (or a 503) may come after Jira took the create: probe first.
                self.store.set_ticket_state(guid, "in_doubt")
                self._tickets[guid] = TicketRecord(guid, "in_doubt", create_log_id=work.jobs[0].id)
                self._probe.add(guid)
        if self._outage_until is None or self._outage_until <= now:
            # Requests in flight when the outage began fail alike: only the first one backs off.
            self._outage_strikes += 1
            delay = backoff_seconds(
                self._outage_strikes, self.retry_base, error.retry_after, self.outage_cap, self.rand
            )
            self._outage_until = now + timedelta(seconds=delay)
            log.warning("Jira is unreachable (%s): all sending waits %.1f s", error.reason, delay)
        elif error.retry_after is not None:
            self._outage_until = max(self._outage_until, now + timedelta(seconds=error.retry_after))
        # Ready at once in memory: the outage pause holds it, and a success lifts that pause early.
        self._retry_later(work, None, count_attempt=False, reason=error.reason, prefix="waiting for Jira: ")

    def _settle_probe(self, outcome: _Outcome, now: datetime) -> None:
        work = outcome.work
        head = work.jobs[0]
        guid = work.guid
        found = outcome.found
        if found is not None:
            record = TicketRecord(guid, "created", found.id, found.key, found.url, head.id)
            self.store.ticket_created(record)
            self._tickets[guid] = record
            self._probe.discard(guid)
            if work.probe_for == "create":
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
                self._pop(guid, [head])
            else:
                self._busy.discard(guid)
                self._schedule(guid)
            return
        ticket = self._ticket(guid)
        probes = (ticket.probes if ticket else 0) + 1
        if probes < PROBE_MISSES_TRUSTED:
            # Search may lag behind creates (Jira Cloud): one miss is not proof.
            self.store.set_ticket_state(guid, "in_doubt", probes)
            if ticket is not None:
                ticket.probes = probes
            head.next_attempt_at = now.timestamp() + self.probe_delay
            self._busy.discard(guid)
            self._schedule(guid)
            return
        self._probe.discard(guid)
        if work.probe_for == "update":
            self.store.forget_ticket(guid)
            self._tickets.pop(guid, None)
            self._busy.discard(guid)
            self._schedule(guid)
            return
        self.store.set_ticket_state(guid, "creating", 0)
        if ticket is not None:
            ticket.probes = 0
        self._busy.discard(guid)
        self._schedule(guid)

    def _settle_update_ok(self, outcome: _Outcome) -> None:
        work = outcome.work
        head = work.jobs[0]
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
        self._pop(work.guid, work.jobs)

    def _internal_failure(self, work: _Work, exc: Exception) -> None:
        """Fail the work's rows with the bug's text; the GUID's later rows go on."""
        if work.kind == "create" or work.guid in self._probe:
            # Whatever reached Jira is unknown: later rows of this GUID probe first.
            self._probe.add(work.guid)
        with self.store.transaction():
            self._fail(work, f"internal error: {exc!r}", work.jobs[0].attempts + 1)

    def _retry_later(
        self,
        work: _Work,
        at: float | None,
        *,
        count_attempt: bool,
        reason: str = "",
        prefix: str = "retrying: ",
    ) -> None:
        head = work.jobs[0]
        if count_attempt:
            head.attempts += 1
        head.next_attempt_at = at
        values: dict[str, Any] = {"attempts": head.attempts, "next_attempt_at": at}
        if reason:
            values["error"] = prefix + reason
        self.store.update_row(head.id, **values)
        self._busy.discard(work.guid)
        self._schedule(work.guid)

    def _fail(self, work: _Work, reason: str, attempts: int, response: Any = None) -> None:
        head = work.jobs[0]
        log.warning("log #%d %s %s failed: %s", head.id, head.action, head.guid, reason)
        request = work.logged_request
        for job in work.jobs:
            self.store.settle(
                job.id,
                LogStatus.FAILED,
                error=reason,
                note="; ".join(work.notes) if job is head else _merged_note(head),
                attempts=attempts if job is head else job.attempts,
                duration_ms=self._duration(job),
                request=request if job is head else None,
                response=response,
            )
        self._pop(work.guid, work.jobs)
