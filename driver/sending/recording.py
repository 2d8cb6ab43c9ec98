"""Recording outcomes: a settlement decision applied to the store, then to memory (I/O: SQLite).

The engine (driver.sending.engine) hands every Outcome of driver.sending.delivery to
`Recorder.record`, which asks driver.sending.verdicts what it means and writes it:

    done     the row Ok with the request and Jira's answer (merged rows Ok, pointing at the head),
             the ticket record for a create or a probe that found it, the day's statistics
    retry    attempts, the next attempt's time and the reason in the row's error column
    fail     every row of the work Failed with the reason (and Jira's answer for a 4xx, and the
             ticket it was for); a CALL not marked idempotent whose outcome is unknown too
    park, pause, stop  Jira's health learns of it, the row waits (driver.sending.retries)

What a create's outcome says about its ticket (sending.exactly_once) goes to the store, and after
the commit to the engine's memory of it (sending.known_tickets).

Every decision is committed before memory follows it: the writes of one outcome are one
transaction, and what memory does with them (the rows leave their queue, the GUID's next row
becomes ready, the ticket record changes, waiters wake) is collected as `After` steps that run only
once the transaction has committed. A write that fails raises sqlite3.OperationalError with memory
as it was, so the engine can try the same step again.
"""

from __future__ import annotations

import collections
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from driver.clock import Clock, Timer, monotonic_now, wall_of
from driver.contract.schemas import LogStatus
from driver.errors import JiraRetryable, JiraTimeout
from driver.jira.health import JiraHealth
from driver.model.commands import Action
from driver.model.jobs import Job, LoggedRequest, TicketRecord, TicketState
from driver.model.lifecycle import after_transition
from driver.model.statistics import Statistic
from driver.sending.delivery import Delivery
from driver.sending.exactly_once import PROBE_MISSES_TRUSTED, comment_not_added
from driver.sending.known_tickets import KnownTickets
from driver.sending.log_notes import answer_json, body_field, log_failed, merged_note, row_event
from driver.sending.queues import GuidQueues
from driver.sending.retries import Retries, jira_spoke
from driver.sending.verdicts import Decision, Verdict, decide_for
from driver.sending.work import After, Outcome, Work, WorkKind
from driver.store import Store

# These lines were the engine's before recording had a module of its own: log filters keep working.
log = logging.getLogger("driver.engine")


