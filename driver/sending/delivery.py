"""Delivering one unit of work to Jira: the requests, and each comment exactly once (I/O).

`deliver` makes the requests of a Work (driver.sending.planning) and returns its Outcome; it never raises
but for cancellation: Jira's errors, the comment journal's database errors and the driver's own
bugs all come back as `Outcome.error`, for driver.sending.verdicts to judge.

The comment journal (store.comment_sends) is written outside any transaction, so each write commits
at once: the intent before the POST, 'sent' with Jira's id after the 201. A comment still 'sending'
when its work comes round again is in doubt (a timeout, a lost answer, a 5xx, or the process died
with the POST on the wire) and is looked up on the ticket before anything is posted
(driver.sending.exactly_once: our_comments, find_comment).

A transition (RESOLVE, REOPEN, a reopen before an update) reads the ticket first: already where the
target says, it sends nothing. Otherwise the transition is found (cached per project, issue type and
status; driver.model.transitions), journaled in store.transition_sends with a random attempt id
(committed at once), and POSTed with its screen's fields, the comments and the attempt's marker (an
issue property, driver.model.transitions.MARKER_PROPERTY) in one request; a screenless transition's
comments, which Jira would drop from it, are posted first as comments of their own. A journal entry
found when the row comes round again means the outcome of that attempt is unknown (a lost answer, a
503, a dropped connection, a kill): the ticket is read with the property, and only that attempt's
marker proves it went through (wherever the ticket is now); without it, the transition is sent
again. A move to the same status made earlier (a flapping alarm's last RESOLVE) is never taken for
it. An attempt that never reached Jira (no connection made) is not in doubt: its entry is dropped at
once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from driver.errors import (
    JiraError,
    JiraNotReached,
    JiraRejected,
    JiraRetryable,
    StampAmbiguous,
    TicketArchived,
    TransitionFailed,
)
from driver.jira.health import Bucket
from driver.jira.response_log import collecting
from driver.model.answers import (
    Answer,
    CreatedIssue,
    FoundIssue,
    IssueState,
    IssueTransition,
    JiraComment,
    JiraUser,
)
from driver.model.endpoints import FilledCall
from driver.model.jobs import TicketRecord
from driver.model.requests import RequestSettings
from driver.model.responses import HeardResponse
from driver.model.stamps import stamp_jql, stamps_jql
from driver.model.transitions import (
    MARKER_PROPERTY,
    Target,
    TransitionCache,
    TransitionRefused,
    TransitionRequest,
    choose,
    marked_by,
    marker,
    no_transition_reason,
    transition_request,
)
from driver.sending.eligible_take import EligibleTakes
from driver.sending.exactly_once import COMMENT_CLOCK_SKEW, exact_match, find_comment, our_comments
from driver.sending.work import Outcome, Work, WorkKind
from driver.store import CommentState, Store

log = logging.getLogger("driver.delivery")


def _stale_id(error: BaseException) -> bool:
    """Jira's answer to a transition id the ticket's workflow does not have (now): 400 or 409
    (Cloud, spec v3 doTransition), 500 "If transition ID is incorrect" (spec DC); docs/wire-facts.md §4."""
    if isinstance(error, JiraRejected):
        return error.status == 400
    return isinstance(error, JiraRetryable) and error.status in (409, 500)


def _resolution_after(outcome: Outcome, transition: IssueTransition, before: IssueState) -> str | None:
    """The resolution the ticket has after the transition, as far as the request says."""
    if transition.to_category != "done":
        return None  # most workflows clear it when an issue leaves done (read back: _resolution_now)
    body = outcome.body or {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    chosen = fields.get("resolution") if isinstance(fields, dict) else None
    if isinstance(chosen, dict) and isinstance(chosen.get("name"), str):
        return str(chosen["name"])
    return before.resolution


SEARCH_CAP = 1000
"""Hits beyond which a stamp search's answer may be cut short: JiraClient.search reads at most 10
pages of 100 (a phrase search on a custom field can match many longer texts)."""


def _stamped_for(work: Work, found: Sequence[FoundIssue], settings: RequestSettings) -> list[FoundIssue]:
    """The hits that carry the probe's own stamp exactly (its GUID and generation; exact_match)."""
    return [
        hit
        for hit in found
        if exact_match(
            work.guid, [hit], settings.guid_field, settings.guid_label_prefix, generation=work.generation
        )
    ]


