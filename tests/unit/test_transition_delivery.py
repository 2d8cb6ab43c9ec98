"""Delivery of a transition against a scripted Jira (a small unit test: the integration tests in
tests/integration/test_lifecycle.py use the simulator): the cached id Jira refuses is dropped and
looked up once more, and a transition journaled before a lost answer is settled by its attempt's
marker on the ticket, never by an earlier move to the same status."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from driver.contract.schemas import LogStatus, LogType
from driver.errors import JiraNotReached, JiraRejected, JiraRetryable
from driver.jira.health import Bucket
from driver.model.answers import (
    Answer,
    CreatedIssue,
    FoundIssue,
    IssueState,
    IssueTransition,
    JiraComment,
    JiraUser,
)
from driver.model.commands import Action
from driver.model.endpoints import FilledCall
from driver.model.jobs import Job, JobPayload
from driver.model.requests import RequestSettings
from driver.model.transitions import MARKER_PROPERTY, Target, marker
from driver.sending.delivery import Delivery
from driver.sending.work import Work, WorkKind
from driver.store import Store

DONE = Target("category", "done")
ME = JiraUser(frozenset({"name:admin"}), "Administrator")


class ScriptedJira:
    """A ticket in `status` whose workflow offers `offered`; refuses transition ids in `refuse`; with
    `fail_after`, applies the next transition and then raises that error instead of answering.
    A transition sets the body's `properties` on the ticket, as Jira does."""

    near_limit = False
    rate_hint: float | None = None
    bucket: Bucket | None = None
    api_type: Literal["cloud", "datacenter", "unknown"] = "datacenter"

    def __init__(self, offered: list[IssueTransition], refuse: frozenset[str] = frozenset()) -> None:
        self.offered = offered
        self.refuse = set(refuse)
        self.status = ("To Do", "new")
        self.calls: list[str] = []
        self.properties: dict[str, Any] = {}
        self.fail_after: Exception | None = None
        self.fail_before: Exception | None = None

    async def get_issue(self, key: str, *, properties: Sequence[str] = ()) -> IssueState:
        self.calls.append("GET issue")
        chosen = {k: v for k, v in self.properties.items() if k in properties}
        return IssueState(
            key, "1", self.status[0], self.status[1], None, None, "NET", "Task", properties=chosen
        )

    async def project_archived(self, project: str) -> bool:
        return False

    async def get_transitions(self, key: str) -> list[IssueTransition]:
        self.calls.append("GET transitions")
        return self.offered

    async def do_transition(self, key: str, body: Mapping[str, Any]) -> Answer:
        chosen = body["transition"]["id"]
        self.calls.append(f"POST {chosen}")
        if self.fail_before is not None:
            error, self.fail_before = self.fail_before, None
            raise error
        if chosen in self.refuse:
            raise JiraRejected(
                400, ["It seems that you have tried to perform a workflow operation that is not valid"]
            )
        target = next(t for t in self.offered if t.id == chosen)
        self.status = (target.to_status, target.to_category)
        self.properties.update({p["key"]: p["value"] for p in body.get("properties", [])})
        if self.fail_after is not None:
            error, self.fail_after = self.fail_after, None
            raise error
        return Answer(204, None)

    async def create_issue(self, body: Mapping[str, Any]) -> CreatedIssue:
        raise AssertionError("not used")

    async def call(self, request: FilledCall, expect: Sequence[int]) -> Answer:
        raise AssertionError("not used")

    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Answer:
        self.calls.append("PUT issue")
        return Answer(204, None)

    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Answer:
        raise AssertionError("not used")

    async def list_comments(self, key: str) -> list[JiraComment]:
        return []

    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = None, limit: int = 50
    ) -> tuple[list[FoundIssue], str | None]:
        raise AssertionError("not used")

    async def search_by_stamp(self, jql: str, fields: Sequence[str] = ()) -> list[FoundIssue]:
        return []

    async def current_user(self) -> JiraUser:
        return ME


def _work(log_id: int) -> Work:
    job = Job(
        log_id,
        LogType.AUTOMATIC,
        Action.RESOLVE,
        "G",
        datetime.now(UTC),
        LogStatus.PENDING,
        0,
        JobPayload(text="G|RESOLVE|"),
    )
    return Work(WorkKind.TRANSITION, [job], "G", key="NET-1", target=DONE, default_resolution="Done")