class Recorder:
    """Writes what each outcome means to the store, then lets memory follow.

    `settled(log_id)` is called for every row once it has left its queue (the engine wakes the
    callers of wait_settled with it). `max_retries` counts failed attempts of one row;
    `retry_base`/`retry_cap` (s) bound its backoff; `probe_delay` (s) separates the stamp searches
    of one create (search lags behind creates on Jira Cloud).
    """

    def __init__(
        self,
        store: Store,
        queues: GuidQueues,
        health: JiraHealth,
        delivery: Delivery,
        tickets: KnownTickets,
        *,
        clock: Clock,
        timer: Timer = monotonic_now,
        settled: Callable[[int], None],
        max_retries: int = 5,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
        probe_delay: float = 5.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.queues = queues
        self.health = health
        self.delivery = delivery
        self.tickets = tickets
        """The engine's memory of each GUID's ticket, changed here after each commit."""
        self.clock = clock
        self.timer = timer
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.probe_delay = probe_delay
        self.rand = rand
        self._settled = settled
        self.events: collections.Counter[str] = collections.Counter()
        """Rows settled by what they did, once committed: resolved, reopened, merged (metrics)."""
        self.retries = Retries(store, queues, health, retry_base=retry_base, retry_cap=retry_cap, rand=rand)

    # --- recording ------------------------------------------------------------------------------

    def record(self, outcome: Outcome) -> After:
        """Commit what the outcome means; returns what memory does next (run it once this returns).

        Raises sqlite3.OperationalError with nothing committed and memory as it was; any other
        exception is a bug (the caller fails the work with `internal_failure`).
        """
        after = After()
        with self.store.transaction():
            # `now` is on the timer's timeline (waits); wall times are read where they are stored
            self._settle(outcome, self.timer(), after)
            if outcome.responses:
                self.store.add_responses(outcome.responses, outcome.work.head.id)
        return after

    def refuse(self, work: Work, reason: str) -> None:
        """Fail the work's rows with `reason`, nothing sent; sqlite3.OperationalError as `record`."""
        after = After()
        with self.store.transaction():
            self._settle_rows(work, LogStatus.FAILED, reason, after)
        after.run()

    def cancel(self, work: Work, reason: str) -> None:
        """Settle the head row Cancelled (a RESOLVE taken back in its hold), nothing sent."""
        after = After()
        head = work.head
        with self.store.transaction():
            self.store.settle(
                head.id,
                LogStatus.CANCELLED,
                note=reason,
                attempts=head.attempts,
                duration_ms=self._duration(head),
            )
            self._pop(work, after)
        log.info(
            "log #%d RESOLVE %s %s",
            head.id,
            head.guid,
            reason,
            extra=row_event("row_cancelled", head, "cancelled", reason),
        )
        after.run()

    def internal_failure(self, work: Work, exc: Exception) -> None:
        """Fail the work's rows with the bug's text; the GUID's later rows go on."""
        after = After()
        with self.store.transaction():
            self._settle_rows(work, LogStatus.FAILED, f"internal error: {exc!r}", after)
        if work.kind == WorkKind.CREATE or self.tickets.created_in_doubt(work.guid):
            # Whatever reached Jira is unknown: later rows of this GUID probe first.
            self.tickets.doubt(work.guid)
        after.run()

    def _settle(self, outcome: Outcome, now: datetime, after: After) -> None:
        work = outcome.work
        head = work.head
        error = outcome.error
        if outcome.comment_in_flight is not None and error is not None and comment_not_added(error):
            # Jira refused it, or it never left: that comment is not on the ticket, no lookup needed.
            self.store.forget_comment(*outcome.comment_in_flight)
        if outcome.journaled is not None:
            # mirrors the journal delivery wrote (and committed) during this attempt
            head.set_journaled(outcome.journaled)
        jira_out = isinstance(error, JiraTimeout) and self.retries.timeouts_repeat(head.id)
        decision = decide_for(work, error, self.max_retries, jira_out=jira_out)
        if (
            decision.verdict == Verdict.FAIL
            and work.kind == WorkKind.TRANSITION
            and head.transition_journaled
            and not head.giving_up
            and isinstance(error, JiraRetryable)
        ):
            # The last attempt may have been done (a timeout, a 500 after it): one more reads the marker
            reason = decision.reason
            decision = replace(decision, verdict=Verdict.RETRY, count_attempt=False)
            after(lambda: head.give_up(reason))
        if jira_spoke(error):
            after(self.retries.jira_answered)
        if decision.verdict == Verdict.DONE:
            if work.kind == WorkKind.PROBE:
                self._settle_probe(outcome, now, after)
            elif work.kind == WorkKind.CREATE:
                self._settle_created(outcome, after)
            elif work.kind == WorkKind.TRANSITION:
                self._settle_transition(outcome, now, after)
            elif work.kind == WorkKind.CALL:
                self.store.forget_call_in(head.id)
                self._settle_head_ok(outcome, self.tickets.cached(work.guid), outcome.logged_request)
                self._pop(work, after)
            else:
                self._settle_updated(outcome, after)
            return
        self._apply_ticket_effect(work, decision)
        if decision.verdict == Verdict.FAIL:
            if work.kind == WorkKind.TRANSITION:
                self.store.forget_transition_in(head.id)
            if decision.ticket == "deleted":
                reason, gone = self._ticket_gone(work, after, decision.reason)
                if gone and head.action == Action.CREATE and work.kind == WorkKind.UPDATE:
                    # A repeated CREATE met its vanished ticket: it makes the new one instead.
                    note = f"{work.key} was deleted in Jira (HTTP 404 to its update)"

                    def replan() -> None:
                        head.course_changed(note)
                        self.queues.release(work.guid, now)

                    after(replan)
                    return
                decision = replace(decision, reason=reason)
            self._settle_rows(work, LogStatus.FAILED, decision.reason, after, decision.response, outcome)
            return
        assert error is not None
        if work.journals_first and work.kind == WorkKind.CALL:
            # Not Failed, so the call surely did not go out (a 401, a 429, no connection): it may go again.
            self.store.forget_call_in(head.id)
            after(lambda: head.set_journaled(False))
        at, prefix = self.retries.when_again(work, decision, error, now)
        attempts = head.attempts + (1 if decision.count_attempt else 0)
        self.store.retry_later(
            head.id,
            attempts,
            None if at is None else wall_of(at, self.clock(), now),
            prefix + decision.reason,
        )

        def again() -> None:
            head.attempted(attempts)
            if work.kind == WorkKind.PROBE and decision.verdict == Verdict.RETRY:
                head.search_failed()
            self.queues.release(work.guid, now, at)

        after(again)

    def _apply_ticket_effect(self, work: Work, decision: Decision) -> None:
        if work.kind != WorkKind.CREATE or decision.ticket == "keep":
            return
        guid = work.guid
        if decision.ticket == "forget":
            self.store.forget_ticket(guid)
            self.tickets.forget(guid)
            return
        # It may have been created: settle by probing before any new create.
        self.store.set_ticket_state(guid, TicketState.IN_DOUBT)
        self.tickets.doubt(guid, TicketRecord(guid, TicketState.IN_DOUBT, create_log_id=work.head.id))

    def _ticket_gone(self, work: Work, after: After, reason: str) -> tuple[str, bool]:
        """Jira answered 404 for the GUID's ticket: deleted in Jira, so forgotten (a CREATE makes anew)."""
        ticket = self.tickets.ticket(work.guid)
        if ticket is None or not ticket.live or ticket.ticket_key != work.key:
            return reason, False
        gone = replace(ticket, deleted_at=self.clock())
        self.store.record_jira_state(gone)
        after(lambda: self.tickets.keep(gone))
        return (
            f"{reason}: ticket {work.key} no longer exists in Jira (deleted?): forgotten;"
            " the GUID's next CREATE makes a new ticket"
        ), True

    def _settle_transition(self, outcome: Outcome, now: datetime, after: After) -> None:
        work = outcome.work
        head = work.head
        ticket = self.tickets.cached(work.guid) or self.tickets.ticket(work.guid)
        issue = outcome.issue
        if ticket is not None and issue is not None:
            moved = outcome.transitioned
            ticket = after_transition(ticket, issue, head.action, transitioned=moved, now=self.clock())
            self.store.record_jira_state(ticket)
            if moved:
                # the edit before the transition went with it
                ticket = self._keep_values(work, ticket)
            kept = ticket
            after(lambda: self.tickets.keep(kept))
        self.store.forget_transition_in(head.id)
        if work.continues:
            first, *rest = outcome.all_notes or [""]
            note = "; ".join([first + ": reopened it" if outcome.transitioned else first, *rest])
            self._step_done(work, note, now, after)
            return
        if outcome.transitioned:
            self.store.count(Statistic.UPDATE)
            done = "resolved" if head.action == Action.RESOLVE else "reopened"
            after(lambda: self.events.update((done,)))
        self._settle_head_ok(outcome, ticket, outcome.logged_request if outcome.transitioned else None)
        self._pop(work, after)

    def _settle_created(self, outcome: Outcome, after: After) -> None:
        work = outcome.work
        head = work.head
        created = outcome.created
        assert created is not None
        taken = outcome.edit is not None  # an open ticket [eligible] jql found, not a new one
        record = TicketRecord(
            work.guid,
            TicketState.CREATED,
            created.id,
            created.key,
            created.url,
            head.id,
            generation=work.generation,
            project=created.key.rpartition("-")[0] if taken else body_field(work.body, "project", "key"),
            issuetype=None if taken else body_field(work.body, "issuetype", "name"),
            driver_values={} if taken else work.sets,
        )
        self.store.ticket_created(record)
        self.store.count(Statistic.UPDATE if taken else Statistic.CREATE)
        if work.continues:
            # A new ticket for an UPDATE whose ticket a person resolved: the UPDATE goes to it next.
            self._remember_ticket(record, after)
            note = "; ".join([*outcome.all_notes, f"created {created.key}"])
            self._step_done(work, note, self.timer(), after)
            return
        self.store.settle(
            head.id,
            LogStatus.OK,
            ticket=record,
            note="; ".join(outcome.all_notes),
            attempts=head.attempts + 1,
            duration_ms=self._duration(head),
            request=outcome.logged_request,
            response=answer_json(created.answer),
        )
        self._remember_ticket(record, after)
        self._pop(work, after)

    def _remember_ticket(self, record: TicketRecord, after: After) -> None:
        def remember() -> None:
            self.tickets.settled(record)

        after(remember)

    def _settle_probe(self, outcome: Outcome, now: datetime, after: After) -> None:
        work = outcome.work
        head = work.head
        guid = work.guid
        found = outcome.found
        if found is not None:
            record = TicketRecord(
                guid, TicketState.CREATED, found.id, found.key, found.url, head.id, generation=work.generation
            )
            self.store.ticket_created(record)
            self._remember_ticket(record, after)
            if work.probe_for == Action.CREATE:
                self.store.count(Statistic.CREATE)
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
        ticket = self.tickets.ticket(guid)
        if ticket is None and not self.tickets.created_in_doubt(guid):
            # A GUID unknown to the store (probe_unknown_guids): a ticket made with an earlier
            # database is old enough for search to show it, so one miss is proof.
            def unknown() -> None:
                self.tickets.unknown_searched(guid)
                self.queues.release(guid, now)

            after(unknown)
            return
        probes = (ticket.probes if ticket else 0) + 1
        if probes < PROBE_MISSES_TRUSTED:
            # Search may lag behind creates (Jira Cloud): one miss is not proof.
            self.store.set_ticket_state(guid, TicketState.IN_DOUBT, probes)
            again = now + timedelta(seconds=self.probe_delay)

            def later() -> None:
                self.tickets.probes(guid, probes)
                self.queues.release(guid, now, again)

            after(later)
            return
        if work.probe_for != Action.CREATE:
            self.store.forget_ticket(guid)
        else:
            self.store.set_ticket_state(guid, TicketState.CREATING, 0)

        def trusted() -> None:
            self.tickets.trust(guid)
            if work.probe_for != Action.CREATE:
                self.tickets.forget(guid)
            else:
                self.tickets.probes(guid, 0)
            self.queues.release(guid, now)

        after(trusted)

    def _keep_values(self, work: Work, ticket: TicketRecord) -> TicketRecord:
        """The multi-value fields Jira took are what the driver has set on the ticket now."""
        if not work.sets:
            return ticket
        ticket = replace(ticket, driver_values={**ticket.driver_values, **work.sets})
        self.store.record_driver_values(work.guid, ticket.driver_values)
        return ticket

    def _settle_updated(self, outcome: Outcome, after: After) -> None:
        work = outcome.work
        head = work.head
        ticket = self.tickets.cached(work.guid)
        if ticket is not None and work.sets:
            kept = ticket = self._keep_values(work, ticket)
            after(lambda: self.tickets.keep(kept))
        self.store.count(Statistic.UPDATE)
        self._settle_head_ok(outcome, ticket, outcome.logged_request)
        for job in work.jobs[1:]:
            self.store.settle(
                job.id,
                LogStatus.OK,
                ticket=ticket,
                note=merged_note(head),
                duration_ms=self._duration(job),
                merged_into=head.id,
            )
        if len(work.jobs) > 1:
            merged = len(work.jobs) - 1
            after(lambda: self.events.update({"merged": merged}))
        self._pop(work, after)

    def _step_done(self, work: Work, note: str, now: datetime, after: After) -> None:
        """A step before the head row's own request is done (`continues`): the head stays open,
        keeps the step's note for its own, and is planned again."""

        def done() -> None:
            work.head.step_done(note)
            self.queues.release(work.guid, now)

        after(done)

    def _settle_head_ok(
        self, outcome: Outcome, ticket: TicketRecord | None, request: LoggedRequest | None
    ) -> None:
        """The head row Ok with its notes, the request sent and Jira's answer (or answers)."""
        head = outcome.work.head
        answers = [answer_json(a) for a in outcome.answers]
        self.store.settle(
            head.id,
            LogStatus.OK,
            ticket=ticket,
            note="; ".join(outcome.all_notes),
            attempts=head.attempts + 1,
            duration_ms=self._duration(head),
            request=request,
            response=(answers[-1] if len(answers) == 1 else {"answers": answers}) if answers else None,
        )

    def _settle_rows(
        self,
        work: Work,
        status: LogStatus,
        reason: str,
        after: After,
        response: dict[str, Any] | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        """Settle every row of the work with one status (Failed, with the reason); with the notes
        and request of `outcome` when an attempt was made."""
        head = work.head
        log_failed(head, reason, self._duration(head), outcome.error if outcome is not None else None)
        if head.action == Action.CALL:
            self.store.forget_call_in(head.id)
        request = outcome.logged_request if outcome is not None else work.logged_request()
        notes = outcome.all_notes if outcome is not None else work.notes
        record = self.tickets.ticket(work.guid) if work.key else None  # a Failed row names its ticket too
        ticket = record if record is not None and record.ticket_key == work.key else None
        for job in work.jobs:
            self.store.settle(
                job.id,
                status,
                ticket=ticket,
                error=reason,
                note="; ".join(notes) if job is head else merged_note(head),
                attempts=head.attempts + 1 if job is head else job.attempts,
                duration_ms=self._duration(job),
                request=request if job is head else None,
                response=response,
            )
        self._pop(work, after)

    def _duration(self, job: Job) -> float:
        """Milliseconds from intake to now, on the timer when the engine took the row."""
        since = (self.timer() - job.accepted_at) if job.accepted_at is not None else self.clock() - job.time
        return max(0.0, since.total_seconds() * 1000.0)

    def _pop(self, work: Work, after: After) -> None:
        def pop() -> None:
            now = self.timer()
            for job in self.queues.pop(work.guid, [job.id for job in work.jobs]):
                self.delivery.settled(job.id)
                self._settled(job.id)
            self.queues.release(work.guid, now)

        after(pop)
