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
import logging
import os
import re
import signal
import socket
import sqlite3
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from driver.api import create_app
from driver.app.driver import METADATA_WAIT, Driver, build
from driver.config import Config
from driver.config_file import exposed_secrets_warning
from driver.database_url import is_postgresql
from driver.errors import ConfigError
from driver.service.connection_guard import (
    connection_budget,
    guarded_protocol,
    quiet_accept_errors,
    raise_file_limit,
)
from driver.service.logging_setup import watch_secrets
from driver.store import Store, database_file
from driver.store.counters import S_JIRA

if TYPE_CHECKING:
    from driver.app.pair import PairNode

log = logging.getLogger("driver")
ENGINE_GRACE = 4.0
"""Seconds in-flight Jira requests get at shut-down; the rest stay open (a create in doubt journaled)."""


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


def is_loopback(host: str) -> bool:
    """The address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(config: Config, *, init: bool = False, config_file: Path | None = None) -> str | None:
    """Run until SIGINT/SIGTERM: the name of the signal that stopped it ("" for a stop without one),
    None when the address cannot be listened on.

    init: `run --init`, start on a missing, empty or replaced database (driver.store.database_file).
    config_file: the file the config came from, checked for secrets others may read.
    Raises DatabaseFileError when the database file cannot be used, ConfigError for a configured
    value out of bounds, sqlite3.Error or OSError when the database cannot be opened
    (driver.cli.run reports each in one line).
    """
    if warning := exposed_secrets_warning(config_file):
        log.warning("%s", warning)
    if not is_loopback(config.driver.host) and not config.driver.api_token.get_secret_value():
        log.warning(
            "the HTTP API listens on %s without [driver] api_token: anyone who reaches it can send"
            " commands and change the Jira credentials; set api_token (docs/operations.md)",
            config.driver.listen,
        )
    # one driver per database file, decided before the database is read (two would both send
    # everything); a pair on PostgreSQL decides by the sender's lease instead (driver.app.pair)
    pair = is_postgresql(config.driver.database)
    held = None if pair else database_file.lock(Path(config.driver.database))
    soft_files, _ = raise_file_limit()
    host, port = config.driver.host, config.driver.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # the port before the store: a taken port stops the start before anything is loaded or sent
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error(
            "cannot listen on %s ([driver] listen): %s; stop what holds it, or choose another address",
            config.driver.listen,
            exc.strerror,
        )
        if held is not None:
            held.release()
        return None
    try:
        return await _run(config, sock, family, soft_files, init=init)
    finally:
        sock.close()
        if held is not None:
            held.release()


LEASE_LOST = "LEASE"
"""What `serve` returns when this node of a pair lost the sender's lease: `run` starts again, as a
standby (driver.cli.run)."""


async def join_pair(config: Config, driver: Driver, lost: Callable[[str], None]) -> PairNode:
    """This driver as a node of a pair on its PostgreSQL database: it claims the sender's lease at
    once and sends only while it holds it; `lost` is called when it no longer does. Raises
    ConfigError when the database is another Jira's (two pairs on one database by mistake)."""
    from driver.app.leadership import node_name
    from driver.app.pair import PairNode
    from driver.model.lease import LeaseTerms, shown

    remember_jira(driver.store, config)
    node = PairNode(
        driver,
        config.driver.database,
        LeaseTerms.of(config.ha.lease_seconds),
        node_name(config.ha.node),
        lost=lost,
    )
    driver.pair = node
    await node.start()
    state = node.elector.state
    if state.leader:
        log.info("node %s: takes the sender's lease (term %d)", state.node, state.term)
    else:
        log.warning(
            "node %s: standby (%s holds the sender's lease): takes commands, sends when it leads",
            shown(state.node),
            shown(state.holder) or "no node",
        )
        if state.holder and shown(state.holder) == shown(state.node):
            log.error(
                "another process named %s ([ha] node) holds the lease: give each node its own name",
                shown(state.node),
            )
    return node


async def build_waiting(
    config: Config, stopping: asyncio.Event, sock: socket.socket
) -> tuple[Driver | None, socket.socket]:
    """The driver of a pair's node, waiting for PostgreSQL while it cannot be reached (a node that
    starts during the database's outage, or after losing its lease to one, comes up by itself
    when it is back), and the socket to serve on. While it waits the API's socket is closed: a
    client is refused at once (and tries the other node) instead of queueing a command in a
    backlog nobody reads, to be taken after it gave up. (None, sock) when `stopping` is set (a
    signal) meanwhile. Raises ConfigError when the database refuses this driver for good (no such
    database or role, a password refused), OSError when the address was taken meanwhile."""
    wait = 1.0
    address = sock.getsockname()[:2]
    while not stopping.is_set():
        try:
            driver = build(config)
        except sqlite3.OperationalError as exc:  # the store's DatabaseUnavailable
            if refused := _REFUSED_FOR_GOOD.search(str(exc)):
                raise ConfigError(
                    "driver", "database", None, f"PostgreSQL refuses this driver: {refused.group(0)}"
                ) from None
            if sock.fileno() != -1:
                sock.close()
            log.warning("waiting for the database (%s): trying again in %g s", exc, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)
            wait = min(wait * 2, DATABASE_WAIT_CAP)
            continue
        if sock.fileno() == -1:
            sock = listening_socket(*address)
        return driver, sock
    return None, sock


