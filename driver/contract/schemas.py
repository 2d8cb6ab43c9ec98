"""The driver's HTTP API bodies: the contract between the driver, the shell commands and the TUI.

This is the only driver module the UI imports. It is pure: pydantic models and enums, no I/O.
Every route of driver.api takes and returns these models; times are timezone-aware ISO 8601.

Routes (all under /api, JSON unless noted; `Authorization: Bearer <api_token>` when one is set):
    GET  /api/health                      -> Health              (no auth; liveness)
    GET  /api/status                      -> DriverStatus        (the TUI polls it every ~0.5 s)
    POST /api/advanced                    -> 202 AdvancedAccepted | 400 ErrorBody(details=CommandProblem)
         text/plain: one command per line (blank lines ignored) | AdvancedRequest
    POST /api/parse                       -> DryRun | 400 ErrorBody(details=CommandProblem)   (no side effect)
    GET  /api/log?status=&type=&guid=&q=&since=&until=&before_id=&limit=  -> LogPage (newest first)
    GET  /api/log/{id}                    -> LogEntry (with request/response detail)
    GET  /api/stats                       -> Statistics
    POST /api/stats/reset                 -> Statistics          body StatsReset
    GET  /api/tickets/{guid}              -> TicketView | 404    (the GUID URL-encoded: it may hold /)
    GET  /api/ticket                      -> CreationTableState
    PUT  /api/ticket/rows                 -> CreationTableState | 400   body TicketRowsUpdate
    PUT  /api/ticket/query                -> CreationTableState | 400 ErrorBody(details=QueryProblem)
                                             body TicketQueryUpdate
    POST /api/ticket/fields               -> CreationTableState | 400   body AddField
    POST /api/execute                     -> 202 LogEntry        (Manual create of the Create Query
                                             as it stands; ?wait_seconds=N waits up to N s for Jira)
    GET  /api/settings                    -> Settings
    PUT  /api/settings/update             -> Settings            body UpdateSettingsBody (UpdateSettings)
    PUT  /api/settings/log                -> Settings            body LogSettingsBody (LogSettings)
    PUT  /api/settings/jira               -> Settings            body JiraSettingsUpdate
    PUT  /api/settings/auth               -> Settings            body AuthUpdate (secret write-only)
    POST /api/check                       -> CheckResult         (GET myself against Jira, plain answer)
    POST /api/catalog/refresh             -> CreationTableState | 502   (reload Jira's field list)
    POST /api/jira/webhook                -> WebhookAnswer | 400 | 401 | 413   (Jira's admin webhook;
                                             no API token: X-Hub-Signature authenticates it)

Errors: every refusal is an ErrorBody. 400 for a body or parameter that is not valid (a value out of
the bounds below included: nothing of the change is applied), 401 without the API token, 404 for
an unknown log row or a GUID the driver has never seen, 502 when Jira fails the request the route
makes, 503 with Retry-After when the driver is shutting down or its database cannot take the write
(nothing is queued or stored).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class Body(BaseModel):
    """The base of every body: a key it does not name is refused (400), never ignored."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --- bounds -------------------------------------------------------------------------------------
# Every number the API takes has bounds, stated here so that the OpenAPI schema states them too:
# a value past them is refused with 400 before anything is applied or stored (an unbounded one
# used to end in OverflowError, a 500, or a setting that made the driver refuse to start again).

INT64_MAX = 2**63 - 1
"""The largest SQLite integer: log ids and before_id beyond it cannot name a row."""
MAX_UPDATES = 10_000
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 7 * 86_400.0
MAX_LOG_ENTRIES = 100_000_000
MAX_RETENTION_DAYS = 36_500
MAX_WAIT_SECONDS = 120.0
MAX_GUID_LENGTH = 256
"""Characters of a GUID (the Advanced grammar's bound, driver.model.commands)."""
MAX_PAGE = 1000
MIN_YEAR = 1970
MAX_YEAR = 9999

LogId = Annotated[int, Field(ge=1, le=INT64_MAX)]


