"""The UI's one door to the driver: the calls the pages may make, served by driver.contract.client.

Pages depend on the `DriverApi` protocol, never on URLs; `connect()` builds the real client.
Failures the pages see (both are DriverClientError):
    DriverUnreachable             the driver did not answer: shown as "disconnected, retrying"
    DriverRejected(status, body)  the driver answered 4xx/5xx with an ErrorBody
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import httpx

from driver.contract.alarms import AlarmLinked, AlarmPage, AlarmUnlinked
from driver.contract.client import (
    URL_ENV,
    DriverClient,
    DriverClientError,
    DriverRejected,
    DriverUnreachable,
    driver_url,
)
from driver.contract.eligible import EligiblePage, EligibleQuery
from driver.contract.endpoints import EndpointList
from driver.contract.responses import ResponsePageBody
from driver.contract.schemas import (
    AddField,
    AdvancedAccepted,
    AuthUpdate,
    CheckResult,
    CreationTableState,
    DriverStatus,
    JiraSettingsUpdate,
    LogEntry,
    LogPage,
    LogSettings,
    LogStatus,
    LogType,
    Settings,
    Statistics,
    StatsReset,
    TicketRowBody,
    UpdateSettings,
)

__all__ = [
    "URL_ENV",
    "DriverApi",
    "DriverClient",
    "DriverClientError",
    "DriverRejected",
    "DriverUnreachable",
    "connect",
    "driver_url",
]


class DriverApi(Protocol):
    """What the TUI asks of the driver; `DriverClient` provides it, test doubles may too."""

    base_url: str

    async def status(self) -> DriverStatus: ...
    async def send_commands(self, commands: Sequence[str]) -> AdvancedAccepted: ...
    async def log(
        self,
        *,
        status: LogStatus | str | None = None,
        type: LogType | str | None = None,
        q: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> LogPage: ...
    async def log_entry(self, entry_id: int) -> LogEntry: ...
    async def stats(self) -> Statistics: ...
    async def reset_stats(self, reset: StatsReset) -> Statistics: ...
    async def ticket(self) -> CreationTableState: ...
    async def put_rows(self, rows: Sequence[TicketRowBody]) -> CreationTableState: ...
    async def put_query(self, query_text: str) -> CreationTableState: ...
    async def add_field(self, field: AddField) -> CreationTableState: ...
    async def execute(self, wait_seconds: float | None = None) -> LogEntry: ...
    async def settings(self) -> Settings: ...
    async def put_update_settings(self, body: UpdateSettings) -> Settings: ...
    async def put_log_settings(self, body: LogSettings) -> Settings: ...
    async def put_jira_settings(self, body: JiraSettingsUpdate) -> Settings: ...
    async def put_auth(self, body: AuthUpdate) -> Settings: ...
    async def check(self) -> CheckResult: ...
    async def alarms(
        self,
        *,
        state: str | None = None,
        category: str | None = None,
        q: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> AlarmPage: ...
    async def resolve_alarm(self, guid: str) -> AdvancedAccepted: ...
    async def retry_alarm(self, guid: str) -> AdvancedAccepted: ...
    async def unlink_alarm(self, guid: str) -> AlarmUnlinked: ...
    async def link_alarm(self, guid: str, key: str) -> AlarmLinked: ...
    async def eligible(self, query: EligibleQuery) -> EligiblePage: ...
    async def endpoints(self) -> EndpointList: ...
    async def call_endpoint(self, name: str, guid: str, variables: Mapping[str, str]) -> AdvancedAccepted: ...
    async def responses(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        log_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> ResponsePageBody: ...
    async def aclose(self) -> None: ...


def connect(
    base_url: str, api_token: str | None, *, transport: httpx.AsyncBaseTransport | None = None
) -> DriverClient:
    """The real client for a driver at base_url; short timeout so an outage shows at once.

    `transport` replaces the network under the client (None: TCP to base_url). The TUI's tests pass
    an httpx.ASGITransport over the real driver app, so the pages run against the real API without
    a process; the UI itself never needs to know which it got.
    """
    return DriverClient(base_url, api_token or None, timeout=5.0, transport=transport)