def _guid_of(record: TicketRecord | None) -> str | None:
    return None if record is None else record.guid


class JiraPort(Protocol):
    """What the engine needs from Jira (driver.jira.client.JiraClient implements it)."""

    near_limit: bool
    rate_hint: float | None
    bucket: Bucket | None
    api_type: Literal["cloud", "datacenter", "unknown"]

    async def create_issue(self, body: Mapping[str, Any]) -> CreatedIssue: ...
    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Answer: ...
    async def project_archived(self, project: str) -> bool: ...
    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Answer: ...
    async def list_comments(self, key: str) -> list[JiraComment]: ...
    async def search_by_stamp(self, jql: str, fields: Sequence[str] = ...) -> list[FoundIssue]: ...
    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = ..., limit: int = ...
    ) -> tuple[list[FoundIssue], str | None]: ...
    async def current_user(self) -> JiraUser: ...
    async def get_issue(self, key: str, *, properties: Sequence[str] = ...) -> IssueState: ...
    async def get_transitions(self, key: str) -> list[IssueTransition]: ...
    async def do_transition(self, key: str, body: Mapping[str, Any]) -> Answer: ...
    async def call(self, request: FilledCall, expect: Sequence[int]) -> Answer: ...


class Delivery:
    """Makes the requests of one Work against Jira, journaling comments in the store."""

    def __init__(self, jira: JiraPort, store: Store) -> None:
        self.jira = jira
        self.store = store
        self._me: JiraUser | None = None
        # The last edit body sent per head row: a retry re-sends the edit unless this very body
        # already went out (rows merged in since the last attempt change it).
        self._edits_sent: dict[int, dict[str, Any]] = {}
        self.transitions = TransitionCache()
        self.eligible = EligibleTakes(jira, lambda key: _guid_of(store.ticket_by_key(key)))

    async def _identity(self) -> JiraUser:
        """The driver's own Jira user (GET myself once per credentials)."""
        if self._me is None:
            self._me = await self.jira.current_user()
        return self._me

    def forget_identity(self) -> None:
        """New credentials may be another Jira user."""
        self._me = None

    def settled(self, job_id: int) -> None:
        """A row is settled: drop what was kept for its retries."""
        self._edits_sent.pop(job_id, None)
        self.eligible.settled(job_id)

    async def deliver(self, work: Work, settings: RequestSettings) -> Outcome:
        """Make the work's requests; see the module docstring. The answers heard meanwhile go with
        the outcome (Outcome.responses)."""
        with collecting() as heard:
            return await self._deliver(work, settings, heard)

    async def _deliver(self, work: Work, settings: RequestSettings, heard: list[HeardResponse]) -> Outcome:
        outcome = Outcome(work, responses=heard)
        try:
            if work.kind == WorkKind.PROBE:
                jql = stamp_jql(
                    work.guid, settings.guid_field, settings.guid_label_prefix, generation=work.generation
                )
                found = await self.jira.search_by_stamp(jql, [settings.guid_field or "labels"])
                hits = _stamped_for(work, found, settings)
                if len(hits) > 1:
                    raise StampAmbiguous(work.guid, [hit.key for hit in hits])
                outcome.found = hits[0] if hits else None
            elif work.kind == WorkKind.CREATE:
                assert work.body is not None
                hit = None
                if work.eligible is not None:
                    hit, why_not = await self.eligible.choose(work, settings)
                    if hit is None:
                        outcome.notes.append(why_not)
                    else:
                        outcome.edit = work.eligible.body  # the request, whatever becomes of it
                        try:
                            answer = await self.jira.edit_issue(hit.key, work.eligible.body)
                        except BaseException:
                            self.eligible.release(hit.key)
                            raise
                        outcome.created = CreatedIssue(hit.id, hit.key, hit.url, answer)
                        outcome.notes.append(
                            f"took the open ticket {hit.key} that [eligible] jql found"
                            " instead of creating one"
                        )
                if hit is None:
                    outcome.created = await self.jira.create_issue(work.body)
            elif work.kind == WorkKind.TRANSITION:
                await self._transition(work, outcome)
            elif work.kind == WorkKind.CALL:
                assert work.call is not None
                assert work.endpoint is not None
                outcome.answers.append(await self.jira.call(work.call, work.endpoint.expect))
            else:
                head_id = work.head.id
                if work.body is not None and self._edits_sent.get(head_id) != work.body:
                    outcome.answers.append(await self.jira.edit_issue(work.key, work.body))
                    self._edits_sent[head_id] = work.body
                await self._send_comments(work, outcome)
        except (JiraError, sqlite3.Error) as exc:
            outcome.error = await self._archived(work, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill a worker or lose the job
            log.exception("unexpected error sending log #%d", work.head.id)
            outcome.error = exc
        return outcome

    async def _archived(self, work: Work, exc: JiraError | sqlite3.Error) -> BaseException:
        """A 404 to a change of the ticket is a deletion unless its project is archived (Cloud hides
        an archived project's issues behind the same 404): then TicketArchived, and the ticket is
        kept. Any other error, or a failed look, is returned as it was."""
        if not (
            isinstance(exc, JiraRejected)
            and exc.status == 404
            and work.kind in (WorkKind.UPDATE, WorkKind.TRANSITION)
        ):
            return exc
        project = work.key.rpartition("-")[0]
        try:
            archived = bool(project) and await self.jira.project_archived(project)
        except JiraError:
            return exc
        return TicketArchived(work.key, project, exc) if archived else exc

    async def probe_batch(self, works: Sequence[Work], settings: RequestSettings) -> list[Outcome]:
        """Search for the stamps of several GUIDs' probes in one JQL (driver.model.stamps.stamps_jql, at
        most STAMP_BATCH); one Outcome per work, in order.

        Each work's hit is matched back to its GUID exactly (exact_match, which needs the stamp in
        the hit's fields: a hit without them proves nothing for any GUID here); two hits for one
        GUID raise StampAmbiguous in that work's outcome only. When the search fails (outage, 429,
        401), every outcome carries the same error and is settled like any failed request. When the
        answer may be cut short (SEARCH_CAP hits), a miss is not proof: those GUIDs are searched
        for alone (`deliver`).
        """
        outcomes = [Outcome(work) for work in works]
        stamp_field = settings.guid_field or "labels"
        try:
            jql = stamps_jql(
                [(w.guid, w.generation) for w in works], settings.guid_field, settings.guid_label_prefix
            )
            found = await self.jira.search_by_stamp(jql, [stamp_field])
        except (JiraError, sqlite3.Error) as exc:
            for outcome in outcomes:
                outcome.error = exc
            return outcomes
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the batch's task or lose its rows
            log.exception("unexpected error searching %d GUID stamps", len(works))
            for outcome in outcomes:
                outcome.error = exc
            return outcomes
        with_stamp = [hit for hit in found if isinstance(hit.fields.get(stamp_field), list | str | dict)]
        for index, outcome in enumerate(outcomes):
            work = outcome.work
            hits = _stamped_for(work, with_stamp, settings)
            if len(hits) > 1:
                outcome.error = StampAmbiguous(work.guid, [hit.key for hit in hits])
            elif hits:
                outcome.found = hits[0]
            elif len(found) >= SEARCH_CAP:
                outcomes[index] = await self.deliver(work, settings)
        return outcomes

    async def _transition(self, work: Work, outcome: Outcome) -> None:
        """Move the ticket to the work's target (see the module docstring)."""
        head = work.head
        target = work.target
        assert target is not None
        key = work.key
        state = await self.jira.get_issue(key, properties=(MARKER_PROPERTY,))
        if self._settled(work, outcome, state):
            return
        if head.giving_up:
            # the row's retries are spent: this attempt only learnt that the last one was not done
            raise TransitionFailed(f"{head.giving_up}; {key} shows the last attempt was not done")
        cached = self.transitions.get(state.project, state.issuetype, state.status, target)
        transition = cached or await self._find(key, state, target)
        try:
            await self._send_transition(work, outcome, transition)
        except (JiraRejected, JiraRetryable) as exc:
            if cached is None or not _stale_id(exc):
                raise
            # The cached id may belong to a workflow the ticket no longer has: ask once more.
            self.transitions.drop(state.project, state.issuetype, state.status, target)
            if isinstance(exc, JiraRetryable):
                # DC answers 500 to an unknown id, but a 500 (or 409) may also come from a Jira that
                # applied the transition before failing: read the ticket before sending again.
                state = await self.jira.get_issue(key, properties=(MARKER_PROPERTY,))
                if self._settled(work, outcome, state):
                    return
            else:
                self.store.forget_transition(head.id)  # a 400: refused unprocessed
            transition = await self._find(key, state, target)
            await self._send_transition(work, outcome, transition)
        resolution = _resolution_after(outcome, transition, state)
        if transition.to_category != "done" and state.resolution:
            resolution = await self._resolution_now(key, transition, outcome)
        outcome.issue = IssueState(
            key=state.key,
            id=state.id,
            status=transition.to_status,
            status_category=transition.to_category,
            resolution=resolution,
            assignee=state.assignee,
            project=state.project,
            issuetype=state.issuetype,
        )
        outcome.transitioned = True

    async def _resolution_now(self, key: str, transition: IssueTransition, outcome: Outcome) -> str | None:
        """The resolution of a ticket just moved out of done. Jira's workflows clear it with a post
        function, but one without keeps it, and Jira's filters then count the open ticket as
        resolved: read it back and say so. A failed read changes nothing of the outcome (cleared is
        assumed, as before)."""
        try:
            after = await self.jira.get_issue(key)
        except JiraError:
            return None
        if after.resolution:
            outcome.notes.append(
                f"{key} is in {transition.to_status!r} but keeps resolution {after.resolution!r}: the"
                f" workflow's {transition.name!r} does not clear it (Jira's filters count the ticket"
                " as resolved until a person clears it)"
            )
        return after.resolution

    def _settled(self, work: Work, outcome: Outcome, state: IssueState) -> bool:
        """Whether nothing is to be sent: this row's journaled attempt went through (its marker is on
        the ticket, wherever the ticket is now), or the ticket is already where the target says.
        Otherwise a journaled attempt surely did not go through and is forgotten, to be sent anew."""
        target = work.target
        assert target is not None
        journaled = self.store.transition_intent(work.head.id)
        outcome.issue = state
        there = target.reached(state.status, state.status_category)
        if journaled is not None and marked_by(state.properties, journaled.attempt):
            moved_on = "" if there else f", and {work.key} has been moved on since"
            went = f"the transition sent earlier went through (to {journaled.target!r})"
            outcome.notes.append(f"{went}{moved_on}: not sent again")
            return True
        if there:
            journal = self.store.comment_journal([work.head.id]) if work.comment_refs else {}
            unsent = [ref for ref in work.comment_refs if journal.get(ref) != CommentState.SENT]
            dropped = [f"{len(unsent)} comment(s)"] if unsent else []
            dropped += [", ".join(work.fields)] if work.fields else []
            left = f" ({' and '.join(dropped)} not added)" if dropped else ""
            outcome.notes.append(f"{work.key} is already in {state.status!r}: nothing sent{left}")
            return True
        if journaled is not None:
            # Journaled, not there, and without this attempt's marker: it did not go through.
            self.store.forget_transition(work.head.id)
        return False

    async def _find(self, key: str, state: IssueState, target: Target) -> IssueTransition:
        offered = await self.jira.get_transitions(key)
        transition = choose(offered, target)
        if transition is None:
            raise TransitionFailed(no_transition_reason(key, state.status, target, offered))
        self.transitions.put(state.project, state.issuetype, state.status, target, transition)
        return transition

    async def _send_transition(self, work: Work, outcome: Outcome, transition: IssueTransition) -> None:
        """The transition's request, after its comments when Jira would drop them from it (a
        screenless transition): those go first as comments of their own, exactly once through the
        comment journal, so a retry after the transition went through has nothing left to post."""
        planned = self._request(work, transition, outcome)
        if planned.comments_apart:
            await self._send_comments(work, outcome)
            outcome.comments_apart = True
        await self._do(work, outcome, transition, (planned.body, planned.edit))

    def _request(self, work: Work, transition: IssueTransition, outcome: Outcome) -> TransitionRequest:
        try:
            planned = transition_request(
                transition,
                work.fields,
                work.comments,
                work.resolution,
                work.default_resolution,
                work.updates,
            )
        except TransitionRefused as exc:
            raise TransitionFailed(str(exc)) from None
        outcome.body = planned.body
        outcome.edit = planned.edit
        for note in planned.notes:
            if note not in outcome.all_notes:
                outcome.notes.append(note)
        return planned

    async def _do(
        self,
        work: Work,
        outcome: Outcome,
        transition: IssueTransition,
        request: tuple[dict[str, Any], dict[str, Any] | None],
    ) -> None:
        body, edit = request
        head_id = work.head.id
        if edit is not None and self._edits_sent.get(head_id) != edit:
            outcome.answers.append(await self.jira.edit_issue(work.key, edit))
            self._edits_sent[head_id] = edit
        attempt = secrets.token_hex(8)
        self.store.journal_transition(head_id, work.key, transition.id, transition.to_status, attempt)
        outcome.journaled = True
        try:
            answer = await self.jira.do_transition(
                work.key, {**body, "properties": [marker(head_id, attempt)]}
            )
        except JiraNotReached:
            # Nothing left the driver: not in doubt, so the alarm's return may still cancel it.
            self.store.forget_transition(head_id)
            outcome.journaled = False
            raise
        outcome.answers.append(answer)

    async def _send_comments(self, work: Work, outcome: Outcome) -> None:
        journal = self.store.comment_journal(sorted({ref[0] for ref in work.comment_refs}))
        in_doubt = [i for i, ref in enumerate(work.comment_refs) if journal.get(ref) == CommentState.SENDING]
        if in_doubt:
            await self._settle_in_doubt(work, outcome, in_doubt, journal)
        for comment, ref in zip(work.comments, work.comment_refs, strict=True):
            if journal.get(ref) == CommentState.SENT:
                continue
            self.store.journal_comment(ref[0], ref[1], work.key)
            outcome.comment_in_flight = ref
            answer = await self.jira.add_comment(work.key, comment)
            outcome.comment_in_flight = None
            body = answer.body
            comment_id = str(body["id"]) if isinstance(body, dict) and "id" in body else None
            self.store.comment_sent(ref[0], ref[1], work.key, comment_id)
            journal[ref] = CommentState.SENT
            outcome.answers.append(answer)

    async def _settle_in_doubt(
        self, work: Work, outcome: Outcome, in_doubt: list[int], journal: dict[tuple[int, int], CommentState]
    ) -> None:
        """Look for in-doubt comments on the ticket: found -> 'sent', missing -> sent afresh.

        A match is a comment by the driver's Jira user, created at or after the intake of the
        row it belongs to (less COMMENT_CLOCK_SKEW for Jira's clock), with the same text (ADF
        compared by its text), and not one the driver already knows it posted. Reading comments
        is consistent, unlike search: one miss is proof.
        """
        me = await self._identity()
        posted = await self.jira.list_comments(work.key)
        candidates = our_comments(posted, me, self.store.our_comment_ids(work.key))
        intake = {job.id: job.time for job in work.jobs}
        for index in in_doubt:
            ref = work.comment_refs[index]
            since = intake.get(ref[0], work.head.time) - COMMENT_CLOCK_SKEW
            match = find_comment(candidates, work.comments[index].get("body"), since)
            if match is None:
                self.store.forget_comment(ref[0], ref[1])
                journal.pop(ref, None)
                continue
            candidates.remove(match)
            self.store.comment_sent(ref[0], ref[1], work.key, match.id)
            journal[ref] = CommentState.SENT
            outcome.notes.append(
                f"comment {index + 1} was already on {work.key} (comment {match.id}): not posted again"
            )
