"""Delivery of a transition against a scripted Jira (a small unit test: the integration tests in
tests/integration/test_lifecycle.py use the simulator): the cached id Jira refuses is dropped and
looked up once more, and a transition journaled before a lost answer is settled by the status."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from driver.commands import Action
from driver.delivery import Delivery
from driver.dispatch import Work, WorkKind
from driver.errors import JiraRejected
from driver.jira_answers import (
    Answer,
    CreatedIssue,
    FoundIssue,
    IssueState,
    IssueTransition,
    JiraComment,
    JiraUser,
    StatusChange,
)
from driver.jobs import Job, JobPayload
from driver.schemas import LogStatus, LogType
from driver.store import Store
from driver.ticket_requests import RequestSettings
from driver.transitions import Target

DONE = Target("category", "done")
ME = JiraUser(frozenset({"name:admin"}), "Administrator")
JANE = JiraUser(frozenset({"name:jsmith"}), "Jane Smith")


class ScriptedJira:
    """A ticket in `status` whose workflow offers `offered`; refuses transition ids in `refuse`."""

    near_limit = False
    rate_hint: float | None = None
    api_type: Literal["cloud", "datacenter", "unknown"] = "datacenter"

    def __init__(self, offered: list[IssueTransition], refuse: frozenset[str] = frozenset()) -> None:
        self.offered = offered
        self.refuse = set(refuse)
        self.status = ("To Do", "new")
        self.calls: list[str] = []
        self.changes: list[StatusChange] = []

    async def get_issue(self, key: str) -> IssueState:
        self.calls.append("GET issue")
        return IssueState(key, "1", self.status[0], self.status[1], None, None, "NET", "Task")

    async def status_changes(self, key: str) -> list[StatusChange]:
        self.calls.append("GET changelog")
        return self.changes

    async def get_transitions(self, key: str) -> list[IssueTransition]:
        self.calls.append("GET transitions")
        return self.offered

    async def do_transition(self, key: str, body: Mapping[str, Any]) -> Answer:
        chosen = body["transition"]["id"]
        self.calls.append(f"POST {chosen}")
        if chosen in self.refuse:
            raise JiraRejected(
                400, ["It seems that you have tried to perform a workflow operation that is not valid"]
            )
        target = next(t for t in self.offered if t.id == chosen)
        self.status = (target.to_status, target.to_category)
        return Answer(204, None)

    async def create_issue(self, body: Mapping[str, Any]) -> CreatedIssue:
        raise AssertionError("not used")

    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Answer:
        self.calls.append("PUT issue")
        return Answer(204, None)

    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Answer:
        raise AssertionError("not used")

    async def list_comments(self, key: str) -> list[JiraComment]:
        return []

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


def test_a_journaled_transition_whose_ticket_is_there_is_not_sent_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    jira.status = ("Done", "done")
    store.journal_transition(7, "NET-1", "31", str(DONE))
    work = _work(7)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert not outcome.transitioned
    assert jira.calls == ["GET issue"]
    assert "the transition sent earlier went through" in work.notes[0]
    store.close()


def test_a_journaled_transition_whose_ticket_is_not_there_is_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    store.journal_transition(8, "NET-1", "31", str(DONE))
    outcome = asyncio.run(Delivery(jira, store).deliver(_work(8), RequestSettings()))
    assert outcome.transitioned
    assert jira.calls == ["GET issue", "GET changelog", "GET transitions", "POST 31"]
    store.close()


def test_a_journaled_transition_a_person_undid_since_is_not_sent_again(tmp_path: Path) -> None:
    # the driver died with its POST on the wire; Jira did it; a person reopened the ticket before
    # the driver came back: the ticket is not "there", but the changelog shows the driver's move
    store = Store(tmp_path / "driver.db")
    jira = ScriptedJira([IssueTransition("31", "Resolve Issue", "Done", "done")])
    store.journal_transition(9, "NET-1", "31", "Done")
    now = datetime.now(UTC)
    jira.changes = [StatusChange(ME, now, "Done"), StatusChange(JANE, now, "Reopened")]
    work = _work(9)
    outcome = asyncio.run(Delivery(jira, store).deliver(work, RequestSettings()))
    assert outcome.error is None
    assert not outcome.transitioned
    assert jira.calls == ["GET issue", "GET changelog"]
    assert "went through (to 'Done'), and NET-1 has been moved on since" in work.notes[0]
    # a move by someone else, or one from before the intent, is not the driver's POST
    store.journal_transition(10, "NET-1", "31", "Done")
    jira.changes = [StatusChange(JANE, now, "Done"), StatusChange(ME, now - timedelta(hours=1), "Done")]
    jira.calls.clear()
    again = asyncio.run(Delivery(jira, store).deliver(_work(10), RequestSettings()))
    assert again.transitioned
    assert jira.calls == ["GET issue", "GET changelog", "GET transitions", "POST 31"]
    store.close()
