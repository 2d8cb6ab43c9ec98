"""What one simulator process is: flavour, accounts, limits and the faults it starts with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jira_sim.oauth import DEFAULT_CLIENTS, OAuthClientSpec

Flavor = Literal["datacenter", "cloud"]


@dataclass(frozen=True)
class UserSpec:
    """An account: Basic auth takes name or email with password or any token; Bearer takes a token."""

    name: str
    password: str = ""
    email: str = ""
    display_name: str = ""
    tokens: tuple[str, ...] = ()
    no_create: tuple[str, ...] = ()
    time_zone: str = "UTC"
    """The IANA zone Jira renders this user's answers in (a profile setting)."""
    scoped_tokens: tuple[str, ...] = ()
    """A service account's scoped API tokens: Bearer, on Cloud only through the gateway."""


@dataclass(frozen=True)
class FaultRule:
    """One injected fault: `status` (4xx, 429, 5xx), `drop` (close the socket unanswered), `drop_after`
    (process the request, then close the socket unanswered), `slow_after` (process, answer `seconds`
    late) or `status_after` (process the request, then answer `status` as if it had failed: a Jira
    that applied a request before a 500, which a client must not take for "not done").

    count < 0 means "until cleared". method and path (a prefix) narrow which requests it hits.
    """

    kind: Literal["status", "drop", "drop_after", "slow_after", "status_after"]
    count: int = 1
    status: int = 0
    retry_after: float | None = None
    seconds: float = 0.0
    method: str = ""
    path: str = ""
    reason: str = "jira-burst-based"
    echo_headers: bool = False
    """A status fault's body lists the request's headers, as a debugging proxy's error page does
    (the Authorization header too: what a client keeps of the body must mask it)."""

    def to_json(self) -> dict[str, Any]:
        """The rule as the /_sim/faults endpoint shows it."""
        return {
            "kind": self.kind,
            "count": self.count,
            "status": self.status,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "method": self.method,
            "path": self.path,
            "reason": self.reason,
            "echo_headers": self.echo_headers,
        }


@dataclass(frozen=True)
class Limits:
    """Settings that /_sim/config may change while the simulator runs."""

    search_lag: float = 0.0
    burst_limit: int = 0
    bucket_fill_rate: int = 0
    """Data Center's token bucket (off at 0): this many tokens come back every `bucket_interval`
    seconds, up to `bucket_capacity`; a request takes one, and none left answers 429."""
    bucket_capacity: int = 0
    bucket_interval: int = 1
    issue_write_limit: int = 0
    issue_write_window: float = 2.0
    latency_ms: float = 0.0
    search_page_max: int = 0
    """At most this many issues per search page whatever maxResults asks (0: Jira's own caps, 1000
    on DC and 5000 on Cloud): Jira "may return fewer items per page" (docs/wire-facts.md §5), and a test
    makes a small backlog need many pages."""
    token_ttl: float = 3600.0
    """Seconds an OAuth access token lives (Atlassian's: an hour)."""
    refresh_leeway: float = 600.0
    """Seconds a used (disabled) refresh token is still taken; reused later, the grant dies."""
    gateway_expired_status: int = 401
    """What the gateway answers an expired token: 401, or the 403/404 Atlassian's may give."""
    captcha_after: int = 0
    """Data Center: failed logins of one user after which the account is locked behind a CAPTCHA:
    every request as that user, even with the right password, answers 403 with X-Seraph-LoginReason
    AUTHENTICATION_DENIED until /_sim/reset (Jira's own default is 3; 0 never locks)."""


ADMIN = UserSpec("admin", "admin", "admin@example.com", "Administrator")
PERSON = UserSpec("jsmith", "jsmith", "jsmith@example.com", "Jane Smith")
"""A person working in Jira (not the driver's account), for /_sim/act, tests and the demo."""
DEFAULT_USERS = (ADMIN, PERSON)

WEBHOOK_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created")
"""The admin-webhook events the simulator delivers (docs/wire-facts.md §12)."""


