"""`jira-driver run` (driver.cli.run): wire the store, the Jira client, the engine and the HTTP API, serve.

Start-up: take the database's lock (driver.store.database_file.lock: one driver per database), raise the
open-file limit, bind the API's socket (a taken port stops the start before anything is loaded or
sent), then open the store (migrations), restore settings changed at run time (driver.app.settings:
a stored value that is no longer valid is logged and the config file's is used), load pending work and
in-doubt creates, ask Jira for its flavour and field list (bounded wait, then in the background),
start the engine and uvicorn in the same event loop, print `jira-driver listening on URL`. With
`[sync] mode` poll or both, polling Jira for changes to the driver's tickets starts too
(driver.sync.service; the webhook needs nothing started: it is a route).

Shut-down on SIGINT/SIGTERM: stop taking commands (503), let uvicorn finish open HTTP requests,
give in-flight Jira requests a few seconds, park the rest (an unanswered create stays journaled
and is settled by a probe at the next start), close the store; exit 0 well within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from driver.api import DriverContext, create_app
from driver.app.metadata import detect, refresh_catalog
from driver.app.settings import RuntimeSettings
from driver.config import Config, exposed_secrets_warning
from driver.errors import JiraError
from driver.jira.client import JiraClient
from driver.sending.engine import Engine
from driver.service.connection_guard import (
    RepeatFilter,
    connection_budget,
    guarded_protocol,
    quiet_accept_errors,
    raise_file_limit,
)
from driver.store import TRIM_BATCH, Store, database_file
from driver.sync.service import Sync

log = logging.getLogger("driver")
RETENTION_PERIOD = 24 * 3600.0
IDEMPOTENCY_KEEP = timedelta(days=1)
"""How long a batch's Idempotency-Key answers a repeat (a client retries in seconds, not days)."""
METADATA_RETRY_MAX = 30.0
METADATA_WAIT = 5.0
ENGINE_GRACE = 4.0
SETTLE_TRIM_PAUSE = 1.0
"""Least seconds between two trims woken by settled rows."""


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(json_lines: bool) -> None:
    """Plain lines (or JSON lines) on stderr; httpx's per-request lines stay quiet.

    Repeated records of one kind are rate-limited (connection_guard.RepeatFilter): a flood of one
    failure must not fill the disk.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatFilter())
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening, non-blocking TCP socket for the API (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and without it
    # every keep-alive answer waits ~40 ms for a delayed ACK (headers and body go in two writes)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def build(config: Config) -> DriverContext:
    """Open the store and build the client and engine, with the settings changed at run time restored.

    Raises ConfigError when a config file value is outside what the API would accept.
    """
    store = Store(Path(config.driver.database), zone=config.zone())
    settings = RuntimeSettings.load(config, store)
    jira = JiraClient.from_config(config.jira, settings.credentials, settings.ticket_location)
    engine = Engine(
        store,
        jira,
        settings.limiter(),
        settings.setup,
        max_retries=config.jira.max_retries,
        retry_base=config.jira.retry_base_seconds,
        probe_delay=config.jira.probe_delay_seconds,
        concurrency=config.driver.concurrency,
    )
    settings.attach(jira, engine)
    return DriverContext(
        config=config,
        store=store,
        engine=engine,
        jira=jira,
        settings=settings,
        started_at=datetime.now(UTC),
        sync=Sync(config.sync, store, jira, engine),
    )


async def _metadata(ctx: DriverContext, first_delay: float, first_try: asyncio.Event) -> None:
    """Learn Jira's flavour and field list, trying again until Jira answers.

    Jira may be down when the driver starts (a reboot of both); without this, custom fields named by
    their display name would be refused until the next restart.
    """
    delay = first_delay
    engine = ctx.engine
    while True:
        detected = await detect(ctx.jira, engine.setup, engine.health)
        try:
            catalog = await refresh_catalog(ctx.jira, engine.setup, ctx.store, engine.health)
            engine.mark_ok()
        except JiraError as exc:
            log.warning("cannot load Jira's field list (using the stored catalog): %s", exc)
        else:
            log.info("field catalog loaded from Jira: %d fields", len(catalog))
            if detected:
                first_try.set()
                return
        first_try.set()
        log.info("asking Jira for its metadata again in %.0f s", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, METADATA_RETRY_MAX)


async def _retention(ctx: DriverContext) -> None:
    """The daily clean-up: rows older than `remove_older_than_days` (in batches), journals, keys."""
    while True:
        removed = await _in_batches(
            lambda: ctx.store.remove_older_than(ctx.settings.log.remove_older_than_days, TRIM_BATCH)
        )
        if removed:
            log.info(
                "log retention removed %d rows older than %d days",
                removed,
                ctx.settings.log.remove_older_than_days,
            )
        ctx.engine.prune_journal()
        ctx.store.prune_idempotency(IDEMPOTENCY_KEEP)
        if ctx.sync is not None:
            ctx.sync.prune()
        await asyncio.sleep(RETENTION_PERIOD)


async def _trimmer(ctx: DriverContext, interval: float) -> None:
    """Trim the log back to `max_entries` when rows settle and every `interval` s, without intake.

    Intake trims too, but rows still open then are over the limit once they settle; without this
    they stayed until the next command (issue 15 item 5: 19,738 rows left with max_entries 10,000).
    A stream of settlements wakes it at most once per SETTLE_TRIM_PAUSE s (monotonic), so the
    writer sees one short batch a second at most, not one per settled row.
    """
    settled = asyncio.Event()
    ctx.store.on_settle = settled.set
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), interval)
            settled.clear()
            if ctx.store.over_limit(ctx.settings.max_entries):  # in memory: no transaction for nothing
                removed = await _in_batches(lambda: ctx.store.trim(ctx.settings.max_entries, TRIM_BATCH))
                if removed:
                    log.info(
                        "log retention removed %d rows over max_entries %d", removed, ctx.settings.max_entries
                    )
            await asyncio.sleep(min(SETTLE_TRIM_PAUSE, interval))
    finally:
        ctx.store.on_settle = None


async def _in_batches(step: Callable[[], int]) -> int:
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


def _loopback(host: str) -> bool:
    """The address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(config: Config, *, init: bool = False, config_file: Path | None = None) -> bool:
    """Run until SIGINT/SIGTERM: True on a clean stop, False when the address cannot be listened on.

    init: `run --init`, start on a missing, empty or replaced database (driver.store.database_file).
    config_file: the file the config came from, checked for secrets others may read.
    Raises DatabaseFileError when the database file cannot be used, ConfigError for a configured
    value out of bounds, sqlite3.Error or OSError when the database cannot be opened
    (driver.cli.run reports each in one line).
    """
    if warning := exposed_secrets_warning(config_file):
        log.warning("%s", warning)
    if not _loopback(config.driver.host) and not config.driver.api_token.get_secret_value():
        log.warning(
            "the HTTP API listens on %s without [driver] api_token: anyone who reaches it can send"
            " commands and change the Jira credentials; set api_token (docs/operations.md)",
            config.driver.listen,
        )
    # one driver per database, decided before the database is read (two would both send everything)
    held = database_file.lock(Path(config.driver.database))
    soft_files, _ = raise_file_limit()
    host, port = config.driver.host, config.driver.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # the port before the store: a taken port stops the start before anything is loaded or sent
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("cannot listen on %s: %s", config.driver.listen, exc.strerror)
        held.release()
        return False
    try:
        return await _run(config, sock, family, soft_files, init=init)
    finally:
        sock.close()
        held.release()


