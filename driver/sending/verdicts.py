"""The settlement decision (pure): one request's outcome in, what becomes of its rows out.

    done     Jira did it (or a probe answered): record the result
    retry    this request failed in a way worth trying again later (500, 409, one timeout, the
             driver's own database was unavailable); `count_attempt` says whether it uses up
             one of `max_retries`
    fail     permanent (a 4xx other than 401/429), or `max_retries` used up: Failed, Jira's reason
    park     Jira as a whole is out (refused, DNS, TLS, proxy, 502/503/504, or timeouts repeating
             across requests): the row waits, no attempt counted (JiraHealth pauses everything)
    pause    a 429: the row waits for the pause (JiraHealth), no attempt counted
    stop     a 401: the row waits for new credentials, no attempt counted

With it, what the outcome says about a create's ticket (driver.sending.exactly_once for the rules): it may
exist (`in_doubt`: probe before any new create) or surely does not (`forget`); and of an existing
ticket: a 404 to its update or transition means it was deleted in Jira (`deleted`: forgotten, the
GUID's next CREATE makes a new ticket).
A stamp search (probe) is never failed for a retryable error: the create it settles can still
succeed, and failing it would cascade "no ticket" onto every later row of its GUID.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from driver.errors import (
    JiraAuthError,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraTimeout,
    JiraUnavailable,
    StampAmbiguous,
    TicketArchived,
    TransitionFailed,
)
from driver.model.endpoints import OUTCOME_UNKNOWN, Endpoint
from driver.sending.exactly_once import never_sent
from driver.sending.work import Work, WorkKind

SEARCH_GAVE_UP = (
    "the search for an existing ticket before creating failed {n} times ({why}): nothing was"
    " created; Retry searches again"
)
"""The reason of a create whose stamp search (a new database's, before the first create of a GUID
it has never seen) Jira failed `[jira] max_retries` times: no create was sent, so the row can fail."""


class Verdict(StrEnum):
    """What becomes of the rows of one request."""

    DONE = "done"
    RETRY = "retry"
    FAIL = "fail"
    PARK = "park"
    PAUSE = "pause"
    STOP = "stop"


TicketEffect = Literal["keep", "in_doubt", "forget", "deleted"]


@dataclass(frozen=True)
class Decision:
    """The verdict, what it does to a create's ticket record, and the words for the log."""

    verdict: Verdict
    ticket: TicketEffect = "keep"
    count_attempt: bool = False
    reason: str = ""
    response: dict[str, Any] | None = None


def _outcome_unknown(error: BaseException) -> bool:
    """The request may have been applied: no answer, a 5xx or a gateway's, the driver's own fault.
    A 401, a 429 and a connection never made prove it was not; any other 4xx that it was refused."""
    proven = isinstance(error, JiraAuthError | JiraRateLimited | JiraRejected | StampAmbiguous)
    return not (proven or never_sent(error))


def decide(
    kind: WorkKind,
    error: BaseException | None,
    attempts: int,
    max_retries: int,
    *,
    jira_out: bool = False,
    call: Endpoint | None = None,
    searches_failed: int = 0,
    nothing_sent: bool = False,
) -> Decision:
    """The decision for a request of `kind` whose head row had `attempts` failed attempts before.

    `jira_out` is JiraHealth's view that Jira as a whole is not answering (an outage under way, or
    timeouts of several different requests in a row): a timeout then parks instead of counting.
    `call`: a CALL's endpoint; one not marked idempotent is Failed when its outcome is unknown
    (an answer lost, a 5xx, a gateway's 502/503/504), never repeated. `searches_failed`: a stamp
    search's earlier failures for the row; `nothing_sent`: the search precedes a create never sent
    (a new database's), so after `max_retries` failures the row fails, nothing being in doubt.
    """
    if error is None:
        return Decision(Verdict.DONE)
    if call is not None and not call.idempotent and _outcome_unknown(error):
        why = error.reason if isinstance(error, JiraRetryable) else str(error)
        return Decision(Verdict.FAIL, reason=OUTCOME_UNKNOWN.format(name=call.name, why=why))
    create = kind == WorkKind.CREATE
    if isinstance(error, JiraAuthError):
        # A 401 proves nothing was created.
        return Decision(Verdict.STOP, "forget" if create else "keep", reason=str(error))
    if isinstance(error, JiraRateLimited):
        return Decision(Verdict.PAUSE, "forget" if create else "keep", reason=error.reason)
    if isinstance(error, JiraUnavailable) or (isinstance(error, JiraTimeout) and jira_out):
        effect: TicketEffect = "keep"
        if create:
            # No connection was made: no ticket. Else a gateway may answer after Jira took it.
            effect = "forget" if never_sent(error) else "in_doubt"
        return Decision(Verdict.PARK, effect, reason=error.reason)
    if isinstance(error, sqlite3.Error):
        # The request may have gone out (a comment's journal write failed after its POST): the
        # journals settle that on the next attempt, which is not counted.
        return Decision(
            Verdict.RETRY, "in_doubt" if create else "keep", reason=f"database unavailable: {error}"
        )
    if isinstance(error, JiraRetryable):
        effect = "in_doubt" if create else "keep"
        if kind == WorkKind.PROBE:
            if nothing_sent and searches_failed + 1 > max_retries:
                return Decision(
                    Verdict.FAIL,
                    "keep",
                    reason=SEARCH_GAVE_UP.format(n=searches_failed + 1, why=error.reason),
                )
            # a search for a create in doubt never gives up: failing the row would say no ticket
            # came of it, which nobody knows; it backs off by the searches failed (Job.searches_failed)
            return Decision(Verdict.RETRY, effect, count_attempt=False, reason=error.reason)
        if attempts + 1 > max_retries:
            return Decision(
                Verdict.FAIL, effect, reason=f"{error.reason} (gave up after {attempts + 1} attempts)"
            )
        return Decision(Verdict.RETRY, effect, count_attempt=True, reason=error.reason)
    if isinstance(error, TransitionFailed):
        return Decision(Verdict.FAIL, "keep", reason=error.reason)
    if isinstance(error, StampAmbiguous):
        # Nothing is created and nothing adopted until a person leaves one ticket with the stamp.
        return Decision(Verdict.FAIL, "keep", reason=str(error))
    if isinstance(error, JiraRejected):
        gone = (
            error.status == 404
            and kind in (WorkKind.UPDATE, WorkKind.TRANSITION)
            and not isinstance(error, TicketArchived)
        )
        return Decision(
            Verdict.FAIL,
            "forget" if create else "deleted" if gone else "keep",
            reason=str(error),
            response={
                "status": error.status,
                "body": {"errorMessages": error.error_messages, "errors": error.errors},
            },
        )
    return Decision(Verdict.FAIL, "in_doubt" if create else "keep", reason=f"internal error: {error!r}")


def decide_for(
    work: Work, error: BaseException | None, max_retries: int, *, jira_out: bool = False
) -> Decision:
    """`decide` for one attempt of `work`: its head row's attempts and failed searches, its
    endpoint, and whether it is a search before a create never sent (a batched probe)."""
    head = work.head
    return decide(
        work.kind,
        error,
        head.attempts,
        max_retries,
        jira_out=jira_out,
        call=work.endpoint,
        searches_failed=head.searches_failed,
        nothing_sent=work.batched,
    )
