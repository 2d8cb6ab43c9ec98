"""`jira-driver run`: wire the store, the Jira client, the engine and the HTTP API, then serve.

Start-up: open the store (migrations), restore settings changed at run time, load pending work and
in-doubt creates, ask Jira for its flavour and field list (bounded wait, then in the background),
start the engine and uvicorn in the same event loop, print `jira-driver listening on URL`.

Shut-down on SIGINT/SIGTERM: stop taking commands (503), let uvicorn finish open HTTP requests,
give in-flight Jira requests a few seconds, park the rest (an unanswered create stays journaled
and is settled by a probe at the next start), close the store; exit 0 well within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from driver import database_file
from driver.api import DriverContext, apply_ticket_location, create_app
from driver.config import Config, config_file_in_use, exposed_secrets_warning
from driver.engine import Engine
from driver.errors import JiraError
from driver.fields import FieldCatalog
from driver.jira_client import Credentials, JiraClient, credentials_from_config
from driver.jira_metadata import detect, refresh_catalog
from driver.limiter import UpdateLimiter
from driver.schemas import LogSettings, UpdateSettings
from driver.store import (
    S_AUTH,
    S_CATALOG,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    DatabaseFileError,
    Store,
)
from driver.ticket_config import TicketConfig
from driver.ticket_requests import RequestSettings
from driver.ticket_table import TicketTable, seed_table

log = logging.getLogger("driver")
RETENTION_PERIOD = 24 * 3600.0
METADATA_RETRY_MAX = 300.0
METADATA_WAIT = 5.0
ENGINE_GRACE = 4.0


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
    """Plain lines (or JSON lines) on stderr; httpx's per-request lines stay quiet."""
    handler = logging.StreamHandler(sys.stderr)
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
    """Open the store and build the client and engine, with settings changed at run time restored."""
    zone = config.zone()
    store = Store(Path(config.driver.database), zone=zone)
    stored_update = store.setting(S_UPDATE)
    update = (
        UpdateSettings.model_validate(stored_update)
        if stored_update
        else UpdateSettings(
            max_updates=config.update.max_updates,
            interval_seconds=config.update.interval_seconds,
            scope=config.update.scope,
        )
    )
    stored_log = store.setting(S_LOG)
    log_settings = (
        LogSettings.model_validate(stored_log)
        if stored_log
        else LogSettings(
            max_entries=config.log.max_entries,
            remove_older_than_days=config.log.remove_older_than_days,
        )
    )
    stored_auth = store.setting(S_AUTH)
    credentials = (
        Credentials(stored_auth["mode"], stored_auth.get("username", ""), stored_auth.get("secret", ""))
        if isinstance(stored_auth, dict)
        else credentials_from_config(config.jira)
    )
    stored_table = store.setting(S_TICKET_TABLE)
    if stored_table is not None:
        table = TicketTable.model_validate(stored_table)
    else:
        table = seed_table(config.ticket.project, config.ticket.issue_type)
        store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
    stored_catalog = store.setting(S_CATALOG)
    catalog = FieldCatalog.from_list(stored_catalog) if stored_catalog else FieldCatalog.system()

    jira = JiraClient.from_config(config.jira, credentials)
    limiter = UpdateLimiter(update.max_updates, update.interval_seconds, update.scope)
    ticket = TicketConfig(
        table=table,
        catalog=catalog,
        settings=RequestSettings.from_config(config),
        catalog_loaded=stored_catalog is not None,
    )
    engine = Engine(
        store,
        jira,
        limiter,
        ticket,
        max_retries=config.jira.max_retries,
        retry_base=config.jira.retry_base_seconds,
        probe_delay=config.jira.probe_delay_seconds,
        concurrency=config.driver.concurrency,
    )
    ctx = DriverContext(
        config=config,
        store=store,
        engine=engine,
        jira=jira,
        started_at=datetime.now(UTC),
        update_settings=update,
        log_settings=log_settings,
        credentials=credentials,
    )
    stored_location = store.setting(S_TICKET_LOCATION)
    if isinstance(stored_location, str) and stored_location:
        apply_ticket_location(ctx, stored_location)
    return ctx


async def _metadata(ctx: DriverContext, first_delay: float, first_try: asyncio.Event) -> None:
    """Learn Jira's flavour and field list, trying again until Jira answers.

    Jira may be down when the driver starts (a reboot of both); without this, custom fields named by
    their display name would be refused until the next restart.
    """
    delay = first_delay
    engine = ctx.engine
    while True:
        detected = await detect(ctx.jira, engine.ticket, engine.health)
        try:
            catalog = await refresh_catalog(ctx.jira, engine.ticket, ctx.store, engine.health)
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
    while True:
        removed = ctx.store.remove_older_than(ctx.log_settings.remove_older_than_days)
        if removed:
            log.info("log retention removed %d rows", removed)
        ctx.engine.prune_journal()
        await asyncio.sleep(RETENTION_PERIOD)


async def serve(config: Config, *, init: bool = False, config_file: Path | None = None) -> int:
    """Run until SIGINT/SIGTERM; 0 on a clean stop, 2 when the database file cannot be used.

    init: `run --init`, start on a missing, empty or replaced database (driver.database_file).
    config_file: the file the config came from, checked for secrets others may read.
    """
    if warning := exposed_secrets_warning(config_file):
        log.warning("%s", warning)
    try:
        opening = database_file.check(Path(config.driver.database), init=init)
        ctx = build(config)
        probe = database_file.settle(ctx.store, opening, config.ticket.search_before_create)
        ctx.engine.probe_unknown_guids = probe
        ctx.engine.load()
    except DatabaseFileError as exc:
        # one line, no traceback: 2 is the CLI's "bad input or configuration" code (driver.cli)
        sys.stderr.write(f"jira-driver: {exc}\n")
        return 2
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

    host, port = config.driver.host, config.driver.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("cannot listen on %s: %s", config.driver.listen, exc.strerror)
        await engine.stop(0)
        ctx.store.close()
        await ctx.jira.aclose()
        return 1
    bound_port = sock.getsockname()[1]
    app = create_app(ctx)
    server = _Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
    )
    loop = asyncio.get_running_loop()

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
        metadata.cancel()
        await engine.stop(ENGINE_GRACE)
        await ctx.jira.aclose()
        ctx.store.close()
        log.info("stopped")
    return 0


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver run`."""
    setup_logging(bool(getattr(args, "json_logs", False)))
    config_file = config_file_in_use(getattr(args, "config", None))
    return asyncio.run(serve(config, init=bool(getattr(args, "init", False)), config_file=config_file))
