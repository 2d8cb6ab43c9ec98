"""The values the sending stages hand on: a unit of work and what came of it.

planning builds a `Work`, delivery makes its requests and returns an `Outcome`, verdicts judge the
outcome and recording writes it, handing the engine the `After` steps memory takes once the writes
are committed. Each stage reads what the one before built and never changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from driver.model.answers import Answer, CreatedIssue, FoundIssue, IssueState
from driver.model.commands import Action
from driver.model.eligible_create import EligibleTake
from driver.model.endpoints import Endpoint, FilledCall
from driver.model.jobs import Job, LoggedRequest, RequestKind
from driver.model.responses import HeardResponse
from driver.model.transitions import Target


class WorkKind(StrEnum):
    """What one request of the engine does."""

    CREATE = "create"
    UPDATE = "update"
    PROBE = "probe"
    TRANSITION = "transition"
    CALL = "call"
    """A custom API endpoint's request (a CALL row)."""


LIMITED = frozenset({WorkKind.UPDATE, WorkKind.TRANSITION, WorkKind.CALL})
"""The kinds of request the update limit counts (automatic rows only)."""


@dataclass(frozen=True)
class Work:
    """One unit of work for a worker: the rows it settles (the first is the head).

    Built by planning (driver.sending.planning) and never changed after: what delivery learns goes
    in its Outcome, and the engine makes a new Work (dataclasses.replace) to mark one batched.
    """

    kind: WorkKind
    jobs: list[Job]
    guid: str
    body: dict[str, Any] | None = None
    key: str = ""
    comments: list[dict[str, Any]] = field(default_factory=list)
    comment_refs: list[tuple[int, int]] = field(default_factory=list)
    """(log row, index of the comment in that row's command), one per comment: the journal's key."""
    notes: list[str] = field(default_factory=list)
    probe_for: Action = Action.CREATE
    automatic: bool = True
    generation: int = 1
    """The generation of the ticket a create makes, or a probe looks for (its stamp carries it)."""
    target: Target | None = None
    """A transition's target status or category."""
    fields: dict[str, Any] = field(default_factory=dict)
    """A transition's fields: those on its screen go in its body, the rest in an edit before it."""
    updates: dict[str, Any] = field(default_factory=dict)
    """A transition's add/remove verbs of multi-value fields (driver.model.multi_values), sent in
    the edit before it."""
    sets: dict[str, list[Any]] = field(default_factory=dict)
    """The multi-value fields' values this request sets: the ticket's driver_values once it is Ok."""
    resolution: str | None = None
    """The resolution the command named (a transition)."""
    default_resolution: str = ""
    """The resolution set when the transition's screen has one and the command names none."""
    limited_at: datetime | None = None
    """When the update limiter counted this request (taken back if it did not reach Jira)."""
    continues: bool = False
    """A step before the head row's own request (a reopen, a new ticket): the head stays open and is
    planned again once this is done."""
    eligible: EligibleTake | None = None
    """A CREATE's search for an open ticket to take instead of creating ([eligible] jql)."""
    call: FilledCall | None = None
    """A CALL's request, filled for its GUID and ticket."""
    endpoint: Endpoint | None = None
    """A CALL's endpoint (its expected statuses, whether it is idempotent)."""
    batched: bool = False
    """A probe for a GUID the store has never seen (a new database): searched together with others
    (driver.sending.delivery.Delivery.probe_batch), not alone."""

    @property
    def limit_key(self) -> str:
        """What the update limit counts this request against: its ticket, else its GUID (a CALL of
        an endpoint that needs no ticket)."""
        return self.key or self.guid

    @property
    def journals_first(self) -> bool:
        """Its intent is committed before its request: a create (searched for by its stamp when
        its answer is lost) or a call of an endpoint not marked idempotent (then Failed, never
        repeated)."""
        if self.kind == WorkKind.CALL:
            return self.endpoint is not None and not self.endpoint.idempotent
        return self.kind == WorkKind.CREATE

    @property
    def head(self) -> Job:
        """The row whose request this is."""
        return self.jobs[0]

    def logged_request(
        self, body: dict[str, Any] | None = None, edit: dict[str, Any] | None = None, *, apart: bool = False
    ) -> LoggedRequest:
        """What the log row keeps as the request sent: the body, or for an update its edit and
        comments. A transition's `body` and `edit` are those delivery chose on the ticket's screen
        (None: none was sent); `apart`: its comments went as comments of their own."""
        if self.kind == WorkKind.UPDATE:
            return LoggedRequest(RequestKind.UPDATE, {"edit": self.body, "comments": self.comments})
        if self.kind == WorkKind.CREATE and edit is not None:
            # it took an open ticket [eligible] jql found: the edit went out, not the create
            return LoggedRequest(RequestKind.UPDATE, {"edit": edit})
        if self.kind == WorkKind.TRANSITION:
            if body is None:
                planned = {"target": str(self.target), "fields": self.fields, "comments": self.comments}
                if self.updates:
                    planned["update"] = self.updates
                return LoggedRequest(RequestKind.PLANNED, planned)
            sent = {"edit": edit, **body} if edit else dict(body)
            if apart:
                sent["comments"] = self.comments
            return LoggedRequest(RequestKind.TRANSITION, sent)
        if self.kind == WorkKind.CALL and self.call is not None:
            call = self.call
            return LoggedRequest(
                RequestKind.CALL, {"method": call.method, "path": call.path, "body": call.body}
            )
        return LoggedRequest(RequestKind(self.kind.value), self.body)


