"""A canned, in-memory stand-in for the driver's API: fixed data, for deterministic snapshots.

Pilot tests of behaviour run against the real driver (in-process, tests/ui/conftest.py); this
double only feeds the screenshots, whose content must not depend on the date, the clock or the
order processes start in. Where it answers a question the real API answers (log filters, `total`)
it answers the same way; tests/ui/test_fake_driver.py holds it to that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from driver.contract.alarms import AlarmEntry, AlarmLinked, AlarmPage, AlarmUnlinked
from driver.contract.eligible import EligibleIssue, EligiblePage, EligibleQuery
from driver.contract.endpoints import EndpointInfo, EndpointList
from driver.contract.responses import ResponseEntry, ResponsePageBody
from driver.contract.schemas import (
    AcceptedCommand,
    AddField,
    AdvancedAccepted,
    AuthUpdate,
    CheckResult,
    Counter,
    CreationTableState,
    DayCount,
    DriverStatus,
    FieldInfo,
    JiraSettings,
    JiraSettingsUpdate,
    JiraState,
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

T0 = datetime(2025, 3, 14, 9, 0, 0, tzinfo=UTC)
SECRET = "fake-secret-never-shown"

CATALOG = [
    FieldInfo(id="project", name="Project", type="project"),
    FieldInfo(id="issuetype", name="Issue Type", type="issuetype"),
    FieldInfo(id="summary", name="Summary", type="string"),
    FieldInfo(id="description", name="Description", type="string"),
    FieldInfo(id="priority", name="Priority", type="priority"),
    FieldInfo(id="labels", name="Labels", type="labels"),
    FieldInfo(id="customfield_10100", name="Alarm GUID", type="string", custom=True),
]


def _entry(i: int) -> LogEntry:
    status = [LogStatus.OK, LogStatus.OK, LogStatus.DEFERRED, LogStatus.FAILED, LogStatus.PENDING][i % 5]
    kind = LogType.MANUAL if i % 7 == 0 else LogType.AUTOMATIC
    action = "CREATE" if i % 3 == 0 else "UPDATE"
    ok = status is LogStatus.OK
    return LogEntry(
        id=i,
        type=kind,
        action=action,
        guid=f"ALARM-{i % 13}",
        time=T0 + timedelta(seconds=7 * i),
        status=status,
        ticket_id=str(10000 + i) if ok else None,
        ticket_key=f"OPS-{i}" if ok else None,
        ticket_url=f"http://jira.example/browse/OPS-{i}" if ok else None,
        error="Jira answered 400: priority: Priority name 'Urgentt' is not valid"
        if status is LogStatus.FAILED
        else "",
        attempts=1,
        duration_ms=120.0,
    )


def _alarm(i: int) -> AlarmEntry:
    state = ["active", "active", "cleared", "resolve_hold", "active"][i % 5]
    has_ticket = i % 6 != 5
    return AlarmEntry(
        guid=f"12/{100 + i}/{4000 + i * 7}",
        state=state,
        hold_until=T0 + timedelta(minutes=5) if state == "resolve_hold" else None,
        summary=f"Link down on core-{i}" if i % 4 else f"Disk full on db-{i} ({i * 3}% over the threshold)",
        ticket_key=f"OPS-{200 + i}" if has_ticket else None,
        ticket_url=f"https://jira.example/browse/OPS-{200 + i}" if has_ticket else None,
        generation=1 + (i % 9 == 0) if has_ticket else None,
        jira_status=("Done" if state == "cleared" else "To Do") if has_ticket else None,
        status_category=("done" if state == "cleared" else "new") if has_ticket else None,
        last_action="RESOLVE" if state in ("cleared", "resolve_hold") else ("UPDATE" if i % 2 else "CREATE"),
        last_at=T0 - timedelta(minutes=3 * i),
        last_log_id=1000 - i,
        last_status=LogStatus.PENDING if state == "resolve_hold" else LogStatus.OK,
        updates_sent=i % 4,
        updates_merged=i % 3 // 2,
        updates_waiting=1 if i % 7 == 3 else 0,
        failed_rows=1 if i % 8 == 4 else 0,
        first_seen=T0 - timedelta(hours=2, minutes=i),
    )


def _response(i: int) -> ResponseEntry:
    kind, method, path, status = [
        ("create", "POST", "rest/api/latest/issue", 201),
        ("comment", "POST", "rest/api/latest/issue/OPS-42/comment", 201),
        ("edit", "PUT", "rest/api/latest/issue/OPS-42", 204),
        ("search", "POST", "rest/api/2/search", 200),
        ("create", "POST", "rest/api/latest/issue", 429),
        ("transition", "POST", "rest/api/latest/issue/OPS-40/transitions", 204),
        ("create", "POST", "rest/api/latest/issue", None),
    ][i % 7]
    body = {201: '{"id":"10042","key":"OPS-42","self":"http://jira.example/rest/api/2/issue/10042"}'}
    return ResponseEntry(
        id=500 - i,
        at=T0 - timedelta(seconds=11 * i),
        kind=kind,
        method=method,
        path=path,
        status=status,
        duration_ms=40.0 + i * 3 if status else 5000.0,
        retry_after="1" if status == 429 else None,
        rate_limit_reason="jira-burst-based" if status == 429 else None,
        request_id=None if status is None else f"540x{9000 + i}x1",
        body=body.get(status or 0, '{"errorMessages":["Rate limit exceeded."]}' if status == 429 else ""),
        error="timeout: no answer within 5 s (POST rest/api/latest/issue)" if status is None else "",
        log_id=None if kind == "search" else 300 - i,
    )


class FakeDriver:
    """Implements ui.client.DriverApi over fixed data."""

    base_url = "http://driver.test:8750"

    def __init__(self, log_size: int = 60) -> None:
        self.rows = [
            TicketRowBody(field="project", name="Project", type="project", value="OPS", mode="Included"),
            TicketRowBody(
                field="issuetype", name="Issue Type", type="issuetype", value="Task", mode="Included"
            ),
            TicketRowBody(field="summary", name="Summary", type="string", value="Disk full", mode="Included"),
            TicketRowBody(field="priority", name="Priority", type="priority", value="High", mode="Excluded"),
        ]
        self.log_rows = [_entry(i) for i in range(log_size, 0, -1)]
        self.alarm_rows = [_alarm(i) for i in range(40)]
        self.response_rows = [_response(i) for i in range(50)]
        self.status_value = DriverStatus(
            version="0.1.0",
            started_at=T0,
            jira_state=JiraState.OK,
            api_type="datacenter",
            queue_depth=3,
            pending=2,
            deferred=1,
            failed_today=4,
        )

    def _query(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for row in self.rows:
            if row.mode == "Included":
                fields[row.field] = {"key": row.value} if row.field == "project" else row.value
        return {"fields": fields}

    def _state(self) -> CreationTableState:
        query = self._query()
        return CreationTableState(
            rows=list(self.rows),
            query=query,
            query_text=json.dumps(query, indent=2),
            catalog=CATALOG,
            field_types=["string", "number", "option", "labels", "json"],
        )

    async def status(self) -> DriverStatus:
        return self.status_value

    async def send_commands(self, commands: Sequence[str]) -> AdvancedAccepted:
        return AdvancedAccepted(accepted=[AcceptedCommand(id=999, guid="ALARM-1", action="CREATE")])

    async def log(
        self,
        *,
        status: LogStatus | str | None = None,
        type: LogType | str | None = None,
        q: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> LogPage:
        # As driver.store.log_page: `total` counts every row the filters match, whatever the page;
        # `q` is a case-insensitive substring of the GUID, ticket key, error, note or action.
        needle = q.lower() if q else None
        matching = [
            r
            for r in self.log_rows
            if (status is None or r.status == status)
            and (type is None or r.type == type)
            and (
                needle is None
                or any(
                    needle in (text or "").lower()
                    for text in (r.guid, r.ticket_key, r.error, r.note, r.action)
                )
            )
        ]
        rows = [r for r in matching if before_id is None or r.id < before_id]
        page = rows[:limit]
        more = len(rows) > limit
        return LogPage(rows=page, total=len(matching), next_before_id=page[-1].id if more else None)

    async def log_entry(self, entry_id: int) -> LogEntry:
        entry = next(r for r in self.log_rows if r.id == entry_id)
        return entry.model_copy(
            update={
                "request": {"fields": {"summary": "Disk full"}},
                "response": {"status": 201, "body": {"key": entry.ticket_key}},
            }
        )

    async def stats(self) -> Statistics:
        days = [
            DayCount(
                day=(T0 - timedelta(days=29 - i)).strftime("%Y-%m-%d"),
                created=(i * 7) % 11,
                updated=(i * 5) % 17,
            )
            for i in range(30)
        ]
        return Statistics(
            create=Counter(today=3, yesterday=9, total=412),
            update=Counter(today=12, yesterday=30, total=1873),
            total=Counter(today=15, yesterday=39, total=2285),
            days=days,
            timezone="Europe/Brussels",
        )

    async def reset_stats(self, reset: StatsReset) -> Statistics:
        return await self.stats()

    async def ticket(self) -> CreationTableState:
        return self._state()

    async def put_rows(self, rows: Sequence[TicketRowBody]) -> CreationTableState:
        self.rows = list(rows)
        return self._state()

    async def put_query(self, query_text: str) -> CreationTableState:
        return self._state()

    async def add_field(self, field: AddField) -> CreationTableState:
        return self._state()

    async def execute(self, wait_seconds: float | None = None) -> LogEntry:
        return _entry(1)

    def _settings(self) -> Settings:
        return Settings(
            update=UpdateSettings(max_updates=5, interval_seconds=60, scope="ticket"),
            log=LogSettings(max_entries=10000, remove_older_than_days=30),
            jira=JiraSettings(
                url="http://jira.example",
                ticket_location="rest/api/latest/issue",
                auth_mode="basic",
                username="admin",
                has_secret=True,
                api_type="auto",
            ),
        )

    async def settings(self) -> Settings:
        return self._settings()

    async def put_update_settings(self, body: UpdateSettings) -> Settings:
        return self._settings()

    async def put_log_settings(self, body: LogSettings) -> Settings:
        return self._settings()

    async def put_jira_settings(self, body: JiraSettingsUpdate) -> Settings:
        return self._settings()

    async def put_auth(self, body: AuthUpdate) -> Settings:
        return self._settings()

    async def check(self) -> CheckResult:
        return CheckResult(ok=True, message="Connected to Jira Data Center 10.3 as admin", status_code=200)

    async def alarms(
        self,
        *,
        state: str | None = None,
        category: str | None = None,
        q: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> AlarmPage:
        rows = [
            a
            for a in self.alarm_rows
            if (state is None or a.state == state)
            and (category is None or a.status_category == category)
            and (q is None or any(q.lower() in (v or "").lower() for v in (a.guid, a.ticket_key, a.summary)))
        ]
        total = len(rows)
        rows = [a for a in rows if before is None or a.last_log_id < before]
        page = rows[:limit]
        return AlarmPage(
            rows=page, total=total, next_before=page[-1].last_log_id if len(rows) > limit else None
        )

    async def resolve_alarm(self, guid: str) -> AdvancedAccepted:
        return AdvancedAccepted(accepted=[AcceptedCommand(id=9001, guid=guid, action="RESOLVE")])

    async def retry_alarm(self, guid: str) -> AdvancedAccepted:
        return AdvancedAccepted(accepted=[AcceptedCommand(id=9002, guid=guid, action="CREATE")])

    async def unlink_alarm(self, guid: str) -> AlarmUnlinked:
        alarm = next(a for a in self.alarm_rows if a.guid == guid)
        return AlarmUnlinked(guid=guid, ticket_key=alarm.ticket_key, generation=alarm.generation or 1)

    async def endpoints(self) -> EndpointList:
        return EndpointList(
            endpoints=[
                EndpointInfo(
                    name="property",
                    method="PUT",
                    path="rest/api/2/issue/{key}/properties/{name}",
                    body={"note": "{note}"},
                    expect=[200, 201],
                    idempotent=False,
                    variables=["name", "note"],
                    needs_ticket=True,
                ),
                EndpointInfo(
                    name="watch",
                    method="POST",
                    path="rest/api/2/issue/{key}/watchers",
                    body="{user}",
                    expect=[204],
                    idempotent=True,
                    variables=["user"],
                    needs_ticket=True,
                ),
            ]
        )

    async def call_endpoint(self, name: str, guid: str, variables: Mapping[str, str]) -> AdvancedAccepted:
        return AdvancedAccepted(accepted=[AcceptedCommand(id=9003, guid=guid, action=f"CALL {name}")])

    async def link_alarm(self, guid: str, key: str) -> AlarmLinked:
        return AlarmLinked(
            guid=guid, ticket_key=key, ticket_url=f"https://jira.example/browse/{key}", generation=1
        )

    async def eligible(self, query: EligibleQuery) -> EligiblePage:
        statuses = [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")]
        issues = [
            EligibleIssue(
                key=f"OPS-{300 - i}",
                url=f"https://jira.example/browse/OPS-{300 - i}",
                summary=f"Opened by a person: core-{i} unreachable",
                status=statuses[i % 3][0],
                status_category=statuses[i % 3][1],
                assignee=None if i % 4 == 0 else f"Operator {i % 3 + 1}",
                updated=(T0 - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            )
            for i in range(30)
        ]
        if query.open:
            issues = [i for i in issues if i.status_category != "done"]
        jql = 'statusCategory != "done" ORDER BY updated DESC' if query.open else "ORDER BY updated DESC"
        return EligiblePage(jql=jql, issues=issues[: query.limit])

    async def responses(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        log_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> ResponsePageBody:
        def status_matches(code: int | None) -> bool:
            if status is None:
                return True
            if status == "none":
                return code is None
            if status.endswith("xx"):
                return code is not None and code // 100 == int(status[0])
            return code == int(status)

        rows = [
            r
            for r in self.response_rows
            if status_matches(r.status)
            and (kind is None or r.kind == kind)
            and (log_id is None or r.log_id == log_id)
        ]
        total = len(rows)
        rows = [r for r in rows if before_id is None or r.id < before_id]
        page = rows[:limit]
        return ResponsePageBody(
            rows=page, total=total, next_before_id=page[-1].id if len(rows) > limit else None
        )

    async def aclose(self) -> None:
        return None
