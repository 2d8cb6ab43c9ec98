"""The application object: one driver, wired once by `build`, started and stopped as one.

`build(config)` opens the store, restores the settings changed at run time, and makes the Jira
client, the engine and sync, all on one clock and one timer. What it returns is the only handle
the HTTP routes, the service and the tests need:

    driver = build(config, clock=..., timer=..., transport=...)
    driver.prepare(opening)          settle the database file, load open rows and creates in doubt
    await driver.start()             metadata (bounded wait), engine, upkeep, polling
    driver.accept(entries)           commit checked commands, then queue them (intake)
    driver.execute()                 a Manual create of the Create Query
    driver.status()                  the status line (GET /api/status)
    await driver.stop(grace)         no new commands, in-flight work finishes or parks, all closed

The peers it hands out (`store`, `setup`, `settings`, `sync`, `jira`) are the parts' own objects;
Jira's health is read and fed only through the driver (`status`, `jira_answered`,
`refresh_metadata`), so no caller reaches into the engine for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from driver import __version__
from driver.app import upkeep
from driver.app.alert_templates import AlertTemplates, compile_all
from driver.app.credential_expiry import credential_expiry
from driver.app.intake import commit
from driver.app.intake import manual_entry as _manual_entry
from driver.app.metadata import CredentialsRefused, detect, refresh_catalog
from driver.app.metrics import DriverMetrics
from driver.app.settings import RuntimeSettings
from driver.clock import Clock, Timer, monotonic_now, utc_now
from driver.config import Config, ResponsesSection
from driver.contract.schemas import CheckResult, DriverStatus, PairStatus, SyncStatus
from driver.errors import JiraError, database_message
from driver.jira.check import check
from driver.jira.client import JiraClient
from driver.jira.health import JiraHealth
from driver.jira.response_log import ResponseLog
from driver.model.alert_intake import Notice
from driver.model.creation_table import table_target
from driver.model.diagnosis import CheckPlan
from driver.model.fields import FieldCatalog
from driver.model.jobs import Job, NewEntry
from driver.model.request_setup import RequestSetup
from driver.sending.engine import Engine
from driver.store import Store, database_file, open_store
from driver.store.database_file import Opening
from driver.store.oauth_grant import GrantFile
from driver.sync.service import Sync

log = logging.getLogger("driver")

METADATA_WAIT = 5.0
"""Seconds the start waits for Jira's flavour and field list before taking commands anyway."""


@dataclass(frozen=True)
class Tuning:
    """Waits the config file does not name, at the engine's own defaults; tests shorten them."""

    retry_cap: float = 30.0
    """Longest backoff between two attempts of a row, in seconds."""
    outage_cap: float = 60.0
    """Longest wait between two tries of an unreachable Jira, in seconds."""
    rand: Callable[[], float] = random.random
    """The jitter's source."""


def build(
    config: Config,
    *,
    clock: Clock | None = None,
    timer: Timer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    tuning: Tuning | None = None,
) -> Driver:
    """The driver for this configuration, wired and not yet started.

    clock: the wall clock (what people read: log times, statistics days); timer: the monotonic one
    every wait runs on (default: the process's); transport: stands between the Jira client and Jira
    (tests put a gateway or a fault there). Raises ConfigError when a config file value is outside
    what the API would accept, DatabaseFileError or sqlite3.Error when the database cannot be opened.
    """
    config.check_for_the_driver()
    tuning = tuning or Tuning()
    wall = clock or utc_now
    store = open_store(config.driver.database, clock=wall, zone=config.zone())
    settings = RuntimeSettings.load(config, store)
    jira = JiraClient.from_config(
        config.jira,
        settings.credentials,
        settings.ticket_location,
        clock=wall,
        transport=transport,
        grants=GrantFile(Path(config.driver.database)),
    )
    health = JiraHealth(
        retry_base=config.jira.retry_base_seconds,
        outage_cap=tuning.outage_cap,
        rate_cap=tuning.retry_cap,
        rand=tuning.rand,
    )
    engine = Engine(
        store,
        jira,
        settings.limiter(),
        settings.setup,
        health,
        clock=wall,
        timer=timer or monotonic_now,
        max_retries=config.jira.max_retries,
        retry_base=config.jira.retry_base_seconds,
        retry_cap=tuning.retry_cap,
        probe_delay=config.jira.probe_delay_seconds,
        concurrency=config.driver.concurrency,
        outage_cap=tuning.outage_cap,
        rand=tuning.rand,
    )
    settings.attach(jira, engine)
    sync = Sync(config.sync, store, jira, engine, health=health, setup=settings.setup, clock=wall)
    alerts = compile_all(config)
    metrics = DriverMetrics()
    jira.responses.listeners.append(metrics.heard)
    driver = Driver(
        config,
        store,
        jira,
        engine,
        health,
        settings,
        sync,
        wall,
        engine.timer,
        started_at=wall(),
        metrics=metrics,
        alerts=alerts,
    )
    metrics.watch(driver)
    return driver