@dataclass
class Outcome:
    """What came of one Work: Jira's answers, or the error that stopped it."""

    work: Work
    created: CreatedIssue | None = None
    found: FoundIssue | None = None
    answers: list[Answer] = field(default_factory=list)
    error: BaseException | None = None
    comment_in_flight: tuple[int, int] | None = None
    """The comment whose POST was on the wire when `error` came."""
    issue: IssueState | None = None
    """A transition's ticket as it stands after it (or as it was found, already there)."""
    transitioned: bool = False
    """A transition was POSTed and answered (False: the ticket was already there)."""
    notes: list[str] = field(default_factory=list)
    """What delivery learnt, for the row's log note (a comment already on the ticket, a transition
    that had gone through, a resolution the screen does not take)."""
    body: dict[str, Any] | None = None
    """A transition's body as sent, with the fields its screen takes (None: nothing sent)."""
    edit: dict[str, Any] | None = None
    """The edit sent just before a transition, of the fields its screen does not take; or the edit
    that took an open ticket [eligible] jql found instead of creating one (a CREATE)."""
    journaled: bool | None = None
    """A transition of the head row is journaled after this attempt (True: it may have been done),
    or not (False: forgotten); None: this attempt did not touch the journal."""
    comments_apart: bool = False
    """A screenless transition's comments went as comments of their own (Jira drops them from it)."""
    responses: list[HeardResponse] = field(default_factory=list)
    """Every answer heard for this work (the Responses table), written with its outcome."""

    @property
    def all_notes(self) -> list[str]:
        """The head row's note from intake (a retry's "retry of log #N"), then the notes of the plan
        and of delivery, in order."""
        intake = [self.work.head.note] if self.work.head.note else []
        return [*intake, *self.work.notes, *self.notes]

    @property
    def logged_request(self) -> LoggedRequest:
        """The request the head row keeps (see Work.logged_request)."""
        return self.work.logged_request(self.body, self.edit, apart=self.comments_apart)


@dataclass
class After:
    """What memory does once a step's writes are committed (nothing, if they are not)."""

    steps: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self, step: Callable[[], None]) -> None:
        self.steps.append(step)

    def run(self) -> None:
        """Run the steps in the order they were added (call only after the commit)."""
        for step in self.steps:
            step()
