"""Configuration: an INI file, overlaid by the environment, validated into pydantic models.

Who reads what:
    [jira]    the Jira client (URL, auth, TLS, proxy, timeouts) and the API flavour
    [driver]  the store (database path), the HTTP API (listen, api_token), day boundaries (timezone)
    [ticket]  the seed of the Ticket Creation Table and how tickets are stamped with their GUID
    [update]  the rate limiter for automatic updates
    [log]     retention of the create/update log
    [responses]  retention of the Responses table (every answer heard from Jira)
    [lifecycle], [sync]  RESOLVE/REOPEN and hearing Jira's changes
    [eligible]   an open ticket a CREATE may take instead of creating (Get Eligible Ticket)
    [endpoint.NAME]  one custom API endpoint a CALL may use (driver.model.endpoints), any number

Precedence, lowest first: built-in defaults, the INI file, `JIRA_DRIVER_<SECTION>_<KEY>` variables
(driver.config_file reads them). Environment names are matched against the known keys, never split
on `_` (bearer_token has one).
"""

from __future__ import annotations

import urllib.request
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from driver.config_jira import AuthChoice, JiraSection, Section, header_safe
from driver.database_url import checked_database, is_postgresql
from driver.errors import ConfigError
from driver.model.eligible_create import EligibleOnCreate, template_problem
from driver.model.endpoints import Endpoint, EndpointError
from driver.model.lifecycle import LifecycleSettings
from driver.model.requests import RequestSettings
from driver.model.responses import split_credentials
from driver.model.shaping import UserStyle, text_format_for, user_style_for
from driver.model.transitions import Target


class DriverSection(Section):
    database: str = Field(default="jira-driver.db", max_length=4096)
    """The SQLite file holding the queue, the log, statistics and the Ticket Creation Table; or a
    postgresql://user@host:5432/dbname URL: two drivers on one PostgreSQL database make a pair,
    one sending and one standby (docs/pair.md, [ha]). A password in the URL is refused: PGPASSWORD
    or ~/.pgpass holds it."""
    listen: str = "127.0.0.1:8750"
    """host:port of the driver's HTTP API. Keep it on loopback unless api_token is set."""
    log_format: Literal["text", "json"] = "text"
    """The driver's own log on stderr: text lines, or JSON lines for a log store (`run
    --json-logs` is the same as json)."""
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    """The event loop `run` uses: uvloop (libuv's, about 5% less CPU per ticket), asyncio's
    own, or auto (uvloop where it is installed, as on Linux and macOS)."""
    api_token: SecretStr = SecretStr("")
    """When set, the HTTP API requires `Authorization: Bearer <api_token>`."""
    timezone: str = ""
    """IANA time zone for the daily statistics, e.g. Europe/Brussels. Empty: the machine's."""
    concurrency: int = Field(default=16, ge=1, le=256)
    """Jira requests in flight at once, across GUIDs (one GUID's commands always go in order)."""
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """Largest body POST /api/advanced takes; a larger one is refused with 413 before it is read."""
    max_batch_lines: int = Field(default=20_000, ge=1, le=1_000_000)
    """Most commands one POST /api/advanced takes; more is refused with 413 (nothing queued)."""
    max_connections: int = Field(default=1000, ge=16, le=100_000)
    """Most HTTP connections the API holds open; a new one over it evicts the connection that has
    waited longest for its request (fewer when the open-file limit is lower:
    driver.service.connection_guard)."""
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    """A connection whose request head has not fully arrived this long after it opened (or after its
    previous answer) is dropped: slow-header sockets cannot hold the API's connections."""
    body_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    """A request whose body has not fully arrived this long after its head is dropped."""

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        return checked_database(value)

    @field_validator("api_token")
    @classmethod
    def _api_token(cls, value: SecretStr) -> SecretStr:
        return header_safe(value)  # clients send it in their Authorization header

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        # port 0 asks the system for a free port (tests, the demo); the driver prints the one it got
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("expected host:port, e.g. 127.0.0.1:8750")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("expected an IANA time zone such as Europe/Brussels") from None
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class TicketSection(Section):
    project: str = "OPS"
    """Project key that seeds the Ticket Creation Table on first start."""
    issue_type: str = "Task"
    """Issue type name that seeds the Ticket Creation Table on first start."""
    guid_field: str = ""
    """Custom field id (customfield_NNNNN, a text field) that stamps each ticket with its GUID.
    Empty: stamp with a label instead."""
    guid_label_prefix: str = "alarm-"
    """Prefix of the GUID label when guid_field is empty."""
    search_before_create: Literal["auto", "always", "never"] = "auto"
    """Search Jira for the stamp of a GUID the store has no ticket for before creating its ticket:
    auto (on a database started with `run --init` in place of an earlier one, and for
    `probe_new_days` after a database's birth), always, never (driver.store.database_file.settle)."""
    probe_new_days: float = Field(default=7, ge=0, le=3650)
    """Days after a database's birth (first start, found without its id marker, `run --init`)
    during which, with search_before_create = auto, GUIDs it has never seen are searched for before
    their ticket is created (batched, up to 50 stamps a search). 0: no such window."""
    forget_after_days: int = Field(default=30, ge=0, le=3650)
    """Forget a GUID this many days after its last command once its alarm is cleared (last command
    a RESOLVE) and its ticket resolved, or its ticket deleted in Jira, or it never had one, with
    nothing of it open: its ticket record, earlier tickets and Alarms row go, its highest ticket
    generation stays (driver.model.forgetting has every rule). A CREATE for it later makes a new
    ticket; an UPDATE, RESOLVE or REOPEN is refused as for an unknown GUID. 0: never (the database
    keeps about 580 bytes per alarm for good). The default is the log's own
    `remove_older_than_days`: by then the GUID's rows are gone too."""

    @field_validator("guid_field")
    @classmethod
    def _custom_field_id(cls, value: str) -> str:
        if value and not (value.startswith("customfield_") and value[12:].isdigit()):
            raise ValueError("expected empty or a custom field id such as customfield_10100")
        return value

    @field_validator("guid_label_prefix")
    @classmethod
    def _label_safe(cls, value: str) -> str:
        if any(ch.isspace() for ch in value):
            raise ValueError("expected a prefix without spaces (Jira labels cannot hold spaces)")
        return value


