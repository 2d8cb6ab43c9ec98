"""Liveness of the sending loop, property-based: whatever the answer timings, 429s, outages and
stalls of the event loop, no ready row waits while a worker is idle, and every row settles.

The engine runs its real workers over a real SQLite store; Jira is an in-memory double whose
answers take random times (hypothesis draws them), some of them 429s, outages or 500s, and which
now and then blocks the event loop (a busy host: every pending answer is then read at once).
A monitor task checks the invariant between every step of the other tasks.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driver.app.intake import Line, check_lines, commit
from driver.contract.schemas import LogStatus
from driver.errors import JiraRateLimited, JiraRetryable, JiraUnavailable
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
from driver.model.creation_table import seed_table
from driver.model.endpoints import FilledCall
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.sending.limiter import UpdateLimiter
from driver.store import LogFilter, Store
from tests.fixtures.waiting import wait_until

TIMER_SLACK = 0.2
"""Seconds a worker may sleep past the moment it waits for (event loop timer latency, a loaded host)."""

Fate = Literal["ok", "slow", "429", "429-issue", "outage", "500", "stall"]
fates = st.lists(st.sampled_from(["ok", "ok", "ok", "slow", "429", "429-issue", "outage", "500", "stall"]))


class RandomJira:
    """A Jira whose every answer follows the next drawn fate (then 'ok' once they run out)."""

    near_limit = False
    rate_hint: float | None = None
    bucket: Bucket | None = None
    api_type: Literal["cloud", "datacenter", "unknown"] = "datacenter"

    def __init__(self, fates: Sequence[Fate], delays: Sequence[float]) -> None:
        self.resolved: set[str] = set()
        self.fates = list(fates)
        self.delays = list(delays) or [0.0]
        self.calls = 0
        self.issues: dict[str, list[str]] = {}

    async def _answer(self) -> None:
        self.calls += 1
        fate = self.fates.pop(0) if self.fates else "ok"
        delay = self.delays[self.calls % len(self.delays)]
        if fate == "stall":
            time.sleep(0.004)  # noqa: ASYNC251  (the whole process is busy: answers pile up unread)
        await asyncio.sleep(delay * (5 if fate == "slow" else 1))
        if fate == "429":
            raise JiraRateLimited("HTTP 429", 0.002, "all", "jira-burst-based")
        if fate == "429-issue":
            raise JiraRateLimited("HTTP 429", 0.002, "issue", "jira-per-issue-on-write")
        if fate == "outage":
            raise JiraUnavailable("HTTP 503", None)
        if fate == "500":
            raise JiraRetryable("HTTP 500")

    async def create_issue(self, body: Mapping[str, Any]) -> CreatedIssue:
        await self._answer()
        key = f"OPS-{len(self.issues) + 1}"
        self.issues[key] = list(body["fields"].get("labels") or [])
        return CreatedIssue(key, key, f"http://jira/browse/{key}", Answer(201, {"key": key}))

    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Answer:
        await self._answer()
        return Answer(204, None)

    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Answer:
        await self._answer()
        return Answer(201, {"id": "1"})

    async def list_comments(self, key: str) -> list[JiraComment]:
        return []

    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = None, limit: int = 50
    ) -> tuple[list[FoundIssue], str | None]:
        raise AssertionError("not used")

    async def search_by_stamp(self, jql: str, fields: Sequence[str] = ()) -> list[FoundIssue]:
        await self._answer()
        return [
            FoundIssue(key, key, f"http://jira/browse/{key}", {"labels": labels})
            for key, labels in self.issues.items()
            if any(f'"{label}"' in jql for label in labels)
        ]

    async def current_user(self) -> JiraUser:
        return JiraUser(frozenset({"name:admin"}))

    async def get_issue(self, key: str, *, properties: Sequence[str] = ()) -> IssueState:
        await self._answer()
        done = key in self.resolved
        return IssueState(
            key, key, "Done" if done else "To Do", "done" if done else "new", None, None, "OPS", "Task"
        )

    async def project_archived(self, project: str) -> bool:
        return False

    async def get_transitions(self, key: str) -> list[IssueTransition]:
        await self._answer()
        return [IssueTransition("31", "Done", "Done", "done"), IssueTransition("11", "To Do", "To Do", "new")]

    async def call(self, request: FilledCall, expect: Sequence[int]) -> Answer:
        await self._answer()
        return Answer(204, None)

    async def do_transition(self, key: str, body: Mapping[str, Any]) -> Answer:
        await self._answer()
        if body["transition"]["id"] == "31":
            self.resolved.add(key)
        else:
            self.resolved.discard(key)
        return Answer(204, None)


def idle_while_ready(engine: Engine, now: datetime) -> bool:
    """A worker waits although a row is ready and nothing holds sending back (read-only)."""
    health = engine.health
    blocked = (
        health.auth_failed
        or (health.pauses.all_until is not None and health.pauses.all_until > now)
        or (health.outage_until is not None and health.outage_until > now)
        or health.outage_strikes > 0
        or not health.credentials_proven
        or (health.next_send_at is not None and health.next_send_at > now)
    )
    limit = engine.concurrency
    return bool(engine._idle) and engine.queues.has_ready() and not blocked and engine.in_flight < limit  # noqa: SLF001


async def run(fates: list[Fate], delays: list[float], guids: int, updates: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "driver.db")
        jira = RandomJira(fates, delays)
        engine = Engine(
            store,
            jira,
            UpdateLimiter(0, 60),
            RequestSetup(table=seed_table("OPS", "Task"), catalog_loaded=True),
            max_retries=50,
            retry_base=0.001,
            retry_cap=0.01,
            probe_delay=0.001,
            outage_cap=0.01,
            concurrency=concurrency,
        )
        engine.load()
        engine.start()
        violations: list[str] = []
        stop = False

        async def monitor() -> None:
            # A worker waiting for a pause to end wakes on its timer, a moment after the end:
            # only a ready row left while workers idle for longer than timer slack is a stall.
            since: float | None = None
            while not stop:
                if idle_while_ready(engine, engine.timer()):
                    since = since or time.monotonic()
                    if time.monotonic() - since > TIMER_SLACK:
                        violations.append(f"idle={len(engine._idle)} in_flight={engine.in_flight}")  # noqa: SLF001
                else:
                    since = None
                # a look every millisecond, not at every turn of the loop: a stall is 200 ms of
                # idle workers beside a ready row, and a spinning watcher starved the engine it watches
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(monitor())
        lines = [Line(n + 1, f"G{n}|CREATE|summary;alarm {n}|") for n in range(guids)]
        # every third command of a GUID after its create is a RESOLVE or a REOPEN (transitions)
        actions = ("UPDATE|comment;update {n}", "RESOLVE|comment;cleared {n}", "REOPEN")
        lines += [
            Line(0, f"G{n % guids}|" + actions[(n // guids) % 3].format(n=n) + "|") for n in range(updates)
        ]
        jobs = commit(check_lines(lines, engine.setup), store, engine.submit)
        await wait_until(
            lambda: store.counts() == (0, 0), "every row settled", 20, every=0.005, state=store.counts
        )
        stop = True
        await watcher
        await engine.stop(1.0)
        rows = store.log_page(LogFilter(limit=1000)).rows
        store.close()
        assert not violations, violations[:5]
        assert len(rows) == len(jobs)
        assert all(row.status in (LogStatus.OK, LogStatus.FAILED) for row in rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fates=fates,
    delays=st.lists(st.floats(min_value=0.0, max_value=0.01), max_size=8),
    guids=st.integers(min_value=1, max_value=12),
    updates=st.integers(min_value=0, max_value=20),
    concurrency=st.integers(min_value=1, max_value=6),
)
def test_no_ready_row_waits_while_a_worker_is_idle(
    fates: list[Fate], delays: list[float], guids: int, updates: int, concurrency: int
) -> None:
    asyncio.run(run(fates, delays, guids, updates, concurrency))