def _utc_moment(value: datetime) -> datetime:
    """A moment as UTC; a naive one is taken as UTC. ValueError outside years 1970-9999."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"expected a moment between the years {MIN_YEAR} and {MAX_YEAR}") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"expected a moment between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def _iso_text(value: Any) -> Any:
    """Refuse a number where a date-time is expected (pydantic would read it as a Unix time)."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
    if isinstance(number, int | float):
        raise ValueError("expected an ISO 8601 date-time such as 2026-03-02T09:00:00Z")
    return value


Moment = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_utc_moment),
    Field(description="ISO 8601 date-time, years 1970-9999; without a UTC offset it is taken as UTC"),
]


class LogStatus(StrEnum):
    PENDING = "Pending"
    DEFERRED = "Deferred"
    OK = "Ok"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    """A RESOLVE its alarm took back within resolve_hold_seconds: nothing was sent."""


class LogType(StrEnum):
    MANUAL = "Manual"
    AUTOMATIC = "Automatic"


class Health(Body):
    ok: bool = True
    version: str


class JiraState(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"  # a 401: sending stops until the credentials change
    PAUSED = "paused"  # a 429 without per-issue scope: everything waits until paused_until


class SyncStatus(Body):
    """Hearing back from Jira: the mode, the last poll, and what webhook deliveries came to."""

    mode: Literal["off", "webhook", "poll", "both"] = "off"
    last_poll_at: datetime | None = None
    """When the last poll that Jira answered finished (None: none yet, or polling is off)."""
    last_poll_error: str = ""
    """Why the last poll failed or did not go ('' when it worked)."""
    webhooks_applied: int = 0
    """Deliveries that changed what the driver records of one of its tickets (running total)."""
    webhooks_unchanged: int = 0
    """Deliveries about the driver's tickets that told nothing new (older, or after a deletion)."""
    webhooks_duplicate: int = 0
    """Jira's retries of deliveries already handled (same X-Atlassian-Webhook-Identifier)."""
    webhooks_ignored: int = 0
    """Deliveries about issues that are not the driver's, or events sync does not use."""
    webhooks_refused: int = 0
    """Deliveries refused (bad or missing signature, malformed) since the driver started."""
    last_refused_at: datetime | None = None
    last_refused_reason: str = ""


class PairStatus(Body):
    """A node of a pair on PostgreSQL (docs/pair.md): its name ([ha] node), role (only the leader
    talks to Jira), the lease's holder ('' : none, or no answer), term (+1 at each takeover), since
    when this node has its role, [ha] lease_seconds, why the last renewal failed, the nodes heard
    on the database (this one first), what is wrong with them once it lasted a lease."""

    node: str
    role: Literal["leader", "standby"]
    leader: str = ""
    term: int = 0
    since: datetime | None = None
    lease_seconds: float
    lease_problem: str = ""
    nodes: list[str] = Field(default_factory=list)
    nodes_problem: str = ""


class DriverStatus(Body):
    version: str
    started_at: datetime
    jira_state: JiraState
    jira_message: str = ""
    """Plain words for the operator, e.g. 'Jira answered 401: check the credentials'."""
    api_type: Literal["cloud", "datacenter", "unknown"] = "unknown"
    queue_depth: int
    """Commands accepted and not yet settled (Pending + Deferred)."""
    pending: int
    deferred: int
    failed_today: int = 0
    paused_until: datetime | None = None
    """Set after a 429: nothing (or, for per-issue limits, that issue) is sent before this time."""
    pause_reason: str = ""
    """Jira's RateLimit-Reason, e.g. jira-burst-based."""
    near_limit: bool = False
    """Jira said X-RateLimit-NearLimit: creates go before updates."""
    database: Literal["ok", "unavailable"] = "ok"
    """Whether the driver's own database takes writes (locked, busy, disk full, I/O error: not)."""
    database_message: str = ""
    """'database unavailable: <reason>' while it does not; the engine keeps trying meanwhile."""
    commits: int = 0
    """Transactions the sending engine has committed since start (journal intents and outcomes,
    grouped per event-loop turn: fewer than one per request while many are in flight)."""
    engine_running: bool = True
    """Every sending worker is alive (False before start, after stop, or after a bug)."""
    outage_attempts: int = 0
    """Tries in a row that found Jira out (an outage); 0 while it answers."""
    outage_until: datetime | None = None
    """During an outage: when the next try goes."""
    sync: SyncStatus = Field(default_factory=SyncStatus)
    """How the driver hears back from Jira ([sync]): polls and webhook deliveries."""
    credential_warning: str = ""
    """When the API token, PAT or OAuth refresh token expires within 14 days (or has), what to do."""
    pair: PairStatus | None = None
    """With a PostgreSQL database: this node's role in the pair (None: a driver alone on SQLite)."""


# --- intake -------------------------------------------------------------------------------------


class AdvancedRequest(Body):
    commands: list[str] = Field(min_length=1)


class AcceptedCommand(Body):
    id: int
    """The log row id of this command."""
    guid: str
    action: str


class AdvancedAccepted(Body):
    accepted: list[AcceptedCommand]


class CommandProblem(Body):
    line: int
    """1-based line (or index in `commands`) of the bad command."""
    position: int
    """1-based character position in that command."""
    reason: str
    command: str


class QueryProblem(Body):
    line: int | None = None
    column: int | None = None
    reason: str


class ErrorBody(Body):
    error: str
    """One line for people."""
    details: CommandProblem | QueryProblem | dict[str, Any] | None = None


class ParseRequest(Body):
    command: str


class DryRun(Body):
    """What a command would send: the same shape `jira-driver parse` prints (driver.model.dry_run).

    method, path and body are None for an UPDATE with only comments (it sends no edit). A CALL's
    body is whatever JSON its endpoint's template makes (a string, a list...), or None.
    """

    guid: str
    action: str
    method: str | None
    path: str | None
    body: Any
    comments: list[Any] = []


# --- log ----------------------------------------------------------------------------------------


class LogEntry(Body):
    id: int
    type: LogType
    action: str
    guid: str
    time: datetime
    """When the request was accepted (the connector's Time column)."""
    status: LogStatus
    ticket_id: str | None = None
    ticket_key: str | None = None
    ticket_url: str | None = None
    error: str = ""
    """The Error Message column: Jira's errorMessages/errors, or the driver's reason."""
    attempts: int = 0
    duration_ms: float | None = None
    """Time from acceptance to Jira's final answer."""
    note: str = ""
    """What the driver did on its own, e.g. 'summary cut to 255 characters', 'merged 3 updates'."""
    request: dict[str, Any] | None = None
    """In GET /api/log/{id} and POST /api/execute's answer: the body sent (never headers)."""
    response: dict[str, Any] | None = None
    """In GET /api/log/{id} and POST /api/execute's answer: Jira's last answer (status, body)."""


MAX_SEARCH_TEXT = 1000
"""Longest GUID or search text of GET /api/log (SQLite's LIKE refuses much longer patterns)."""


class LogQuery(BaseModel):
    """The filters of GET /api/log (query parameters); an unknown one is refused (400)."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    status: LogStatus | None = None
    type: LogType | None = None
    guid: str | None = Field(default=None, max_length=MAX_SEARCH_TEXT)
    q: str | None = Field(default=None, max_length=MAX_SEARCH_TEXT)
    """Text searched (as typed: % and _ are plain characters) in the GUID, ticket key, error,
    note and action."""
    since: Moment | None = None
    until: Moment | None = None
    before_id: LogId | None = None
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


class LogPage(Body):
    rows: list[LogEntry]
    total: int
    """Rows matching the filter, for the scroll bar."""
    next_before_id: int | None = None
    """Pass as before_id for the next (older) page; None on the last page."""


# --- statistics ---------------------------------------------------------------------------------


class Counter(Body):
    today: int
    yesterday: int
    total: int


class DayCount(Body):
    day: str
    """YYYY-MM-DD in the configured time zone."""
    created: int
    updated: int


class Statistics(Body):
    create: Counter
    update: Counter
    total: Counter
    days: list[DayCount] = []
    """The last 30 days, oldest first, including days with no activity."""
    timezone: str


class StatsReset(Body):
    counter: Literal["create", "update", "all"] = "all"
    scope: Literal["daily", "total", "all"] = "all"
    """daily: today's and yesterday's counts; total: the running totals."""


# --- ticket creation ----------------------------------------------------------------------------


class TicketRowBody(Body):
    field: str
    """Jira field id, e.g. summary or customfield_10100."""
    name: str
    type: str
    """A FieldType value, e.g. string, option, labels, json."""
    value: str
    mode: Literal["Included", "Excluded"]


class FieldInfo(Body):
    id: str
    name: str
    type: str
    custom: bool = False


class CreationTableState(Body):
    """The Ticket Creation Table and its Create Query as they stand (GET /api/ticket)."""

    rows: list[TicketRowBody]
    query: dict[str, Any]
    query_text: str
    """The Create Query as shown to people (indented JSON)."""
    catalog: list[FieldInfo]
    """Known fields, for Add Field and for naming fields in Advanced commands."""
    field_types: list[str]
    """Types a custom field can be added with."""


class TicketRowsUpdate(Body):
    rows: list[TicketRowBody]


class TicketQueryUpdate(Body):
    query_text: str


class AddField(Body):
    id: str
    """A system field id (summary, priority, ...) or a custom field id (customfield_10100)."""
    name: str = ""
    type: str = ""
    """Required for custom fields the catalog does not know."""
    value: str = ""
    mode: Literal["Included", "Excluded"] = "Included"


# --- settings -----------------------------------------------------------------------------------


class UpdateSettings(Body):
    max_updates: int = Field(ge=0, le=MAX_UPDATES)
    """0 switches the limit off."""
    interval_seconds: float = Field(ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS, allow_inf_nan=False)
    """Length of the window, 1 s to 7 days."""
    scope: Literal["ticket", "global"] = "ticket"


class UpdateSettingsBody(UpdateSettings):
    """The body of PUT /api/settings/update: as UpdateSettings, with JSON's types taken strictly
    (`false` or `"5"` is not a number; the TUI's forms convert their text with UpdateSettings)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


class LogSettings(Body):
    max_entries: int = Field(ge=0, le=MAX_LOG_ENTRIES)
    """Keep at most this many rows (0: no limit)."""
    remove_older_than_days: int = Field(ge=0, le=MAX_RETENTION_DAYS)
    """Remove settled rows older than this (0: keep them)."""


class LogSettingsBody(LogSettings):
    """The body of PUT /api/settings/log: as LogSettings, with JSON's types taken strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


AuthMode = Literal["basic", "bearer", "authorization_key", "oauth_client_credentials", "oauth_3lo", "none"]


class JiraSettings(Body):
    url: str
    ticket_location: str
    auth_mode: AuthMode
    username: str = ""
    has_secret: bool = False
    """Whether a password, token or key is stored. The secret itself is never sent back."""
    api_type: Literal["auto", "cloud", "datacenter"]


class JiraSettingsUpdate(Body):
    ticket_location: str = Field(
        min_length=1, max_length=500, pattern=r"^\s*/*[A-Za-z0-9._~-]+(/+[A-Za-z0-9._~-]+)*/*\s*$"
    )
    """Path of the issue resource relative to the Jira URL, e.g. rest/api/3/issue."""


_HEADER_SAFE = r"^[^\x00-\x1f\x7f]*$"
"""No control characters: the value goes into an HTTP header, where CR/LF would end it."""


SettableAuthMode = Literal["basic", "bearer", "authorization_key", "none"]
"""The modes PUT /api/settings/auth sets; OAuth is configured in [jira] (its grant by `auth login`)."""


class AuthUpdate(Body):
    mode: SettableAuthMode
    username: str = Field(default="", max_length=500, pattern=_HEADER_SAFE)
    secret: str = Field(default="", repr=False, max_length=10_000, pattern=_HEADER_SAFE)
    """Password, API token, personal access token or the whole Authorization value; write-only."""


class Settings(Body):
    update: UpdateSettings
    log: LogSettings
    jira: JiraSettings


class CheckFinding(Body):
    kind: Literal["config", "connection", "auth", "permission", "screen", "workflow", "expiry"]
    message: str
    """One line that ends with what to do."""


class CheckResult(Body):
    ok: bool
    message: str
    """One plain sentence: 'Connected to Jira Data Center 10.3 as admin', 'HTTP 401: ...', 'DNS: ...'."""
    status_code: int | None = None
    connected: bool = False
    """Jira answered and took the credentials (whatever else was found)."""
    findings: list[CheckFinding] = []
    """What would fail before the first alarm does (driver.model.diagnosis); ok is False when any
    but an expiry warning is here."""
