"""What an outcome means (driver.sending.verdicts.decide): one table row per kind of answer."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.errors import (
    JiraAuthError,
    JiraNotReached,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraTimeout,
    JiraUnavailable,
    StampAmbiguous,
    TransitionFailed,
)
from driver.sending.verdicts import Decision, Verdict, decide
from driver.sending.work import WorkKind

CREATE, UPDATE, PROBE, TRANSITION = WorkKind.CREATE, WorkKind.UPDATE, WorkKind.PROBE, WorkKind.TRANSITION
MAX = 3

# (kind, error, failed attempts before, jira_out) -> (verdict, ticket effect, attempt counted)
TABLE: list[tuple[WorkKind, BaseException | None, int, bool, Verdict, str, bool]] = [
    # Jira took it
    (CREATE, None, 0, False, Verdict.DONE, "keep", False),
    (UPDATE, None, 2, False, Verdict.DONE, "keep", False),
    # a 401 stops everything; it proves nothing was created
    (CREATE, JiraAuthError(401, "bad"), 0, False, Verdict.STOP, "forget", False),
    (UPDATE, JiraAuthError(401, "bad"), 0, False, Verdict.STOP, "keep", False),
    # a 429 pauses; nothing was created either
    (CREATE, JiraRateLimited("429", 5.0, "all", None), 0, False, Verdict.PAUSE, "forget", False),
    (UPDATE, JiraRateLimited("429", None, "issue", "x"), MAX, False, Verdict.PAUSE, "keep", False),
    # no connection made: parked, and a create is surely not in Jira
    (CREATE, JiraNotReached("refused"), 0, False, Verdict.PARK, "forget", False),
    # a gateway's 503: parked, and a create may have reached Jira
    (CREATE, JiraUnavailable("503", status=503), 0, False, Verdict.PARK, "in_doubt", False),
    (UPDATE, JiraUnavailable("503", status=503), MAX, False, Verdict.PARK, "keep", False),
    # a timeout counts an attempt, unless Jira as a whole is out (then it parks)
    (UPDATE, JiraTimeout("timeout"), 0, False, Verdict.RETRY, "keep", True),
    (CREATE, JiraTimeout("timeout"), 0, False, Verdict.RETRY, "in_doubt", True),
    (UPDATE, JiraTimeout("timeout"), 0, True, Verdict.PARK, "keep", False),
    # a 500: retried while attempts last, then Failed
    (UPDATE, JiraRetryable("500", status=500), MAX - 1, False, Verdict.RETRY, "keep", True),
    (UPDATE, JiraRetryable("500", status=500), MAX, False, Verdict.FAIL, "keep", False),
    (CREATE, JiraRetryable("500", status=500), MAX, False, Verdict.FAIL, "in_doubt", False),
    # a probe's search is retried without counting: it changes nothing in Jira
    (PROBE, JiraRetryable("500", status=500), MAX + 5, False, Verdict.RETRY, "keep", False),
    # the database failed around the request: retried, not counted; a create may be in Jira
    (CREATE, sqlite3.OperationalError("locked"), 0, False, Verdict.RETRY, "in_doubt", False),
    (UPDATE, sqlite3.OperationalError("locked"), MAX, False, Verdict.RETRY, "keep", False),
    # Jira refused it: Failed; a 404 to an update or transition means the ticket was deleted
    (UPDATE, JiraRejected(400, ["bad field"]), 0, False, Verdict.FAIL, "keep", False),
    (CREATE, JiraRejected(400, ["bad field"]), 0, False, Verdict.FAIL, "forget", False),
    (UPDATE, JiraRejected(404, ["gone"]), 0, False, Verdict.FAIL, "deleted", False),
    (TRANSITION, JiraRejected(404, ["gone"]), 0, False, Verdict.FAIL, "deleted", False),
    (PROBE, JiraRejected(404, ["gone"]), 0, False, Verdict.FAIL, "keep", False),
    # no way to the target, or two tickets with one stamp: Failed, a person decides
    (TRANSITION, TransitionFailed("no transition"), 0, False, Verdict.FAIL, "keep", False),
    (PROBE, StampAmbiguous("G", ["A-1", "A-2"]), 0, False, Verdict.FAIL, "keep", False),
    # a bug: Failed, and a create is in doubt (it may have gone out before the bug)
    (CREATE, RuntimeError("bug"), 0, False, Verdict.FAIL, "in_doubt", False),
    (UPDATE, RuntimeError("bug"), 0, False, Verdict.FAIL, "keep", False),
]


@pytest.mark.parametrize(("kind", "error", "attempts", "jira_out", "verdict", "ticket", "counted"), TABLE)
def test_each_kind_of_outcome_has_its_verdict(
    kind: WorkKind,
    error: BaseException | None,
    attempts: int,
    jira_out: bool,
    verdict: Verdict,
    ticket: str,
    counted: bool,
) -> None:
    decision = decide(kind, error, attempts, MAX, jira_out=jira_out)
    assert (decision.verdict, decision.ticket, decision.count_attempt) == (verdict, ticket, counted)
    if error is not None:
        assert decision.reason, "a row that does not go through says why"


def test_giving_up_names_the_attempts_and_a_refusal_keeps_jiras_answer() -> None:
    gave_up = decide(UPDATE, JiraRetryable("HTTP 500", status=500), MAX, MAX)
    assert gave_up.reason == f"HTTP 500 (gave up after {MAX + 1} attempts)"
    refused = decide(UPDATE, JiraRejected(400, ["no"], {"summary": "too long"}), 0, MAX)
    assert refused == Decision(
        Verdict.FAIL,
        "keep",
        reason="HTTP 400: no; summary: too long",
        response={"status": 400, "body": {"errorMessages": ["no"], "errors": {"summary": "too long"}}},
    )


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=10))
def test_a_stamp_search_never_uses_the_rows_attempts_and_fails_only_when_no_create_was_sent(
    searches_failed: int, max_retries: int
) -> None:
    error = JiraRetryable("HTTP 500", None, 500)
    in_doubt = decide(WorkKind.PROBE, error, 0, max_retries, searches_failed=searches_failed)
    assert (in_doubt.verdict, in_doubt.count_attempt) == (Verdict.RETRY, False)  # a ticket may exist
    never_sent = decide(
        WorkKind.PROBE, error, 0, max_retries, searches_failed=searches_failed, nothing_sent=True
    )
    if searches_failed + 1 > max_retries:
        assert never_sent.verdict == Verdict.FAIL
        assert never_sent.ticket == "keep"
        assert f"failed {searches_failed + 1} times (HTTP 500)" in never_sent.reason
    else:
        assert (never_sent.verdict, never_sent.count_attempt) == (Verdict.RETRY, False)
