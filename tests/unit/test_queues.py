"""GuidQueues under any sequence of operations (hypothesis state machine): a GUID with rows is in
exactly one place (busy, timed or ready), rows of a GUID go in id order, and no row is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from driver.contract.schemas import LogStatus, LogType
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload
from driver.sending.queues import GuidQueues

GUIDS = st.sampled_from(["A", "B", "C", "D"])
START = datetime(2026, 1, 1, tzinfo=UTC)


class Queues(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.queues = GuidQueues()
        self.now = START
        self.next_id = 1
        self.rows: dict[str, list[int]] = {}
        """The model: each GUID's open row ids, oldest first."""
        self.busy: set[str] = set()

    def _job(self, guid: str, action: Action) -> Job:
        job = Job(
            self.next_id, LogType.AUTOMATIC, action, guid, self.now, LogStatus.PENDING, 0, JobPayload(text="")
        )
        self.next_id += 1
        return job

    @rule(guid=GUIDS, creates=st.lists(st.booleans(), min_size=1, max_size=3))
    def add(self, guid: str, creates: list[bool]) -> None:
        jobs = [self._job(guid, Action.CREATE if c else Action.UPDATE) for c in creates]
        assert self.queues.add(jobs, self.now) == [guid]
        self.rows.setdefault(guid, []).extend(job.id for job in jobs)

    @rule(prefer_creates=st.booleans())
    def take(self, prefer_creates: bool) -> None:
        guid = self.queues.take(prefer_creates)
        if guid is None:
            ready = [g for g in self.rows if self.rows[g] and self.queues.places(g) == {"ready"}]
            assert not ready
            return
        assert guid not in self.busy, "a busy GUID was handed out twice"
        head = self.queues.head(guid)
        assert head is not None
        assert head.id == self.rows[guid][0], "not the GUID's oldest row"
        self.busy.add(guid)

    @precondition(lambda self: self.busy)
    @rule(data=st.data(), wait=st.one_of(st.none(), st.floats(min_value=-5, max_value=30)))
    def release(self, data: st.DataObject, wait: float | None) -> None:
        guid = data.draw(st.sampled_from(sorted(self.busy)))
        not_before = None if wait is None else self.now + timedelta(seconds=wait)
        self.queues.release(guid, self.now, not_before)
        self.busy.discard(guid)

    @precondition(lambda self: self.busy)
    @rule(data=st.data(), settle=st.integers(min_value=1, max_value=3))
    def settle_and_release(self, data: st.DataObject, settle: int) -> None:
        guid = data.draw(st.sampled_from(sorted(self.busy)))
        ids = self.rows[guid][:settle]
        popped = self.queues.pop(guid, ids)
        assert [job.id for job in popped] == ids
        del self.rows[guid][: len(ids)]
        self.queues.release(guid, self.now)
        self.busy.discard(guid)

    @rule(seconds=st.floats(min_value=0, max_value=40))
    def time_passes(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.queues.promote_due(self.now)
        due = self.queues.next_due()
        assert due is None or due > self.now, "a GUID whose moment has come is still timed"

    @rule(guid=GUIDS)
    def wake(self, guid: str) -> None:
        self.queues.wake(guid, self.now)
        if guid not in self.busy and self.rows.get(guid):
            assert self.queues.places(guid) == {"ready"}

    @invariant()
    def every_guid_with_rows_is_in_exactly_one_place(self) -> None:
        for guid in ("A", "B", "C", "D"):
            places = self.queues.places(guid)
            if self.rows.get(guid):
                assert len(places) == 1, (guid, places)
                assert ("busy" in places) == (guid in self.busy)
            elif guid not in self.busy:
                assert places == set(), (guid, places)

    @invariant()
    def no_row_is_lost_and_each_guid_keeps_its_order(self) -> None:
        assert len(self.queues) == sum(len(ids) for ids in self.rows.values())
        for guid, ids in self.rows.items():
            assert [job.id for job in self.queues.queue(guid)] == ids


Queues.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestQueues = Queues.TestCase
