"""Prometheus metrics of one driver (GET /metrics), with prometheus-client on a registry of its own.

Naming follows Prometheus' rules (docs/wire-facts.md §14): one prefix, `jira_driver_`; base units
(`_seconds`); `_total` on counters; no per-alarm or per-ticket labels (a GUID or a key as a label
would grow the series without end). Two sources:
- events counted as they happen: every answer the Jira client hears (its kind, outcome, status
  class, latency, a 429's RateLimit-Reason), commands accepted and refused at intake, alert
  notifications taken;
- state read at scrape time from what the driver already knows (queue, Jira's state, the
  database, pacing, the statistics' totals, webhook deliveries, polls), so no counter can drift
  from the status line.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, StateSetMetricFamily
from prometheus_client.registry import Collector

from driver import __version__
from driver.contract.schemas import DriverStatus, JiraState, Statistics
from driver.model.responses import HeardResponse


class _Recorder(Protocol):
    @property
    def events(self) -> Tally[str]: ...


class _Engine(Protocol):
    @property
    def recorder(self) -> _Recorder: ...


class _Access(Protocol):
    @property
    def source(self) -> object: ...


class _Jira(Protocol):
    @property
    def access(self) -> _Access: ...


class _Health(Protocol):
    @property
    def pace(self) -> float | None: ...


class _Store(Protocol):
    def oldest_open_at(self) -> datetime | None: ...

    def statistics(self) -> Statistics: ...


class Watched(Protocol):
    """What the metrics read of a driver at scrape time (driver.app.driver.Driver is one)."""

    @property
    def store(self) -> _Store: ...
    @property
    def engine(self) -> _Engine: ...
    @property
    def jira(self) -> _Jira: ...
    @property
    def health(self) -> _Health: ...
    @property
    def started_at(self) -> datetime: ...

    def status(self) -> DriverStatus: ...

    def clock(self) -> datetime: ...


# `_created` series (each counter's creation time) double the output and no dashboard uses them
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
"""Seconds: client_python's defaults stop at 10 s, short for Jira under load (its timeout is 30)."""


_REASONS = {
    "BadRequest": "bad_input",
    "CommandError": "bad_input",
    "ShapeError": "bad_input",
    "TooLarge": "too_large",
    "Conflict": "conflict",
    "OperationalError": "database",
    "DatabaseError": "database",
    "IntegrityError": "database",
    "ShuttingDown": "unavailable",
}
"""Intake refusals by the error's class: the reasons /metrics shows."""