_REFUSED_FOR_GOOD = re.compile(
    r'database "[^"]*" does not exist|role "[^"]*" does not exist|password authentication failed'
    r"[^,;]*|no pg_hba\.conf entry[^,;]*|invalid \w+ value"
)
"""What PostgreSQL answers a connection that no retry will fix: the start ends in one line."""


DATABASE_WAIT_CAP = 10.0
"""Longest wait, in seconds, between two tries of an unreachable PostgreSQL at a node's start."""


def remember_jira(store: Store, config: Config) -> None:
    """The database keeps the Jira its first driver sent to; another is refused (ConfigError)."""
    url = config.jira.url.rstrip("/")
    known = store.setting(S_JIRA)
    if known is None:
        store.put_setting(S_JIRA, url)
    elif known != url:
        raise ConfigError(
            "jira",
            "url",
            url,
            f"this database belongs to the driver of {known}: give this driver a database of its own",
        )


def credentials_line(config: Config) -> str:
    """Which Jira, which kind of credentials, and which of them an environment variable set (an old
    JIRA_DRIVER_JIRA_PASSWORD overriding the file is otherwise a riddle). Names, never values."""
    from driver.config_file import ENV_PREFIX, secret_keys
    from driver.jira.auth import credentials_from_config

    credentials = credentials_from_config(config.jira)
    who = f" as {credentials.username}" if credentials.mode == "basic" and credentials.username else ""
    kind = "no" if credentials.mode == "none" else credentials.mode
    line = f"Jira at {config.jira.url}: {kind} credentials{who}"
    keys = {*secret_keys()["jira"], "username", "auth", "client_id"}
    named = {f"{ENV_PREFIX}JIRA_{key.upper()}" for key in keys}
    from_env = sorted(k for k, v in os.environ.items() if k in named and v)
    return line + (
        f" (from the environment: {', '.join(from_env)})" if from_env else " (from the config file)"
    )


async def _run(config: Config, sock: socket.socket, family: int, soft_files: int, *, init: bool) -> str:
    """The driver on its locked database and bound socket, until SIGINT/SIGTERM."""
    host = config.driver.host
    on_postgresql = is_postgresql(config.driver.database)
    stopped_by: list[str] = []
    server: _Server | None = None
    built: Driver | None = None
    stopping = asyncio.Event()

    def stop(signame: str, why: str = "no new commands; finishing in-flight work") -> None:
        if not stopped_by:
            log.info("%s: stopping (%s)", signame, why)
            stopped_by.append(signame)
        stopping.set()
        if built is not None:
            built.accepting = False
        if server is not None:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    opening = None if on_postgresql else database_file.check(Path(config.driver.database), init=init)
    given = sock
    if on_postgresql:
        built, sock = await build_waiting(config, stopping, sock)
    else:
        built = build(config)
    if built is None:
        return stopped_by[0]  # stopped while it waited for the database
    driver = built
    # credentials a person sets while it runs (PUT /api/settings/auth) are masked like the configured ones
    watch_secrets(lambda: driver.jira.secret_forms)
    log.info("%s", credentials_line(config))
    if warning := driver.credential_expiry():
        log.warning("%s", warning)
    if config.jira.auth.startswith("oauth") and (trimmed := config.jira.client_secret_trimmed()[1]):
        log.warning("%s", trimmed)
    node = None
    if on_postgresql:
        node = await join_pair(config, driver, lambda why: stop(LEASE_LOST, why))
    else:
        pending = driver.prepare(opening)
        if pending:
            log.info("resuming %d pending commands", pending)
        # commands are shaped with what Jira tells (flavour, custom fields): the start waits for
        # one answer, briefly, so a Jira that is down does not keep the API from taking commands
        await driver.start(METADATA_WAIT)

    bound_port = sock.getsockname()[1]
    app = create_app(driver)
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
    server = srv = _Server(
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
    log.info("event loop: %s", "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio")
    quiet_accept_errors(loop)

    async def announce() -> None:
        while not srv.started:
            if srv.should_exit:
                return
            await asyncio.sleep(0.01)
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        print(f"jira-driver listening on http://{shown}:{bound_port}", flush=True)  # noqa: T201
        log.info("listening on http://%s:%d", shown, bound_port)

    announcer = asyncio.create_task(announce())
    try:
        if not stopped_by:  # the lease may have been lost already
            await srv.serve(sockets=[sock])
    finally:
        announcer.cancel()
        if sock is not given:
            sock.close()  # bound again after the wait for the database (serve closes the first)
        await driver.stop(ENGINE_GRACE)
        if node is not None:
            await node.stop()  # after the engine: a held lease is handed on only once it is idle
        log.info("stopped")
    return stopped_by[0] if stopped_by else ""
