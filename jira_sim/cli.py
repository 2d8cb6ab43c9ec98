"""Arguments and runner of `jira-driver sim` (driver.cli.sim): a Jira REST simulator on loopback."""

from __future__ import annotations

import argparse
import asyncio
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jira_sim.settings import (
    DEFAULT_USERS,
    FaultRule,
    Limits,
    SimSettings,
    UserSpec,
    WebhookSpec,
    load_users_file,
    parse_fault,
)
from jira_sim.webhooks import check_spec

READY_PREFIX = "jira-sim listening on "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags to its sub-command parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default: 8080)")
    parser.add_argument(
        "--flavor",
        choices=["datacenter", "cloud"],
        default="datacenter",
        help="Jira Data Center (v2 /search, Bearer PATs) or Jira Cloud (/search/jql, ADF on v3)",
    )
    parser.add_argument(
        "--users-file", type=Path, metavar="FILE", help="JSON accounts file (see docs/simulator.md)"
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="add an account (repeatable); admin/admin always exists unless the users file redefines admin",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a personal access token of admin (repeatable)",
    )
    parser.add_argument(
        "--time-zone",
        action="append",
        default=[],
        metavar="USER=ZONE",
        help="USER's profile time zone (IANA, e.g. Asia/Kolkata), that answers to them are in (repeatable)",
    )
    parser.add_argument(
        "--no-create",
        action="append",
        default=[],
        metavar="USER:PROJECT",
        help="USER may not create issues in PROJECT: 403 (repeatable)",
    )
    parser.add_argument(
        "--search-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="a new issue stays invisible to JQL search this long (Cloud's eventual consistency)",
    )
    parser.add_argument(
        "--burst-limit", type=int, default=0, metavar="N", help="at most N requests/s, then 429"
    )
    parser.add_argument(
        "--token-bucket",
        default="",
        metavar="CAPACITY/FILL/SECONDS",
        help="Data Center's rate limit: FILL tokens every SECONDS, up to CAPACITY, one a request, then 429",
    )
    parser.add_argument(
        "--issue-write-limit", type=int, default=0, metavar="N", help="at most N writes per issue per window"
    )
    parser.add_argument(
        "--issue-write-window",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="window of --issue-write-limit (default 2)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="MS", help="delay every answer")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="arm a fault: KIND[:COUNT][,key=value...], e.g. 429:3,retry_after=5 or drop:1,method=POST",
    )
    parser.add_argument(
        "--journal-size",
        type=int,
        default=100_000,
        metavar="N",
        help="keep the last N requests (default 100000)",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this PEM certificate (chain); needs --tls-key",
    )
    parser.add_argument("--tls-key", type=Path, metavar="FILE", help="the PEM private key of --tls-cert")
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="an admin webhook for every event, delivered to this loopback URL (repeatable)",
    )
    parser.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="the HMAC secret of the --webhook webhooks (X-Hub-Signature: sha256=...)",
    )
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help='for tests: time stands still until POST /_sim/clock {"advance": SECONDS} moves it',
    )


def settings_from_args(args: argparse.Namespace) -> SimSettings:
    """Turn parsed flags into settings; ValueError names the bad flag."""
    users: dict[str, UserSpec] = {spec.name: spec for spec in DEFAULT_USERS}
    if args.users_file is not None:
        for spec in load_users_file(args.users_file):
            users[spec.name.lower()] = spec
    for item in args.user:
        name, sep, password = item.partition(":")
        if not sep or not name or not password:
            raise ValueError(f"--user {item!r}: expected NAME:PASSWORD")
        users[name.lower()] = UserSpec(name, password)
    if args.token:
        admin = users["admin"]
        users["admin"] = UserSpec(
            admin.name,
            admin.password,
            admin.email,
            admin.display_name,
            admin.tokens + tuple(args.token),
            admin.no_create,
        )
    for item in args.no_create:
        name, sep, project = item.partition(":")
        if not sep or name.lower() not in users:
            raise ValueError(f"--no-create {item!r}: expected USER:PROJECT with a known user")
        spec = users[name.lower()]
        users[name.lower()] = UserSpec(
            spec.name,
            spec.password,
            spec.email,
            spec.display_name,
            spec.tokens,
            spec.no_create + (project.upper(),),
        )
    for item in args.time_zone:
        name, sep, zone = item.partition("=")
        if not sep or name.lower() not in users:
            raise ValueError(f"--time-zone {item!r}: expected USER=ZONE with a known user")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"--time-zone {item!r}: unknown time zone {zone!r}") from None
        users[name.lower()] = replace(users[name.lower()], time_zone=zone)
    faults: list[FaultRule] = []
    for item in args.fault:
        try:
            faults.append(parse_fault(item))
        except ValueError as exc:
            raise ValueError(f"--fault {item!r}: {exc}") from None
    capacity, fill, interval = 0, 0, 1
    if args.token_bucket:
        parts = args.token_bucket.split("/")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(
                f"--token-bucket {args.token_bucket!r}: expected CAPACITY/FILL/SECONDS, positive"
            )
        capacity, fill, interval = (int(p) for p in parts)
    limits = Limits(
        search_lag=args.search_lag,
        burst_limit=args.burst_limit,
        bucket_capacity=capacity,
        bucket_fill_rate=fill,
        bucket_interval=interval,
        issue_write_limit=args.issue_write_limit,
        issue_write_window=args.issue_write_window,
        latency_ms=args.latency_ms,
    )
    webhooks = tuple(WebhookSpec(url, secret=args.webhook_secret or None) for url in args.webhook)
    for hook in webhooks:
        try:
            check_spec(hook)
        except ValueError as exc:
            raise ValueError(f"--webhook {hook.url!r}: {exc}") from None
    return SimSettings(
        flavor=args.flavor,
        webhooks=webhooks,
        users=tuple(users.values()),
        limits=limits,
        faults=tuple(faults),
        journal_size=args.journal_size,
    )


def serve(
    settings: SimSettings,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    manual_clock: bool = False,
) -> bool:
    """Run the simulator until interrupted; prints `jira-sim listening on URL` once it accepts connections.

    HTTPS when tls_cert and tls_key (PEM files) are given. False when it never started (the port
    is taken, the address does not exist); the command's handler is driver.cli.sim. With
    manual_clock the simulator's time moves only by POST /_sim/clock (tests).
    """
    import uvicorn

    from jira_sim.app import create_app
    from jira_sim.clock import SYSTEM_CLOCK, Clock, ManualClock

    scheme = "https" if tls_cert is not None else "http"
    clock: Clock = ManualClock() if manual_clock else SYSTEM_CLOCK
    app = create_app(settings, clock)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="off",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            bound: Any = self.servers[0].sockets[0].getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            print(f"{READY_PREFIX}{scheme}://{shown}:{bound[1]}", flush=True)  # noqa: T201

    server = _Server(config)
    asyncio.run(server.serve())
    return bool(server.started)
