"""Forgetting idle GUIDs, `[ticket] forget_after_days` after their last command (which ones:
driver.model.forgetting; what is kept of them: driver.store.forgetting).

A pass walks the Alarms table in the order of its GUIDs' last rows (ids grow with time, so the
walk stops at the first GUID heard from since the cutoff), one batch a transaction. The engine's
memory goes with the store: a GUID it holds (a row queued or in flight) or whose create is in doubt
is kept whatever the store says, and the record it kept of a GUID forgotten is dropped after the
commit, so that GUID's next command reads the store and finds the generation kept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from driver.model.forgetting import forgettable
from driver.sending.known_tickets import KnownTickets
from driver.sending.queues import GuidQueues
from driver.store import Store


@dataclass
class ForgetPass:
    """One pass: GUIDs quiet since before `cutoff` go, their tickets ended before `ended_before`
    too (default: `cutoff`; earlier when the reopen window is longer). `after` is the walk's cursor
    (the last row id and the GUID of the last one looked at), `done` set once the walk reached its
    end."""

    cutoff: datetime
    ended_before: datetime | None = None
    after: tuple[int, str] = (0, "")
    forgotten: int = 0
    done: bool = False

    def forget_batch(self, store: Store, tickets: KnownTickets, queues: GuidQueues, limit: int) -> int:
        """Look at the next `limit` GUIDs and forget those that qualify, in one (fenced)
        transaction; how many went. Raises sqlite3.OperationalError (a locked or full database,
        LeaseLost): nothing forgotten, the cursor unmoved."""
        batch = store.idle_guids(self.after, limit)
        quiet = list(itertools.takewhile(lambda idle: idle.last_at < self.cutoff, batch))
        chosen = [
            idle
            for idle in quiet
            if forgettable(idle, self.cutoff, self.ended_before)
            and not queues.holds(idle.guid)
            and not tickets.created_in_doubt(idle.guid)
        ]
        gone = []
        if chosen:
            with store.fenced_transaction():
                gone = store.forget_guids(chosen)
            for idle in gone:
                tickets.forget(idle.guid)
        if quiet:
            self.after = (quiet[-1].last_log_id, quiet[-1].guid)
        self.forgotten += len(gone)
        self.done = len(batch) < limit or len(quiet) < len(batch)
        return len(gone)
