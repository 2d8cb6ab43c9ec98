"""The one door to a running driver's HTTP API (the shell commands on it live in driver.cli).

`DriverClient` is async (the TUI awaits it inside Textual workers; the shell commands run it with
asyncio.run). Every method returns a driver.contract.schemas model. Failures come as two types:

    DriverClientError
    ├── DriverUnreachable(url, reason)     no answer: not running, wrong address, timeout
    └── DriverRejected(status, body)       the driver answered 4xx/5xx with an ErrorBody
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from driver.config import Config
from driver.contract.alarms import AlarmActionBody, AlarmLinkBody, AlarmLinked, AlarmPage, AlarmUnlinked
from driver.contract.eligible import EligiblePage, EligibleQuery
from driver.contract.endpoints import EndpointCall, EndpointList
from driver.contract.responses import ResponsePageBody
from driver.contract.schemas import (
    AddField,
    AdvancedAccepted,
    AdvancedRequest,
    AuthUpdate,
    CheckResult,
    CommandProblem,
    CreationTableState,
    DriverStatus,
    DryRun,
    ErrorBody,
    Health,
    JiraSettingsUpdate,
    LogEntry,
    LogPage,
    LogSettings,
    LogStatus,
    LogType,
    ParseRequest,
    Settings,
    Statistics,
    StatsReset,
    TicketQueryUpdate,
    TicketRowBody,
    TicketRowsUpdate,
    UpdateSettings,
)
from driver.contract.tickets import TicketView
from driver.errors import ConfigError

URL_ENV = "JIRA_DRIVER_URL"
"""Overrides the address derived from [driver] listen, for a driver on another host."""

LOG_PAGE_MAX = 1000
"""The most rows one GET /api/log returns; longer listings are paged with before_id."""

Model = TypeVar("Model", bound=BaseModel)


class DriverClientError(Exception):
    """The driver could not be asked, or said no."""


class DriverUnreachable(DriverClientError):
    """No answer from the driver."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach the driver at {url}: {reason}")


FORMS = {"key": "an issue key (OPS-123) or an issue id (10042)"}
"""What a field with a pattern takes, in words, for DriverInputRefused."""


class DriverInputRefused(DriverClientError):
    """A value the API's contract refuses (a GUID over its length, say): nothing was sent."""


