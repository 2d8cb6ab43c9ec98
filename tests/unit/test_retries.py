"""The words an outage puts on every GUID's waiting row (driver.sending.retries.Retries)."""

from __future__ import annotations

from datetime import UTC, datetime

from driver.contract.schemas import LogStatus, LogType
from driver.errors import JiraTimeout
from driver.jira.health import JiraHealth
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload
from driver.sending.queues import GuidQueues
from driver.sending.retries import Retries
from driver.sending.verdicts import Decision, Verdict
from driver.sending.work import Work, WorkKind

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


class Notes:
    """The store's note_error, kept."""

    def __init__(self) -> None:
        self.errors: dict[int, str] = {}

    def note_error(self, log_id: int, error: str) -> None:
        self.errors[log_id] = error


def test_an_outage_tells_each_waiting_row_why_without_another_alarms_request() -> None:
    # An operator read `waiting for Jira: timeout: no answer within 30 s (POST
    # rest/api/latest/issue/OPS-1/comment)` on a CREATE of another alarm: the path was a/1's
    queues = GuidQueues()
    jobs = [
        Job(n, LogType.AUTOMATIC, action, guid, NOW, LogStatus.PENDING, 0, JobPayload(text=""))
        for n, action, guid in ((1, Action.UPDATE, "a/1"), (2, Action.CREATE, "a/2"))
    ]
    queues.add(jobs, NOW)
    assert queues.take(False) == "a/1"
    notes = Notes()
    retries = Retries(notes, queues, JiraHealth())  # type: ignore[arg-type]
    error = JiraTimeout("timeout: no answer within 30 s (POST rest/api/latest/issue/OPS-1/comment)")
    decision = Decision(Verdict.PARK, reason=error.reason)
    retries.when_again(Work(WorkKind.UPDATE, [jobs[0]], "a/1"), decision, error, NOW)
    assert notes.errors == {2: "waiting for Jira: timeout: no answer within 30 s (met by log #1)"}