def test_a_cached_transition_jira_refuses_is_dropped_and_looked_up_once_more(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    resolve = IssueTransition("31", "Resolve Issue", "Done", "done")
    jira = ScriptedJira([resolve])
    delivery = Delivery(jira, store)
    first = asyncio.run(delivery.deliver(_work(1), RequestSettings()))
    assert first.error is None
    assert first.transitioned
    assert jira.calls == ["GET issue", "GET transitions", "POST 31"]
    # the workflow changed: the cached id is gone, another leads to done now
    jira.status = ("To Do", "new")
    jira.offered = [IssueTransition("51", "Close", "Closed", "done")]
    jira.refuse = {"31"}
    jira.calls.clear()
    second = asyncio.run(delivery.deliver(_work(2), RequestSettings()))
    assert second.error is None, second.error
    assert jira.calls == ["GET issue", "POST 31", "GET transitions", "POST 51"]
    assert second.issue is not None
    assert second.issue.status == "Closed"
    store.close()


def test_a_journaled_attempt_whose_marker_is_on_the_ticket_is_not_sent_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.status = ("Done", "done")
    jira.properties = {MARKER_PROPERTY: marker(7, "a1")["value"]}
    store.journal_transition(7, "NET-1", "31", "Done", "a1")
    work = _work(7)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert not outcome.transitioned
    assert jira.calls == ["GET issue"]
    assert outcome.notes == ["the transition sent earlier went through (to 'Done'): not sent again"]
    store.close()


def test_a_journaled_attempt_without_its_marker_on_a_ticket_already_there_is_not_claimed(
    tmp_path: Path,
) -> None:
    # someone else (or an earlier move) put the ticket there: nothing is sent, and the note does
    # not claim this row's transition (and its comment) went through
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.status = ("Done", "done")
    jira.properties = {MARKER_PROPERTY: marker(3, "older")["value"]}
    store.journal_transition(7, "NET-1", "31", "Done", "a1")
    work = _work(7)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert jira.calls == ["GET issue"]
    assert outcome.notes == ["NET-1 is already in 'Done': nothing sent"]
    store.close()


def test_a_journaled_transition_whose_ticket_is_not_there_is_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    store.journal_transition(8, "NET-1", "31", "Done", "a1")
    outcome = asyncio.run(Delivery(jira, store).deliver(_work(8), RequestSettings()))
    assert outcome.transitioned
    assert jira.calls == ["GET issue", "GET transitions", "POST 31"]
    sent = jira.properties[MARKER_PROPERTY]
    assert sent["log"] == 8
    assert sent["attempt"] not in ("", "a1"), "a new attempt carries a marker of its own"
    store.close()


def test_a_journaled_attempt_a_person_undid_since_is_not_sent_again(tmp_path: Path) -> None:
    # the driver died with its POST on the wire; Jira did it; a person reopened the ticket before
    # the driver came back: the ticket is not "there", but it carries this attempt's marker
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.properties = {MARKER_PROPERTY: marker(9, "a9")["value"]}
    store.journal_transition(9, "NET-1", "31", "Done", "a9")
    work = _work(9)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert not outcome.transitioned
    assert jira.calls == ["GET issue"]
    assert outcome.notes == [
        "the transition sent earlier went through (to 'Done'), and NET-1 has been moved on since:"
        " not sent again"
    ]
    store.close()


def test_an_earlier_move_to_the_same_status_does_not_settle_an_attempt_in_doubt(tmp_path: Path) -> None:
    # a flapping alarm: the driver resolved NET-1 (marker of row 3), reopened it, and row 10's
    # RESOLVE was answered 503 unprocessed: the earlier resolve is no evidence for row 10
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.properties = {MARKER_PROPERTY: marker(3, "a3")["value"]}
    store.journal_transition(10, "NET-1", "31", "Done", "a10")
    work = _work(10)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert outcome.transitioned
    assert jira.calls == ["GET issue", "GET transitions", "POST 31"]
    assert jira.status == ("Done", "done")
    assert not any("went through" in note for note in outcome.notes)
    store.close()


def test_an_entry_journaled_before_markers_is_sent_unless_the_ticket_is_there(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    store.journal_transition(11, "NET-1", "31", "Done")  # no attempt: written by an older driver
    outcome = asyncio.run(Delivery(jira, store).deliver(_work(11), RequestSettings()))
    assert outcome.transitioned
    assert jira.calls == ["GET issue", "GET transitions", "POST 31"]
    store.close()


def test_a_500_to_a_cached_id_that_jira_applied_is_not_sent_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    resolve = IssueTransition("31", "Resolve Issue", "Done", "done")
    jira = ScriptedJira([resolve, IssueTransition("11", "To Do", "To Do", "new")])
    delivery = Delivery(jira, store)
    assert asyncio.run(delivery.deliver(_work(1), RequestSettings())).transitioned  # caches 31
    jira.status = ("To Do", "new")
    jira.calls.clear()
    jira.fail_after = JiraRetryable("HTTP 500", status=500)
    work = _work(2)
    outcome = asyncio.run(delivery.deliver(work, RequestSettings()))
    assert outcome.error is None, outcome.error
    assert jira.calls == ["GET issue", "POST 31", "GET issue"], "read before sending again"
    assert "the transition sent earlier went through" in outcome.notes[0]
    store.close()


def test_a_500_to_a_cached_id_that_jira_did_not_apply_is_looked_up_and_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    delivery = Delivery(jira, store)
    assert asyncio.run(delivery.deliver(_work(1), RequestSettings())).transitioned
    jira.status = ("To Do", "new")
    jira.calls.clear()
    jira.fail_before = JiraRetryable("HTTP 500: If transition ID is incorrect", status=500)
    outcome = asyncio.run(delivery.deliver(_work(2), RequestSettings()))
    assert outcome.error is None, outcome.error
    assert outcome.transitioned
    assert jira.calls == ["GET issue", "POST 31", "GET issue", "GET transitions", "POST 31"]
    assert jira.status == ("Done", "done")
    store.close()


def test_an_attempt_that_never_reached_jira_is_not_in_doubt(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.fail_before = JiraNotReached("connection refused")
    work = _work(12)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert isinstance(outcome.error, JiraNotReached)
    assert store.transition_intent(12) is None
    assert outcome.journaled is False
    store.close()