def _status_class(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"


class DriverMetrics:
    """The registry GET /metrics renders, and the counters events feed."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "jira_driver_jira_requests",
            "Requests to Jira, by what they were for, how they ended and the answer's status class",
            ["kind", "outcome", "status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "jira_driver_jira_request_duration_seconds",
            "Time from sending a request to Jira to its answer (or failure)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "jira_driver_jira_rate_limited",
            "429 answers from Jira, by RateLimit-Reason",
            ["reason"],
            registry=self.registry,
        )
        self.accepted = Counter(
            "jira_driver_commands_accepted",
            "Commands committed at intake (Advanced, Alertmanager, Grafana, Manual)",
            registry=self.registry,
        )
        self.refused = Counter(
            "jira_driver_intake_refused",
            "Intake requests refused whole (nothing queued), by why",
            ["reason"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "jira_driver_alert_notifications",
            "Alert notifications taken in, by sender and what came of them",
            ["sender", "result"],
            registry=self.registry,
        )
        self.forgotten = Counter(
            "jira_driver_guids_forgotten",
            "GUIDs forgotten after [ticket] forget_after_days without a command",
            registry=self.registry,
        )
        Info("jira_driver_build", "The running jira-driver", registry=self.registry).info(
            {"version": __version__}
        )

    def heard(self, response: HeardResponse) -> None:
        """Count one answer (or failure) the Jira client heard."""
        kind = response.kind.value
        status = response.status
        outcome = (
            "ok" if status is not None and status < 400 else "error" if status is not None else "no_answer"
        )
        self.requests.labels(kind, outcome, _status_class(status)).inc()
        self.latency.labels(kind).observe(response.duration_ms / 1000)
        if status == 429:
            self.rate_limited.labels(response.rate_limit_reason or "none").inc()

    def refusal(self, error: BaseException) -> None:
        """Count an intake request refused by `error`: bad_input, too_large, conflict, database,
        unavailable (shutting down), or the error's class for anything else."""
        names = [kind.__name__ for kind in type(error).__mro__]
        reason = next((_REASONS[n] for n in names if n in _REASONS), type(error).__name__)
        self.refused.labels(reason).inc()

    def watch(self, driver: Watched) -> None:
        """Read the driver's state at each scrape."""
        self.registry.register(_StateCollector(driver))


class _StateCollector(Collector):
    def __init__(self, driver: Watched) -> None:
        self.driver = driver

    def collect(self) -> Iterable[Metric]:
        return list(self._metrics())

    def _metrics(self) -> Iterator[Metric]:
        driver = self.driver
        status = driver.status()
        queue = GaugeMetricFamily(
            "jira_driver_queue_rows", "Log rows not yet settled, by status", labels=["status"]
        )
        queue.add_metric(["pending"], status.pending)
        queue.add_metric(["deferred"], status.deferred)
        yield queue
        try:
            oldest, totals = driver.store.oldest_open_at(), driver.store.statistics()
        except sqlite3.OperationalError:
            # the database away (a locked file, PostgreSQL unreachable): the scrape still answers,
            # says so, and leaves out what only the database knows (a failed scrape would take the
            # pair's and Jira's state with it)
            oldest, totals = None, None
        if totals is not None:
            age = GaugeMetricFamily(
                "jira_driver_queue_oldest_age_seconds", "Age of the oldest row not yet settled (0: none)"
            )
            age.add_metric([], max(0.0, (driver.clock() - oldest).total_seconds()) if oldest else 0.0)
            yield age
        state = StateSetMetricFamily("jira_driver_jira_state", "Jira as the driver sees it")
        state.add_metric([], {s.value: s is status.jira_state for s in JiraState})
        yield state
        database = StateSetMetricFamily("jira_driver_database_state", "The driver's own database")
        ok = status.database == "ok" and totals is not None
        database.add_metric([], {"ok": ok, "unavailable": not ok})
        yield database
        pace = GaugeMetricFamily(
            "jira_driver_pacing_requests_per_second",
            "The send rate in use after Jira's limits (0: not paced)",
        )
        pace.add_metric([], driver.health.pace or 0.0)
        yield pace
        engine = GaugeMetricFamily("jira_driver_engine_running", "1 while every sending worker is alive")
        engine.add_metric([], 1.0 if status.engine_running else 0.0)
        yield engine
        if (pair := status.pair) is not None:
            leader = GaugeMetricFamily(
                "jira_driver_pair_leader",
                "1 while this node holds the sender's lease (a pair on PostgreSQL), 0 as the standby",
                labels=["node"],
            )
            leader.add_metric([pair.node], 1.0 if pair.role == "leader" else 0.0)
            yield leader
            term = GaugeMetricFamily("jira_driver_pair_term", "The sender's lease's term, as last seen")
            term.add_metric([], float(pair.term))
            yield term
            since = GaugeMetricFamily(
                "jira_driver_pair_role_since_timestamp_seconds", "When this node's role began (Unix time)"
            )
            since.add_metric([], pair.since.timestamp() if pair.since else 0.0)
            yield since
            nodes = GaugeMetricFamily(
                "jira_driver_pair_nodes",
                "Processes heard on the pair's database in the last half lease, this one included"
                " (a pair is 2; a node killed is heard for half a lease after)",
            )
            nodes.add_metric([], float(len(pair.nodes)))
            yield nodes
        if totals is not None:
            tickets = CounterMetricFamily(
                "jira_driver_tickets",
                "Tickets created and updated (the Statistics page's totals: a reset there resets these)",
                labels=["event"],
            )
            tickets.add_metric(["created"], totals.create.total)
            tickets.add_metric(["updated"], totals.update.total)
            yield tickets
        events = driver.engine.recorder.events
        settled = CounterMetricFamily(
            "jira_driver_rows_settled",
            "Rows settled since start by what they did: resolved, reopened (a transition made), merged"
            " (an automatic update that went out with a later one)",
            labels=["event"],
        )
        for event in ("resolved", "reopened", "merged"):
            settled.add_metric([event], events[event])
        yield settled
        source = driver.jira.access.source
        tokens = CounterMetricFamily(
            "jira_driver_oauth_token_requests", "OAuth access tokens minted or refreshed since start"
        )
        tokens.add_metric([], float(getattr(source, "minted", 0)))
        yield tokens
        sync = status.sync
        webhooks = CounterMetricFamily(
            "jira_driver_webhook_deliveries",
            "Jira webhook deliveries since start, by result",
            labels=["result"],
        )
        for result, count in (
            ("applied", sync.webhooks_applied),
            ("unchanged", sync.webhooks_unchanged),
            ("duplicate", sync.webhooks_duplicate),
            ("ignored", sync.webhooks_ignored),
            ("refused", sync.webhooks_refused),
        ):
            webhooks.add_metric([result], count)
        yield webhooks
        poll = GaugeMetricFamily(
            "jira_driver_poll_last_success_timestamp_seconds",
            "When the last poll Jira answered ended (0: none)",
        )
        poll.add_metric([], sync.last_poll_at.timestamp() if sync.last_poll_at else 0.0)
        yield poll
        failing = GaugeMetricFamily("jira_driver_poll_failing", "1 while the last poll failed")
        failing.add_metric([], 1.0 if sync.last_poll_error else 0.0)
        yield failing
        up = GaugeMetricFamily("jira_driver_start_time_seconds", "When this driver started (Unix time)")
        up.add_metric([], driver.started_at.timestamp() if driver.started_at else time.time())
        yield up
