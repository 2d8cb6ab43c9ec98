"""The driver's background upkeep: Jira's metadata until it answers, the log's retention, the
Responses table's writes and retention.

Each is a loop `Driver.start` runs as a task and `Driver.stop` cancels. None of them sends work:
a failure here is logged and tried again at the next turn, never lost work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Protocol

from driver.app.metrics import DriverMetrics
from driver.app.settings import RuntimeSettings
from driver.config import Config, ResponsesSection
from driver.jira.response_log import ResponseLog
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.sending.forgetting import ForgetPass
from driver.store import TRIM_BATCH, Store
from driver.sync.service import Sync

log = logging.getLogger("driver")


class Driver(Protocol):
    """What the upkeep needs of the driver (driver.app.driver.Driver has it)."""

    store: Store
    config: Config
    settings: RuntimeSettings
    engine: Engine
    metrics: DriverMetrics
    sync: Sync

    @property
    def setup(self) -> RequestSetup: ...

    @property
    def responses(self) -> ResponseLog: ...

    @property
    def responses_config(self) -> ResponsesSection: ...

    async def refresh_metadata(self) -> bool: ...


RETENTION_PERIOD = 24 * 3600.0
IDEMPOTENCY_KEEP = timedelta(days=1)
"""How long a batch's Idempotency-Key answers a repeat (a client retries in seconds, not days)."""
METADATA_RETRY_MAX = 30.0
RESPONSES_FLUSH = 1.0
"""Seconds between two writes of the answers heard outside a unit of work."""
SETTLE_TRIM_PAUSE = 1.0
"""Least seconds between two trims woken by settled rows."""


async def metadata(driver: Driver, first_delay: float, first_try: asyncio.Event) -> None:
    """Learn Jira's flavour and field list, trying again until Jira answers; `first_try` is set
    after the first attempt, whatever came of it.

    Jira may be down when the driver starts (a reboot of both); without this, custom fields named by
    their display name would be refused until the next restart.
    """
    delay = first_delay
    while True:
        done = await driver.refresh_metadata()
        first_try.set()
        if done:
            return
        log.info("asking Jira for its metadata again in %.0f s", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, METADATA_RETRY_MAX)


async def retention(driver: Driver) -> None:
    """The daily clean-up: rows older than `remove_older_than_days` (in batches), GUIDs idle for
    `forget_after_days`, journals, keys."""
    store, settings = driver.store, driver.settings
    while True:
        days = settings.log.remove_older_than_days
        removed = await in_batches(partial(store.remove_older_than, days, TRIM_BATCH))
        if removed:
            log.info("log retention removed %d rows older than %d days", removed, days)
        kept = driver.responses_config
        await in_batches(partial(store.remove_responses_older_than, kept.remove_older_than_days, TRIM_BATCH))
        await forget_idle(driver, driver.config.ticket.forget_after_days)
        driver.engine.prune_journal()
        store.prune_idempotency(IDEMPOTENCY_KEEP)
        driver.sync.prune()
        await asyncio.sleep(RETENTION_PERIOD)


async def trimmer(driver: Driver, interval: float) -> None:
    """Trim the log back to `max_entries` when rows settle and every `interval` s, without intake.

    Intake trims too, but rows still open then are over the limit once they settle; without this
    they stayed until the next command (19,738 rows left with max_entries 10,000). A stream of
    settlements wakes it at most once per SETTLE_TRIM_PAUSE s (monotonic), so the writer sees one
    short batch a second at most, not one per settled row.
    """
    store, settings = driver.store, driver.settings
    settled = asyncio.Event()
    store.on_settled(settled.set)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), interval)
            settled.clear()
            if store.over_limit(settings.max_entries):  # in memory: no transaction for nothing
                removed = await in_batches(lambda: store.trim(settings.max_entries, TRIM_BATCH))
                if removed:
                    limit = settings.max_entries
                    log.info("log retention removed %d rows over max_entries %d", removed, limit)
            await asyncio.sleep(min(SETTLE_TRIM_PAUSE, interval))
    finally:
        store.on_settled(None)


async def responses(driver: Driver, interval: float = RESPONSES_FLUSH) -> None:
    """Write the answers heard outside a unit of work (sync, metadata, check) every `interval` s,
    all of them in one transaction, and keep the Responses table to its `max_entries`.

    A write the database refuses is tried again at the next turn (the buffer is bounded: the
    oldest answers are dropped first, counted in ResponseLog.dropped).
    """
    store, heard = driver.store, driver.responses
    while True:
        await asyncio.sleep(interval)
        waiting = heard.take()
        try:
            if waiting:
                with store.transaction():
                    store.add_responses(waiting)
            await in_batches(partial(store.trim_responses, driver.responses_config.max_entries, TRIM_BATCH))
        except sqlite3.OperationalError as exc:
            log.warning("responses not written yet: %s", exc)
            heard.put_back(waiting)


async def forget_idle(driver: Driver, days: int) -> int:
    """One pass of forgetting GUIDs idle for `days` days (0: none), TRIM_BATCH GUIDs a transaction,
    yielding between batches; how many went (logged, and counted in jira_driver_guids_forgotten).
    A database that refuses a batch ends the pass (the next day's takes it up): nothing is half
    forgotten. A ticket resolved within `[lifecycle] reopen_window_minutes` is kept, however much
    longer that is than `days`: a CREATE reopens it."""
    if days <= 0:
        return 0
    engine = driver.engine
    now = driver.store.clock()
    cutoff = now - timedelta(days=days)
    run = ForgetPass(cutoff=cutoff, ended_before=min(cutoff, now - driver.setup.lifecycle.reopen_window))
    while not run.done:
        try:
            run.forget_batch(driver.store, engine.tickets, engine.queues, TRIM_BATCH)
        except sqlite3.OperationalError as exc:
            log.warning("forgetting idle GUIDs postponed: %s", exc)
            break
        await asyncio.sleep(0)
    if run.forgotten:
        driver.metrics.forgotten.inc(run.forgotten)
        log.info("forgot %d GUIDs quiet for %d days ([ticket] forget_after_days)", run.forgotten, days)
    return run.forgotten


async def in_batches(step: Callable[[], int]) -> int:
    """Run a deletion of at most TRIM_BATCH rows until it removes fewer; the total removed.

    Each batch is its own transaction and the loop yields between batches, so intake and settlement
    wait for one batch (a few ms), never for the whole clean-up.
    """
    total = 0
    while True:
        try:
            removed = step()
        except sqlite3.OperationalError as exc:
            # a locked or full database: retention is retried at its next turn, nothing is lost
            log.warning("log retention postponed: %s", exc)
            return total
        total += removed
        if removed < TRIM_BATCH:
            return total
        await asyncio.sleep(0)