async def _run(config: Config, sock: socket.socket, family: int, soft_files: int, *, init: bool) -> bool:
    """The driver on its locked database and bound socket, until SIGINT/SIGTERM."""
    host = config.driver.host
    opening = database_file.check(Path(config.driver.database), init=init)
    ctx = build(config)
    ctx.engine.probe_unknown_until = database_file.settle(
        ctx.store,
        opening,
        config.ticket.search_before_create,
        probe_new_days=config.ticket.probe_new_days,
        now=ctx.engine.clock(),
    )
    ctx.engine.load()
    engine = ctx.engine
    pending = engine.queue_depth()
    if pending:
        log.info("resuming %d pending commands", pending)
    # commands are shaped with what Jira tells (flavour, custom fields), so wait for one answer,
    # briefly: a Jira that is down must not keep the API from taking commands
    first_try = asyncio.Event()
    metadata = asyncio.create_task(_metadata(ctx, config.jira.retry_base_seconds, first_try))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(first_try.wait(), METADATA_WAIT)
    engine.start()
    retention = asyncio.create_task(_retention(ctx))
    trimmer = asyncio.create_task(_trimmer(ctx, config.log.trim_interval_seconds))
    if ctx.sync is not None:
        ctx.sync.start()

    bound_port = sock.getsockname()[1]
    app = create_app(ctx)
    connections, backlog = connection_budget(
        config.driver.max_connections, soft_files, config.driver.concurrency
    )
    if connections < config.driver.max_connections:
        log.warning(
            "the open-file limit (%d) holds %d API connections, not [driver] max_connections %d;"
            " raise LimitNOFILE (docs/operations.md)",
            soft_files,
            connections,
            config.driver.max_connections,
        )
    server = _Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
            # connections are bounded by the protocol (uvicorn's limit_concurrency would count idle
            # slow sockets and answer a real client 503: driver.service.connection_guard)
            http=guarded_protocol(
                connections, config.driver.header_timeout_seconds, config.driver.body_timeout_seconds
            ),
            # h11's default, named: a request head larger than 16 KiB is refused, not buffered
            h11_max_incomplete_event_size=16 * 1024,
            backlog=backlog,
        )
    )
    loop = asyncio.get_running_loop()
    quiet_accept_errors(loop)

    def stop(signame: str) -> None:
        if not server.should_exit:
            log.info("%s: stopping (no new commands; finishing in-flight work)", signame)
        ctx.accepting = False
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        print(f"jira-driver listening on http://{shown}:{bound_port}", flush=True)  # noqa: T201
        log.info("listening on http://%s:%d", shown, bound_port)

    announcer = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        ctx.accepting = False
        announcer.cancel()
        retention.cancel()
        trimmer.cancel()
        metadata.cancel()
        if ctx.sync is not None:
            await ctx.sync.stop()
        await engine.stop(ENGINE_GRACE)
        await ctx.jira.aclose()
        ctx.store.close()
        log.info("stopped")
    return True
