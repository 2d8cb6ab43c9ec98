"""Per-GUID queues and readiness (pure: no I/O, no clock of its own).

Rows of one GUID go strictly in id order, one request of a GUID at a time; different GUIDs go
concurrently. A GUID's head row is in exactly one place:

    busy    a request of this GUID is at Jira (or being prepared)
    timed   it waits for a moment (retry backoff, Deferred by the update limit, a per-issue 429)
    ready   it may go now: creates and updates in two heaps by log id, so that creates can be
            taken first when Jira says it is near its rate limit (X-RateLimit-NearLimit)

`take` hands out the oldest ready GUID and marks it busy; `release` puts a GUID back after its
request is settled, with the moment its head row may go next, if not now (its next row, if any,
becomes ready or timed). The moments are the caller's (the monotonic timer's): nothing here reads
a clock or the rows' own fields for them. A GUID is never in two places,
and a GUID with a row is always in one of them: that is what keeps a row from being forgotten.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from driver.model.commands import Action
from driver.model.jobs import Job


class GuidQueues:
    """The open rows by GUID and which GUIDs may be sent now."""

    def __init__(self) -> None:
        # Lists, not deques: an empty deque alone is over 600 bytes, and a queue is mostly one row
        # (100,000 alarms queued behind a Jira outage: 60 MB saved). Rows leave by `pop` in one
        # slice, so a long queue costs one move per settlement, not one per row.
        self._queues: dict[str, list[Job]] = {}
        self._busy: set[str] = set()
        self._placed: set[str] = set()
        self._ready_create: list[tuple[int, str]] = []
        self._ready_update: list[tuple[int, str]] = []
        self._timed: list[tuple[datetime, int, str]] = []
        # The moment each timed GUID waits for: a heap entry that disagrees is stale (wake()).
        self._timed_at: dict[str, datetime] = {}

    # --- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Open rows, in all queues."""
        return sum(len(q) for q in self._queues.values())

    def __contains__(self, job_id: object) -> bool:
        return any(job.id == job_id for q in self._queues.values() for job in q)

    def queue(self, guid: str) -> list[Job]:
        """The open rows of a GUID, oldest first (empty if none)."""
        return self._queues.get(guid) or []

    def head(self, guid: str) -> Job | None:
        """The GUID's oldest open row."""
        queue = self._queues.get(guid)
        return queue[0] if queue else None

    def is_busy(self, guid: str) -> bool:
        """A request of this GUID is out (or being prepared)."""
        return guid in self._busy

    @property
    def busy_count(self) -> int:
        """GUIDs with a request out."""
        return len(self._busy)

    def has_ready(self) -> bool:
        """Some GUID may be sent now (after promote_due)."""
        return bool(self._ready_create or self._ready_update)

    def next_due(self) -> datetime | None:
        """The earliest moment a timed GUID becomes ready."""
        self._drop_stale()
        return self._timed[0][0] if self._timed else None

    def _drop_stale(self) -> None:
        while self._timed and self._timed_at.get(self._timed[0][2]) != self._timed[0][0]:
            heapq.heappop(self._timed)

    def places(self, guid: str) -> set[str]:
        """Where the GUID is, read from each place on its own: {"busy"}, {"timed"} or {"ready"}
        for a GUID with rows, set() for one without (anything else is a bug: tests check it)."""
        found = set()
        if guid in self._busy:
            found.add("busy")
        if guid in self._timed_at:
            found.add("timed")
        if any(g == guid for _, g in (*self._ready_create, *self._ready_update)):
            found.add("ready")
        return found

    def guids(self) -> Iterator[str]:
        """Every GUID with open rows."""
        return iter(list(self._queues))

    def holds(self, guid: str) -> bool:
        """The GUID has open rows."""
        return guid in self._queues

    # --- changing --------------------------------------------------------------------------------

    def add(self, jobs: Iterable[Job], now: datetime) -> list[str]:
        """Append committed rows to their GUIDs' queues; returns the GUIDs touched, in order."""
        touched: dict[str, None] = {}  # ordered, and a batch of 1,000 GUIDs costs no 1,000² scan
        for job in jobs:
            self._queues.setdefault(job.guid, []).append(job)
            touched[job.guid] = None
        for guid in touched:
            self._place(guid, now, None)
        return list(touched)

    def promote_due(self, now: datetime) -> None:
        """Make every GUID whose moment has come ready."""
        while True:
            self._drop_stale()
            if not self._timed or self._timed[0][0] > now:
                break
            _, _, guid = heapq.heappop(self._timed)
            del self._timed_at[guid]
            self._placed.discard(guid)
            self._place(guid, now, None)

    def take(self, prefer_creates: bool) -> str | None:
        """The oldest ready GUID (a create first if `prefer_creates`), now busy; None if none is ready."""
        creates, updates = self._ready_create, self._ready_update
        if not creates and not updates:
            return None
        take_create = (
            (prefer_creates and bool(creates)) or not updates or bool(creates and creates[0] < updates[0])
        )
        _, guid = heapq.heappop(creates if take_create else updates)
        self._placed.discard(guid)
        self._busy.add(guid)
        return guid

    def wake(self, guid: str, now: datetime) -> None:
        """A timed GUID is looked at again now (a row that changes its head's plan arrived)."""
        if guid not in self._timed_at or guid in self._busy:
            return
        del self._timed_at[guid]
        self._placed.discard(guid)
        self._place(guid, now, None)

    def wake_where(self, now: datetime, head_is: Callable[[Job], bool]) -> None:
        """Every timed GUID whose head row `head_is` is looked at again now (the update limit
        changed: a row it deferred may go sooner, or later)."""
        for guid in [g for g, queue in self._queues.items() if g in self._timed_at and head_is(queue[0])]:
            self.wake(guid, now)

    def reserve(self, guid: str) -> bool:
        """Hold a GUID that is neither busy nor queued, as a request in flight would (an operator's
        link): its commands wait until `release`. False when it is busy or has rows."""
        if guid in self._busy or guid in self._queues:
            return False
        self._busy.add(guid)
        return True

    def release(self, guid: str, now: datetime, not_before: datetime | None = None) -> None:
        """The GUID's request is settled (or was not sent): place its head row again, timed until
        `not_before` if that is later than `now` (a retry's backoff, a pause, a hold), else ready."""
        self._busy.discard(guid)
        self._place(guid, now, not_before)

    def waiting_until(self, guid: str) -> datetime | None:
        """The moment a timed GUID waits for (None: it is not timed)."""
        return self._timed_at.get(guid)

    def pop(self, guid: str, job_ids: Iterable[int]) -> list[Job]:
        """Remove settled rows from the front of a GUID's queue; returns them."""
        ids = set(job_ids)
        queue = self._queues.get(guid)
        if not queue:
            return []
        settled = 0
        while settled < len(queue) and queue[settled].id in ids:
            settled += 1
        removed = queue[:settled]
        del queue[:settled]
        if not queue:
            del self._queues[guid]
        return removed

    def _place(self, guid: str, now: datetime, not_before: datetime | None) -> None:
        if guid in self._busy or guid in self._placed:
            return
        head = self.head(guid)
        if head is None:
            self._queues.pop(guid, None)
            return
        self._placed.add(guid)
        if not_before is not None and not_before > now:
            self._timed_at[guid] = not_before
            heapq.heappush(self._timed, (not_before, head.id, guid))
        elif head.action == Action.CREATE:
            heapq.heappush(self._ready_create, (head.id, guid))
        else:
            heapq.heappush(self._ready_update, (head.id, guid))