class UpdateSection(Section):
    max_updates: int = Field(default=5, ge=0)
    """At most this many automatic updates per interval; 0 switches the limit off."""
    interval_seconds: float = Field(default=60.0, gt=0)
    """Length of the rate-limit window."""
    scope: Literal["ticket", "global"] = "ticket"
    """Count updates per ticket (default) or across all tickets."""
    protected_fields: tuple[str, ...] = ()
    """Fields that automatic UPDATEs never overwrite, comma separated, e.g. assignee, reporter."""

    @field_validator("protected_fields", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class LogSection(Section):
    max_entries: int = Field(default=10_000, ge=0)
    """Keep at most this many log rows; the oldest go first. 0 = no limit."""
    remove_older_than_days: int = Field(default=30, ge=0)
    """Every 24 h, remove rows older than this many days. 0 = keep them."""
    trim_interval_seconds: float = Field(default=30.0, gt=0, le=86_400)
    """How often the log is trimmed back to max_entries even when no command arrives; rows settling
    also wake a trim (at most one a second), so rows still open at intake go once they settle."""


class ResponsesSection(Section):
    max_entries: int = Field(default=10_000, ge=0, le=10_000_000)
    """Keep at most this many rows of the Responses table (every answer heard from Jira); the
    oldest go first. 0 = no limit."""
    remove_older_than_days: int = Field(default=30, ge=0, le=3650)
    """Every 24 h, remove responses older than this many days. 0 = keep them."""


class LifecycleSection(Section):
    resolve_target: str = "done"
    """Where RESOLVE moves a ticket: a status category (done, new, indeterminate) or a status name
    (`status:Resolved`, or any other name). Transitions are looked up on the ticket
    (docs/wire-facts.md §4)."""
    reopen_target: str = "new"
    """Where REOPEN (and a CREATE that reopens) moves a ticket; the same forms as resolve_target."""
    resolution: str = "Done"
    """The resolution a RESOLVE sets when its screen has one and the command names none."""
    reopen_window_minutes: float = Field(default=60.0, ge=0, le=525_600)
    """A CREATE for a GUID whose ticket the driver resolved at most this long ago reopens it;
    later, it creates a new ticket. 0 = always a new ticket."""
    resolve_hold_seconds: float = Field(default=0.0, ge=0, le=86_400)
    """A RESOLVE waits this long; a CREATE, UPDATE or REOPEN of its GUID meanwhile cancels it
    (a flapping alarm). 0 = resolve at once."""

    @field_validator("resolve_target", "reopen_target")
    @classmethod
    def _target(cls, value: str) -> str:
        value = value.strip()
        if not value or value.lower() in ("status:", "category:"):
            raise ValueError("expected a status category (done, new, indeterminate) or a status name")
        try:
            Target.parse(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value


class SyncSection(Section):
    mode: Literal["off", "webhook", "poll", "both"] = "off"
    """How the driver hears what people do in Jira: a webhook Jira calls, polling, both, or off."""
    webhook_secret: SecretStr = SecretStr("")
    """The admin webhook's secret: POST /api/jira/webhook checks X-Hub-Signature (HMAC-SHA256)
    with it. Required for mode webhook or both, by the driver only (Config.check_for_the_driver):
    the shell commands that only talk to the driver do not need it in their environment."""
    poll_seconds: float = Field(default=60.0, ge=5, le=86_400)
    """How often polling asks Jira for the driver's tickets updated since the last poll."""
    poll_by_id_max: int = Field(default=1000, ge=0, le=10_000)
    """Live tickets up to which a poll searches the driver's own tickets by id (100 a search);
    with more, or 0, it searches every updated issue of their projects (all pages)."""
    when_resolved_in_jira: Literal["keep", "reopen", "new_ticket"] = "keep"
    """What the next CREATE/UPDATE of a still-active alarm does with a ticket a person resolved:
    update it as it is, reopen it first, or open a new ticket for the GUID."""


class EligibleSection(Section):
    jql: str = Field(default="", max_length=2_000)
    """Off when empty. A JQL template whose `{Field Name}` placeholders are filled from a CREATE's
    own fields (each value a quoted JQL string): when it finds an open ticket, the CREATE takes it
    (stamps it and updates it) instead of creating one, e.g.
    `project = OPS AND statusCategory != Done AND summary ~ {summary}`."""
    pick: Literal["newest", "oldest"] = "newest"
    """Which of several open tickets found a CREATE takes (by creation time)."""

    @field_validator("jql")
    @classmethod
    def _template(cls, value: str) -> str:
        problem = template_problem(value)
        if problem:
            raise ValueError(f"expected a JQL template {problem}")
        return value.strip()


class EndpointSection(Section):
    """One `[endpoint.NAME]` section (driver.model.endpoints.Endpoint)."""

    method: str = "POST"
    """GET, POST, PUT, PATCH or DELETE."""
    path: str = ""
    """Relative to the Jira URL, with {guid}, {key}, {id} and the CALL's own {variables}."""
    body: str = ""
    """A JSON template (placeholders inside its strings); empty: no body."""
    expect: list[int] = Field(default=[200, 201, 204], min_length=1, max_length=20)
    """The status codes that mean it worked (comma-separated); any other answer is Failed."""
    idempotent: bool = False
    """true: a call whose outcome is unknown is sent again; false: it is Failed with that reason."""

    @field_validator("expect", mode="before")
    @classmethod
    def _split_codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def endpoint(self, name: str) -> Endpoint:
        """The checked endpoint; EndpointError naming the key that is wrong."""
        return Endpoint.of(name, self.method, self.path, self.body, tuple(self.expect), self.idempotent)


class AlertSection(Section):
    ticket_per: Literal["alert", "group"] = "alert"
    """One ticket per alert (its fingerprint is the GUID), or per notification group (its group key)."""
    summary: str = Field(default="", max_length=10_000)
    """Jinja2 template of the summary; empty: the alert's name and instance."""
    description: str = Field(default="", max_length=100_000)
    """Jinja2 template of the description; empty: its annotations, labels and source link (per
    group: the alerts listed)."""
    fields: str = Field(default="", max_length=100_000)
    """More fields, one `FIELD=TEMPLATE` per line, e.g. `customfield_10010={{ labels.team }}`."""
    severity_label: str = Field(default="severity", max_length=200)
    """The label whose value picks the priority."""
    priorities: str = Field(
        default="critical=Highest, error=High, warning=Medium, info=Low", max_length=10_000
    )
    """Severity value = Jira priority name, comma-separated; a severity not listed sets none."""

    def templates(self) -> dict[str, str]:
        """Field -> template source, as configured (empty summary/description: the built-in)."""
        found = {"summary": self.summary, "description": self.description}
        for number, raw in enumerate(self.fields.splitlines(), start=1):
            if not raw.strip():
                continue
            name, sep, source = raw.partition("=")
            if not sep or not name.strip():
                raise ConfigError("alerts", "fields", raw, f"line {number}: expected FIELD=TEMPLATE")
            found[name.strip()] = source.strip()
        return found

    def priority_map(self) -> dict[str, str]:
        """Severity (lower case) -> priority name."""
        pairs = (item.partition("=") for item in self.priorities.split(","))
        return {k.strip().lower(): v.strip() for k, sep, v in pairs if sep and k.strip() and v.strip()}


class AlertmanagerSection(AlertSection):
    """[alertmanager]: POST /api/alertmanager."""


class GrafanaSection(AlertSection):
    """[grafana]: POST /api/grafana."""

    secret: SecretStr = SecretStr("")
    """The contact point's HMAC secret: X-Grafana-Alerting-Signature is checked when it is set."""


class MetricsSection(Section):
    public: bool = False
    """Serve GET /metrics without [driver] api_token (for a scraper that cannot send it); the
    metrics hold no secret, GUID or ticket key."""


class HaSection(Section):
    lease_seconds: float = Field(default=10.0, ge=3, le=300)
    """With a PostgreSQL database: how long the sender's lease lasts. The leader renews it every
    third of it and stops sending before it can have expired; a standby takes over within it after
    the leader died (driver.model.lease)."""
    node: str = Field(default="", max_length=100, pattern=r"^[A-Za-z0-9_.:@-]*$")
    """This node's name in the lease and the status ('' : host:pid and a nonce)."""


class Config(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jira: JiraSection = JiraSection()
    driver: DriverSection = DriverSection()
    ticket: TicketSection = TicketSection()
    update: UpdateSection = UpdateSection()
    log: LogSection = LogSection()
    responses: ResponsesSection = ResponsesSection()
    lifecycle: LifecycleSection = LifecycleSection()
    sync: SyncSection = SyncSection()
    eligible: EligibleSection = EligibleSection()
    metrics: MetricsSection = MetricsSection()
    ha: HaSection = HaSection()
    alertmanager: AlertmanagerSection = AlertmanagerSection()
    grafana: GrafanaSection = GrafanaSection()
    endpoints: dict[str, EndpointSection] = {}
    """The `[endpoint.NAME]` sections, by NAME."""

    @field_validator("endpoints")
    @classmethod
    def _endpoints_check(cls, value: dict[str, EndpointSection]) -> dict[str, EndpointSection]:
        for name, section in value.items():
            try:
                section.endpoint(name)
            except EndpointError as exc:
                # Raised through pydantic as it is (not a ValueError to wrap): it names the key.
                shown = None if exc.key in ("", "name") else getattr(section, exc.key, None)
                raise ConfigError(f"endpoint.{name}", exc.key or "*", shown, exc.reason) from None
        return value

    def secrets(self) -> list[str]:
        """Every secret value configured (the log masks them wherever they would appear)."""
        return [value for _, value in self.named_secrets()]

    def named_secrets(self) -> list[tuple[str, str]]:
        """Every secret configured, with where it comes from: ('[section] key', value), or
        ('the proxy's password (HTTPS_PROXY)', value) for one read from the environment."""
        found: list[tuple[str, str]] = []
        for title in ("jira", "driver", "sync", "grafana"):
            section = getattr(self, title)
            for name in type(section).model_fields:
                value = getattr(section, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append((f"[{title}] {name}", value.get_secret_value().strip()))
        # a proxy's password, configured or from the environment (HTTPS_PROXY=http://u:p@...;
        # NO_PROXY is a list of hosts, and 'bypass' leaves the environment unread)
        proxies = [("[jira] proxy", self.jira.proxy)]
        if self.jira.proxy != "bypass":
            proxies += [
                (f"{key.upper()}_PROXY", url)
                for key, url in urllib.request.getproxies().items()
                if key != "no"
            ]
        for where, url in proxies:
            password = _proxy_password(url)
            if password:
                found.append((f"the proxy's password ({where})", password))
        return found

    def eligible_on_create(self) -> EligibleOnCreate:
        """What [eligible] says a CREATE searches for before it creates (off when jql is empty)."""
        return EligibleOnCreate(self.eligible.jql, self.eligible.pick)

    def endpoint_map(self) -> dict[str, Endpoint]:
        """Every configured endpoint, checked, by name."""
        return {name: section.endpoint(name) for name, section in self.endpoints.items()}

    def check_for_the_driver(self) -> None:
        """What only the driver itself needs (`run`, driver.app.driver.build), checked where it is
        used so a client command does not refuse to start for a secret it never reads.

        Raises ConfigError naming the section and key.
        """
        if missing := self.jira.oauth_missing():
            raise missing
        if self.jira.auth == AuthChoice.OAUTH_3LO and is_postgresql(self.driver.database):
            raise ConfigError(
                "jira",
                "auth",
                self.jira.auth.value,
                "a pair (a PostgreSQL database) cannot share one person's consent: each refresh"
                " rotates its token; use oauth_client_credentials, a token or basic credentials",
            )
        mode = self.sync.mode
        if mode in ("webhook", "both") and not self.sync.webhook_secret.get_secret_value():
            raise ConfigError(
                "sync",
                "webhook_secret",
                None,  # a secret is never echoed
                f"mode = {mode} needs it (the secret registered with Jira's admin webhook); use"
                " mode = poll where Jira cannot sign its webhooks",
            )

    def request_settings(self, user_style: UserStyle | None = None) -> RequestSettings:
        """The request settings this file gives; `user_style` overrides `api_type` (once detected)."""
        location = self.jira.ticket_location
        return RequestSettings(
            ticket_location=location,
            user_style=user_style or user_style_for(str(self.jira.api_type)),
            text_format=text_format_for(location),
            guid_field=self.ticket.guid_field,
            guid_label_prefix=self.ticket.guid_label_prefix,
            protected_fields=tuple(self.update.protected_fields),
        )

    def lifecycle_settings(self) -> LifecycleSettings:
        """What [lifecycle] and [sync] when_resolved_in_jira say (validated when the file was read)."""
        lifecycle = self.lifecycle
        return LifecycleSettings(
            resolve_target=Target.parse(lifecycle.resolve_target),
            reopen_target=Target.parse(lifecycle.reopen_target),
            resolution=lifecycle.resolution.strip(),
            reopen_window=timedelta(minutes=lifecycle.reopen_window_minutes),
            resolve_hold=timedelta(seconds=lifecycle.resolve_hold_seconds),
            when_resolved_in_jira=self.sync.when_resolved_in_jira,
        )

    def zone(self) -> ZoneInfo | None:
        """The configured time zone, or None for the machine's local time."""
        return ZoneInfo(self.driver.timezone) if self.driver.timezone else None


SECTIONS: dict[str, type[Section]] = {
    name: info.annotation
    for name, info in Config.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Section)
}
"""The fixed sections by name (the `[endpoint.NAME]` sections are ENDPOINT_PREFIX + a name)."""
ENDPOINT_PREFIX = "endpoint."


def _proxy_password(url: str) -> str:
    """The password of a proxy URL (user:password@host), '' when there is none. Read by hand: a
    malformed value (an environment's, never checked) must not stop the driver from starting."""
    _, userinfo, _ = split_credentials(url)
    return unquote(userinfo.partition(":")[2]) if userinfo else ""