@dataclass(frozen=True)
class WebhookSpec:
    """An admin webhook as registered: where to, which events, an optional JQL filter and HMAC secret."""

    url: str
    events: tuple[str, ...] = WEBHOOK_EVENTS
    name: str = "jira-sim webhook"
    jql: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class SimSettings:
    """Everything `create_app` needs."""

    flavor: Flavor = "datacenter"
    users: tuple[UserSpec, ...] = field(default_factory=lambda: DEFAULT_USERS)
    limits: Limits = field(default_factory=Limits)
    faults: tuple[FaultRule, ...] = ()
    journal_size: int = 100_000
    webhooks: tuple[WebhookSpec, ...] = ()
    """Registered at start and again after every reset (`--webhook`)."""
    cloud_id: str = "5f1b2c3d-0000-4000-8000-00000000c10d"
    """The site's cloud id: the gateway's /ex/jira/{cloud_id}/ prefix, tenant_info's answer."""
    oauth_clients: tuple[OAuthClientSpec, ...] = DEFAULT_CLIENTS
    """Registered OAuth 2.0 clients (docs/wire-facts.md §13, §14): by default `sim-service` /
    `sim-service-secret` (a service account's client credentials, acting as admin) and `sim-app` /
    `sim-app-secret` (a 3LO app; consent given as admin)."""


def parse_fault(text: str) -> FaultRule:
    """Parse `KIND[:COUNT][,key=value...]`, e.g. `429:3,retry_after=5,method=POST,path=/rest/api/2/issue`."""
    head, *options = [part.strip() for part in text.split(",")]
    kind_text, _, count_text = head.partition(":")
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {option!r}")
        values[key.strip()] = value.strip()
    return fault_from_json({"kind": kind_text, "count": count_text or "1", **values})


def fault_from_json(data: dict[str, Any]) -> FaultRule:
    """Build a rule from the admin endpoint's JSON; `kind` may also be a status code such as 503."""
    kind = str(data.get("kind", "status"))
    status = int(data.get("status", 0) or 0)
    if kind.isdigit():
        kind, status = "status", int(kind)
    if kind not in {"status", "drop", "drop_after", "slow_after", "status_after"}:
        raise ValueError(
            f"unknown fault kind {kind!r} (expected a status code, status, drop, drop_after,"
            " slow_after or status_after)"
        )
    if kind == "status" and not 400 <= status <= 599:
        raise ValueError(f"a status fault needs a status of 400 to 599, got {status}")
    if kind == "status_after" and not (status == 429 or 500 <= status <= 599):
        # applied, then an error a client must not read as "not done": a 4xx would say it was refused
        raise ValueError(f"a status_after fault needs status 429 or 5xx, got {status}")
    retry_after = data.get("retry_after")
    if retry_after is None and status == 429:
        retry_after = 1
    known = {"kind", "count", "status", "retry_after", "seconds", "method", "path", "reason", "echo_headers"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    return FaultRule(
        kind=kind,  # type: ignore[arg-type]
        count=int(data.get("count", 1)),
        status=status,
        retry_after=None if retry_after is None else float(retry_after),
        seconds=float(data.get("seconds", 0) or 0),
        method=str(data.get("method", "")).upper(),
        path=str(data.get("path", "")),
        reason=str(data.get("reason", "jira-burst-based")),
        echo_headers=str(data.get("echo_headers", "false")).lower() in ("true", "1", "yes"),
    )


def load_users_file(path: Path) -> tuple[UserSpec, ...]:
    """Read `{"users": [{"name", "password", "email", "display_name", "tokens", "scoped_tokens",
    "no_create"}]}` (`scoped_tokens`: a service account's scoped API tokens, Bearer through the
    Cloud gateway only, docs/wire-facts.md §14)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data.get("users") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected {{'users': [...]}}")
    users: list[UserSpec] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"{path}: every user needs a string 'name'")
        users.append(
            UserSpec(
                name=entry["name"],
                password=str(entry.get("password", "")),
                email=str(entry.get("email", "")),
                display_name=str(entry.get("display_name", "")),
                tokens=tuple(str(t) for t in entry.get("tokens", [])),
                scoped_tokens=tuple(str(t) for t in entry.get("scoped_tokens", [])),
                no_create=tuple(str(p).upper() for p in entry.get("no_create", [])),
            )
        )
    return tuple(users)