def request_body(model: type[Model], **values: Any) -> Model:
    """A request body of the caller's values; raises DriverInputRefused naming the first field the
    contract refuses and why, before anything is sent."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or model.__name__
        said = first["msg"]
        if first["type"] == "string_pattern_mismatch":  # pydantic's words would show the regex
            said = f"{str(first['input'])[:80]!r} is not {FORMS.get(where, 'in the form it takes')}"
        raise DriverInputRefused(f"{where}: {said} (nothing was sent)") from None


class DriverRejected(DriverClientError):
    """The driver answered with an error status and an ErrorBody."""

    def __init__(self, status: int, body: ErrorBody) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body.error}")

    @property
    def command_problem(self) -> CommandProblem | None:
        """Where a rejected Advanced command went wrong, when that is what was rejected."""
        details = self.body.details
        return details if isinstance(details, CommandProblem) else None


def checked_url(url: str, where: tuple[str, str]) -> str:
    """A driver's base URL as given (`where`: the section and key, or the option, naming it), its
    trailing slash dropped. Raises ConfigError when it is not an http:// or https:// URL (httpx
    would only say so at the first request, as a transport error)."""
    if not url.startswith(("http://", "https://")) or len(url) > 2_000:
        raise ConfigError(
            *where, url[:200], "the driver's address as http://HOST:PORT, e.g. http://127.0.0.1:8750"
        )
    return url.rstrip("/")


def driver_url(
    config: Config, environ: Mapping[str, str] | None = None, *, override: str | None = None
) -> str:
    """The base URL of the driver's API: `override` (a command's --url), else $JIRA_DRIVER_URL,
    else derived from [driver] listen. Raises ConfigError for an override or $JIRA_DRIVER_URL that
    is no http(s) URL."""
    if override:
        return checked_url(override, ("option", "--url"))
    environ = os.environ if environ is None else environ
    if environ.get(URL_ENV):
        return checked_url(environ[URL_ENV], ("environment", URL_ENV))
    host = config.driver.host
    # a driver listening on every interface is still reached through loopback from here
    if host in {"0.0.0.0", "", "::"}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.driver.port}"


class DriverClient:
    """Async client of the driver's HTTP API; one pooled connection for its lifetime."""

    def __init__(
        self,
        base_url: str,
        api_token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            # the driver is ours and usually on loopback: a system proxy would only get in the way
            trust_env=False,
        )

    @classmethod
    def from_config(cls, config: Config, *, timeout: float = 10.0) -> DriverClient:
        """A client for the driver that this configuration describes."""
        token = config.driver.api_token.get_secret_value() or None
        return cls(driver_url(config), token, timeout=timeout)

    def __repr__(self) -> str:
        return f"DriverClient({self.base_url!r})"

    async def __aenter__(self) -> DriverClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        model: type[Model],
        *,
        json_body: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Model:
        content = json_body.model_dump_json() if json_body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        headers.update(extra_headers or {})
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, content=content, headers=headers, params=clean)
        except httpx.TimeoutException:
            raise DriverUnreachable(self.base_url, "timed out") from None
        except httpx.TransportError as exc:
            raise DriverUnreachable(self.base_url, _transport_reason(exc)) from None
        if response.status_code >= 400:
            raise DriverRejected(response.status_code, _error_body(response))
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            reason = f"unexpected answer to {method} {path}: {exc.error_count()} schema errors"
            raise DriverRejected(response.status_code, ErrorBody(error=reason)) from None

    async def health(self) -> Health:
        """Liveness of the driver (no token needed)."""
        return await self._request("GET", "/api/health", Health)

    async def status(self) -> DriverStatus:
        """Queue depth, Jira state, pauses."""
        return await self._request("GET", "/api/status", DriverStatus)

    async def send_commands(
        self, commands: Sequence[str], idempotency_key: str | None = None
    ) -> AdvancedAccepted:
        """Submit Advanced commands; all are accepted or none (DriverRejected with the bad line).

        With an idempotency_key, sending the same batch again (after a lost answer) queues nothing
        more and answers as the first time.
        """
        body = AdvancedRequest(commands=list(commands))
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._request(
            "POST", "/api/advanced", AdvancedAccepted, json_body=body, extra_headers=headers
        )

    async def parse(self, command: str) -> DryRun:
        """What a command would send, without sending it."""
        body = ParseRequest(command=command)
        return await self._request("POST", "/api/parse", DryRun, json_body=body)

    async def log(
        self,
        *,
        status: LogStatus | str | None = None,
        type: LogType | str | None = None,
        guid: str | None = None,
        q: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> LogPage:
        """One page of the log, newest first; pass next_before_id back for the next page."""
        params = {
            "status": status,
            "type": type,
            "guid": guid,
            "q": q,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "before_id": before_id,
            "limit": limit,
        }
        return await self._request("GET", "/api/log", LogPage, params=params)

    async def alarms(
        self,
        *,
        state: str | None = None,
        category: str | None = None,
        q: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> AlarmPage:
        """One page of the Alarms table, newest activity first; pass next_before back for the next."""
        params = {"state": state, "category": category, "q": q, "before": before, "limit": limit}
        return await self._request("GET", "/api/alarms", AlarmPage, params=params)

    async def resolve_alarm(self, guid: str) -> AdvancedAccepted:
        """Resolve the GUID's ticket now (a Manual RESOLVE, without the resolve hold)."""
        return await self._request(
            "POST",
            "/api/alarms/resolve",
            AdvancedAccepted,
            json_body=request_body(AlarmActionBody, guid=guid),
        )

    async def retry_alarm(self, guid: str) -> AdvancedAccepted:
        """Accept the GUID's Failed rows again as new rows."""
        return await self._request(
            "POST", "/api/alarms/retry", AdvancedAccepted, json_body=request_body(AlarmActionBody, guid=guid)
        )

    async def link_alarm(self, guid: str, key: str) -> AlarmLinked:
        """Make a ticket a person opened the GUID's ticket (the driver stamps it first)."""
        return await self._request(
            "POST", "/api/alarms/link", AlarmLinked, json_body=request_body(AlarmLinkBody, guid=guid, key=key)
        )

    async def unlink_alarm(self, guid: str) -> AlarmUnlinked:
        """End the GUID's link to its ticket: its next CREATE makes a new ticket."""
        return await self._request(
            "POST", "/api/alarms/unlink", AlarmUnlinked, json_body=request_body(AlarmActionBody, guid=guid)
        )

    async def eligible(self, query: EligibleQuery) -> EligiblePage:
        """One page of Get Eligible Ticket: Jira's issues matching the filters, newest update first."""
        params = query.model_dump(exclude_none=True, exclude_defaults=True)
        return await self._request("GET", "/api/eligible", EligiblePage, params=params)

    async def responses(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        log_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> ResponsePageBody:
        """One page of the Responses table (every answer heard from Jira), newest first."""
        params = {"status": status, "kind": kind, "log_id": log_id, "before_id": before_id, "limit": limit}
        return await self._request("GET", "/api/responses", ResponsePageBody, params=params)

    async def endpoints(self) -> EndpointList:
        """The custom API endpoints configured ([endpoint.NAME])."""
        return await self._request("GET", "/api/endpoints", EndpointList)

    async def call_endpoint(self, name: str, guid: str, variables: Mapping[str, str]) -> AdvancedAccepted:
        """Call an endpoint for the GUID's ticket: a Manual CALL row (202)."""
        body = EndpointCall(guid=guid, variables=dict(variables))
        return await self._request(
            "POST", f"/api/endpoints/{quote(name, safe='')}", AdvancedAccepted, json_body=body
        )

    async def log_entry(self, entry_id: int) -> LogEntry:
        """One log row with the request sent and Jira's answer."""
        return await self._request("GET", f"/api/log/{entry_id}", LogEntry)

    async def stats(self) -> Statistics:
        """Created, updated and total: today, yesterday, total, and the last 30 days."""
        return await self._request("GET", "/api/stats", Statistics)

    async def reset_stats(self, reset: StatsReset) -> Statistics:
        """Reset daily counters, totals, or both."""
        return await self._request("POST", "/api/stats/reset", Statistics, json_body=reset)

    async def ticket_view(self, guid: str) -> TicketView:
        """What the driver records of one GUID: its ticket and Jira state, earlier tickets, alarm state.

        The GUID is percent-encoded whole (`/` included), so any GUID reaches the route as typed.
        DriverRejected with status 404 for a GUID the driver has never seen.
        """
        return await self._request("GET", guid_path(guid), TicketView)

    async def ticket(self) -> CreationTableState:
        """The Ticket Creation Table, the Create Query and the field catalog."""
        return await self._request("GET", "/api/ticket", CreationTableState)

    async def put_rows(self, rows: Sequence[TicketRowBody]) -> CreationTableState:
        """Replace the table's rows; the Create Query follows."""
        body = TicketRowsUpdate(rows=list(rows))
        return await self._request("PUT", "/api/ticket/rows", CreationTableState, json_body=body)

    async def put_query(self, query_text: str) -> CreationTableState:
        """Replace the Create Query; the rows follow (invalid JSON: DriverRejected, nothing changes)."""
        body = TicketQueryUpdate(query_text=query_text)
        return await self._request("PUT", "/api/ticket/query", CreationTableState, json_body=body)

    async def add_field(self, field: AddField) -> CreationTableState:
        """Add a row to the Ticket Creation Table (Add Field)."""
        return await self._request("POST", "/api/ticket/fields", CreationTableState, json_body=field)

    async def execute(self, wait_seconds: float | None = None) -> LogEntry:
        """Send the Create Query as it stands (a Manual create); optionally wait for Jira's answer."""
        params = {"wait_seconds": wait_seconds}
        return await self._request("POST", "/api/execute", LogEntry, params=params)

    async def settings(self) -> Settings:
        """Update, log and Jira settings (never a secret)."""
        return await self._request("GET", "/api/settings", Settings)

    async def put_update_settings(self, body: UpdateSettings) -> Settings:
        """Change the rate limit of automatic updates."""
        return await self._request("PUT", "/api/settings/update", Settings, json_body=body)

    async def put_log_settings(self, body: LogSettings) -> Settings:
        """Change log retention."""
        return await self._request("PUT", "/api/settings/log", Settings, json_body=body)

    async def put_jira_settings(self, body: JiraSettingsUpdate) -> Settings:
        """Change the ticket location."""
        return await self._request("PUT", "/api/settings/jira", Settings, json_body=body)

    async def put_auth(self, body: AuthUpdate) -> Settings:
        """Change how the driver authenticates to Jira; the secret is write-only."""
        return await self._request("PUT", "/api/settings/auth", Settings, json_body=body)

    async def check(self) -> CheckResult:
        """Ask the driver to test its connection to Jira."""
        return await self._request("POST", "/api/check", CheckResult)

    async def refresh_catalog(self) -> CreationTableState:
        """Reload Jira's field list into the field catalog."""
        return await self._request("POST", "/api/catalog/refresh", CreationTableState)


def guid_path(guid: str) -> str:
    """The path of GET /api/tickets/{guid}: every character but letters, digits and `-_.~` escaped.

    `.` is escaped too, so that a GUID such as `..` is not taken for a dot segment of the path.
    """
    return "/api/tickets/" + quote(guid, safe="").replace(".", "%2E")


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "nothing answers there (is `jira-driver run` started, and is the address right?)"
    return str(exc) or type(exc).__name__


def _error_body(response: httpx.Response) -> ErrorBody:
    try:
        return ErrorBody.model_validate_json(response.content)
    except ValidationError:
        pass
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail else response.text[:300] or response.reason_phrase
    return ErrorBody(error=text)
