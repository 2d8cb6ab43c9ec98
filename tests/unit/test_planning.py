"""What a GUID's next rows send, or why they wait (driver.sending.planning.plan_next), in-process:
the update limit, the resolve hold, tickets in doubt, gone or resolved, and merged rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.creation_table import seed_table
from driver.model.jobs import Job, JobPayload, TicketRecord, TicketState
from driver.model.lifecycle import LifecycleSettings
from driver.model.request_setup import RequestSetup
from driver.sending.limiter import UpdateLimiter
from driver.sending.planning import plan_next
from driver.sending.plans import Cancel, Hold, Refuse, Send
from driver.sending.work import WorkKind

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOLD = timedelta(seconds=30)


def setup(*, catalog_loaded: bool = True) -> RequestSetup:
    return RequestSetup(
        table=seed_table("OPS", "Task"),
        catalog_loaded=catalog_loaded,
        lifecycle=LifecycleSettings(resolve_hold=HOLD),
    )


def row(id_: int, text: str, *, at: datetime = NOW, status: LogStatus = LogStatus.PENDING) -> Job:
    action = Action(text.split("|")[1])
    job = Job(id_, LogType.AUTOMATIC, action, text.split("|")[0], at, status, 0, JobPayload(text=text))
    job.taken(at)
    return job


def live(guid: str = "G", **changes: object) -> TicketRecord:
    record = TicketRecord(guid, TicketState.CREATED, "10001", "OPS-1", "http://j/browse/OPS-1")
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def no_limit() -> UpdateLimiter:
    return UpdateLimiter(0, 60)


def test_a_guid_in_doubt_is_searched_for_before_anything_is_sent() -> None:
    plan = plan_next([row(1, "G|UPDATE|summary;x|")], None, True, setup(), no_limit(), NOW)
    assert isinstance(plan, Send)
    assert (plan.work.kind, plan.work.probe_for) == (WorkKind.PROBE, Action.UPDATE)


def test_a_create_without_a_ticket_creates_one_with_the_table_and_the_command() -> None:
    plan = plan_next([row(1, "G|CREATE|summary;Disk full|")], None, False, setup(), no_limit(), NOW)
    assert isinstance(plan, Send)
    assert plan.work.kind == WorkKind.CREATE
    assert plan.work.body is not None
    assert plan.work.body["fields"]["summary"] == "Disk full"
    assert plan.work.body["fields"]["project"] == {"key": "OPS"}


def test_a_repeated_create_for_a_live_ticket_updates_it() -> None:
    plan = plan_next([row(1, "G|CREATE|summary;again|")], live(), False, setup(), no_limit(), NOW)
    assert isinstance(plan, Send)
    assert (plan.work.kind, plan.work.key) == (WorkKind.UPDATE, "OPS-1")


def test_an_update_without_a_ticket_or_with_a_deleted_one_is_refused() -> None:
    never = plan_next([row(1, "G|UPDATE|summary;x|")], None, False, setup(), no_limit(), NOW)
    assert isinstance(never, Refuse)
    assert "never created" in never.reason
    deleted = plan_next(
        [row(1, "G|UPDATE|summary;x|")], live(deleted_at=NOW), False, setup(), no_limit(), NOW
    )
    assert isinstance(deleted, Refuse)
    assert "was deleted in Jira" in deleted.reason


def test_an_update_whose_create_is_in_doubt_searches_first() -> None:
    creating = TicketRecord("G", TicketState.IN_DOUBT, create_log_id=1, generation=2)
    plan = plan_next([row(2, "G|UPDATE|summary;x|")], creating, False, setup(), no_limit(), NOW)
    assert isinstance(plan, Send)
    assert (plan.work.kind, plan.work.generation) == (WorkKind.PROBE, 2)


def test_updates_over_the_limit_wait_deferred_and_then_go_merged_into_one_request() -> None:
    limiter = UpdateLimiter(1, 60)
    limiter.record("OPS-1", NOW)
    queue = [row(2, "G|UPDATE|summary;first|"), row(3, "G|UPDATE|summary;second|comment;c|")]
    held = plan_next(queue, live(), False, setup(), limiter, NOW + timedelta(seconds=10))
    assert isinstance(held, Hold)
    assert (held.until, held.defer) == (NOW + timedelta(seconds=60), True)
    for job in queue:
        job.defer(held.until)  # as the engine marks them
    later = plan_next(queue, live(), False, setup(), limiter, NOW + timedelta(seconds=61))
    assert isinstance(later, Send)
    assert [job.id for job in later.work.jobs] == [2, 3]
    assert later.work.body == {"fields": {"summary": "second"}}
    assert [c["body"] for c in later.work.comments] == ["c"]


def test_a_resolve_waits_out_its_hold_then_transitions() -> None:
    queue = [row(1, "G|RESOLVE|")]
    held = plan_next(queue, live(), False, setup(), no_limit(), NOW + HOLD / 2)
    assert isinstance(held, Hold)
    assert held.until == NOW + HOLD
    assert not held.defer
    after = plan_next(queue, live(), False, setup(), no_limit(), NOW + HOLD)
    assert isinstance(after, Send)
    assert (after.work.kind, after.work.key) == (WorkKind.TRANSITION, "OPS-1")


def test_a_resolve_taken_back_by_the_alarm_within_its_hold_is_cancelled() -> None:
    queue = [row(1, "G|RESOLVE|"), row(2, "G|UPDATE|comment;back|", at=NOW + timedelta(seconds=5))]
    plan = plan_next(queue, live(), False, setup(), no_limit(), NOW + timedelta(seconds=6))
    assert isinstance(plan, Cancel)
    assert "log #2 UPDATE" in plan.reason


def test_a_journaled_resolve_is_never_cancelled_it_may_have_been_done() -> None:
    resolve = row(1, "G|RESOLVE|")
    resolve.set_journaled(True)
    queue = [resolve, row(2, "G|UPDATE|comment;back|", at=NOW + timedelta(seconds=5))]
    plan = plan_next(queue, live(), False, setup(), no_limit(), NOW + timedelta(seconds=6))
    assert isinstance(plan, Send)
    assert plan.work.kind == WorkKind.TRANSITION


def test_an_unknown_field_waits_for_jiras_field_list_and_is_refused_once_it_is_known() -> None:
    queue = [row(1, "G|UPDATE|Team Name;ops|")]
    waiting = plan_next(queue, live(), False, setup(catalog_loaded=False), no_limit(), NOW)
    assert isinstance(waiting, Hold)
    assert waiting.reason.startswith("waiting for Jira's field list")
    refused = plan_next(queue, live(), False, setup(), no_limit(), NOW)
    assert isinstance(refused, Refuse)
    assert "no longer resolves" in refused.reason