class PairNodeRole(Protocol):
    """What the driver asks of a pair's node (driver.app.pair.PairNode)."""

    def submit(self, jobs: list[Job]) -> None: ...

    async def queued(self, log_id: int, seconds: float) -> bool: ...

    def status(self) -> PairStatus: ...


@dataclass
class Driver:
    """One driver's parts and its life: see the module docstring."""

    config: Config
    store: Store
    jira: JiraClient
    engine: Engine
    health: JiraHealth
    """Jira's health, shared by the engine, sync and metadata (JiraHealth.observe)."""
    settings: RuntimeSettings
    sync: Sync
    clock: Clock
    timer: Timer
    started_at: datetime
    metrics: DriverMetrics = field(default_factory=DriverMetrics)
    """What GET /metrics shows (driver.app.metrics)."""
    alerts: dict[str, AlertTemplates] = field(default_factory=dict)
    alert_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by the alert intake from reading a notification's notices to committing its commands
    (driver.app.alert_intake.take_alerts)."""
    """The compiled templates of [alertmanager] and [grafana], by sender."""
    accepting: bool = True
    """False from the moment it stops: intake answers 503 (nothing half-accepted)."""
    db_problem: str = ""
    """Why the API's last write failed ('' once one succeeds), shown beside the engine's own."""
    pair: PairNodeRole | None = None
    """A pair's node (driver.app.pair): committed rows go to it, not to the engine; the status
    names its role. None: a driver alone."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def setup(self) -> RequestSetup:
        """The table, catalog and request settings in force (shared with the engine and intake)."""
        return self.settings.setup

    @property
    def responses(self) -> ResponseLog:
        """The answers heard outside a unit of work, waiting for upkeep.responses to write them."""
        return self.jira.responses

    @property
    def responses_config(self) -> ResponsesSection:
        """How much of the Responses table is kept."""
        return self.config.responses

    # --- life -----------------------------------------------------------------------------------

    def prepare(self, opening: Opening | None = None, through: int | None = None) -> int:
        """Settle the database file's birth (`opening`, from database_file.check: a new or
        replaced database probes before it creates), then load the open rows (ids up to
        `through`: a pair's hand-off feeds the rest, driver.app.pair) and the creates in doubt.
        Returns how many rows are open."""
        if opening is not None:
            until = database_file.settle(
                self.store,
                opening,
                self.config.ticket.search_before_create,
                probe_new_days=self.config.ticket.probe_new_days,
                now=self.clock(),
            )
            self.engine.probe_unknown_while(until)
        self.engine.load(through)
        return self.engine.queue_depth()

    async def start(self, metadata_wait: float = METADATA_WAIT) -> None:
        """Ask Jira for its flavour and field list (commands are shaped with them: wait for one
        answer, at most `metadata_wait` s, then go on asking in the background), start sending,
        the log's upkeep and polling."""
        first_try = asyncio.Event()
        self._spawn(upkeep.metadata(self, self.config.jira.retry_base_seconds, first_try), "metadata")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_try.wait(), metadata_wait)
        self.engine.start()
        self._spawn(upkeep.retention(self), "retention")
        self._spawn(upkeep.trimmer(self, self.config.log.trim_interval_seconds), "trimmer")
        self._spawn(upkeep.responses(self), "responses")
        self.sync.start()

    async def stop(self, grace: float) -> None:
        """Take no new commands, give in-flight requests `grace` s (the rest stay open, a create in
        doubt journaled), then close the client and the store."""
        self.accepting = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        # ended before the store closes (the trimmer takes its hook off the store as it ends)
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sync.stop()
        await self.engine.stop(grace)
        await self.jira.aclose()
        with contextlib.suppress(sqlite3.Error), self.store.transaction():
            self.store.add_responses(self.jira.responses.take())  # what upkeep had not written yet
        self.store.close()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work, name=f"driver-{name}"))

    # --- work -----------------------------------------------------------------------------------

    def accept(
        self,
        entries: Sequence[NewEntry],
        idempotency: tuple[str, str] | None = None,
        notices: Sequence[Notice] = (),
    ) -> list[Job]:
        """Commit checked commands in one transaction (with the batch's Idempotency-Key and body
        digest, or an alert notification's notices), then queue them. sqlite3.OperationalError
        (locked or full) leaves nothing queued; sqlite3.IntegrityError: the key was committed
        meanwhile by another request."""
        submit = self.pair.submit if self.pair is not None else self.engine.submit
        return commit(entries, self.store, submit, self.settings.max_entries, idempotency, notices)

    def execute(self) -> Job:
        """A Manual create of the Create Query as it stands now."""
        return self.accept([_manual_entry(self.setup)])[0]

    async def wait_settled(self, log_id: int, seconds: float) -> None:
        """Until the row is settled or `seconds` have passed (a pair's leader: once its hand-off
        has queued the row)."""
        if self.pair is not None:
            began = self.timer()
            if not await self.pair.queued(log_id, seconds):
                return
            seconds -= (self.timer() - began).total_seconds()
        await self.engine.wait_settled(log_id, seconds)

    # --- Jira -----------------------------------------------------------------------------------

    def jira_answered(self) -> None:
        """Jira answered properly outside the engine (check, field list): an outage ends."""
        self.engine.mark_ok()

    async def check_jira(self) -> CheckResult:
        """GET myself against Jira, credentials refused before tried once more."""
        project, issue_type = table_target(self.setup.table)
        lifecycle = self.setup.lifecycle
        plan = CheckPlan.of(
            self.setup.table,
            project,
            issue_type,
            self.setup.settings.guid_field,
            (lifecycle.resolve_target, lifecycle.reopen_target),
            lifecycle.resolution,
        )
        result, _ = await check(self.jira, project, issue_type, plan, self.credential_expiry())
        if result.connected and self.health.auth_failed:
            # a person fixed what Jira refused (a new consent by `auth login`, a rights change) and
            # asked: the credentials work again, so sending resumes
            self.engine.credentials_changed()
        if result.ok:
            self.jira_answered()
        return result

    def credential_expiry(self) -> str:
        """The configured credentials' expiry warning (14 days ahead), or ''."""
        return credential_expiry(self.config, self.clock())

    async def detect_flavour(self) -> bool:
        """Settle Cloud or Data Center (api_type auto); False if Jira did not answer."""
        return await detect(self.jira, self.setup, self.health, self.timer())

    async def refresh_catalog(self) -> FieldCatalog:
        """Jira's field list into the catalog and the store. CredentialsRefused after a 401,
        JiraError when Jira fails."""
        catalog = await refresh_catalog(self.jira, self.setup, self.store, self.health, self.timer())
        self.jira_answered()
        return catalog

    async def refresh_metadata(self) -> bool:
        """Flavour, then field list; True when Jira gave both."""
        detected = await self.detect_flavour()
        try:
            catalog = await self.refresh_catalog()
        except (JiraError, CredentialsRefused) as exc:
            log.warning("cannot load Jira's field list (using the stored catalog): %s", exc)
            return False
        log.info("field catalog loaded from Jira: %d fields", len(catalog))
        return detected

    # --- what it says ---------------------------------------------------------------------------

    def status(self) -> DriverStatus:
        """The status line: Jira's state, the queue, pauses, the database, the engine and sync."""
        engine, health, store = self.engine, self.health, self.store
        unread = ""
        try:
            pending, deferred = store.counts()
            failed_today = store.failed_today()
            sync = self.sync.status()
        except sqlite3.OperationalError as exc:
            # the status says so rather than failing: it is how an operator sees which node leads
            # and why while the database is away (what the engine holds in memory stands in)
            pending, deferred, failed_today = engine.queue_depth(), 0, 0
            sync = SyncStatus(mode=self.config.sync.mode)
            unread = str(exc)
        now = self.timer()
        paused = health.paused_all_until(now)
        outage = health.outage_until if health.outage_strikes else None
        problem = engine.db_problem or self.db_problem or unread
        return DriverStatus(
            version=__version__,
            started_at=self.started_at,
            jira_state=health.state,
            jira_message=health.message,
            api_type=self.jira.api_type,
            queue_depth=pending + deferred,
            pending=pending,
            deferred=deferred,
            failed_today=failed_today,
            paused_until=engine.wall_of(paused) if paused is not None else None,
            pause_reason=health.pauses.reason if paused else "",
            near_limit=self.jira.near_limit,
            database="unavailable" if problem else "ok",
            database_message=database_message(problem) if problem else "",
            commits=engine.commits,
            engine_running=engine.running,
            outage_attempts=health.outage_strikes,
            outage_until=engine.wall_of(outage) if outage is not None else None,
            sync=sync,
            credential_warning=self.credential_expiry(),
            pair=self.pair.status() if self.pair is not None else None,
        )
