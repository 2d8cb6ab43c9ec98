"""The driver's HTTP API (FastAPI): intake, the read side for the TUI and shell, settings, execute.

Routes and bodies are those of driver.schemas (its docstring lists them). Every handler runs on
the event loop thread, like the engine, so the store has one user and no locks. When
`[driver] api_token` is set every route but /api/health needs `Authorization: Bearer <token>`,
compared in constant time. Secrets never appear in any response.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from driver import __version__
from driver.config import Config
from driver.dry_run import build_dry_run
from driver.engine import Engine
from driver.errors import CommandError, JiraError, QueryError, ShapeError
from driver.fields import CUSTOM_TYPES, FieldDef, FieldType
from driver.intake import IntakeError, Line, TableError, accept_lines, accept_manual, split_lines
from driver.jira_client import Credentials, JiraClient, check
from driver.jira_metadata import refresh_catalog
from driver.schemas import (
    AcceptedCommand,
    AddField,
    AdvancedAccepted,
    AdvancedRequest,
    AuthUpdate,
    CheckResult,
    CommandProblem,
    DriverStatus,
    DryRun,
    ErrorBody,
    FieldInfo,
    Health,
    JiraSettings,
    JiraSettingsUpdate,
    LogEntry,
    LogPage,
    LogSettings,
    LogStatus,
    LogType,
    ParseRequest,
    QueryProblem,
    Settings,
    Statistics,
    StatsReset,
    TicketQueryUpdate,
    TicketRowBody,
    TicketRowsUpdate,
    TicketState,
    UpdateSettings,
)
from driver.store import (
    S_AUTH,
    S_CATALOG,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    LogFilter,
    Store,
)
from driver.ticket_table import (
    Mode,
    TicketRow,
    TicketTable,
    add_row,
    query_to_table,
    render_query,
    table_to_query,
)


@dataclass
class DriverContext:
    """Everything the API serves from; built by driver.service."""

    config: Config
    store: Store
    engine: Engine
    jira: JiraClient
    started_at: datetime
    update_settings: UpdateSettings
    log_settings: LogSettings
    credentials: Credentials
    accepting: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _error(status: int, message: str, details: Any = None) -> JSONResponse:
    body = ErrorBody(error=message, details=details)
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def _ticket_state(ctx: DriverContext) -> TicketState:
    engine = ctx.engine
    settings = engine.ticket.settings
    try:
        query = table_to_query(engine.ticket.table, settings.user_style, settings.text_format)
    except ShapeError:
        # A stored value that no longer shapes (e.g. the type changed): show the rows anyway.
        query = {"fields": {}}
    return TicketState(
        rows=[
            TicketRowBody(
                field=row.field, name=row.name, type=row.type.value, value=row.value, mode=row.mode.value
            )
            for row in engine.ticket.table.rows
        ],
        query=query,
        query_text=render_query(query),
        catalog=[
            FieldInfo(id=f.id, name=f.name, type=f.type.value, custom=f.custom) for f in engine.ticket.catalog
        ],
        field_types=[t.value for t in CUSTOM_TYPES],
    )


def _settings(ctx: DriverContext) -> Settings:
    creds = ctx.credentials
    return Settings(
        update=ctx.update_settings,
        log=ctx.log_settings,
        jira=JiraSettings(
            url=ctx.config.jira.url,
            ticket_location=ctx.engine.ticket.settings.ticket_location,
            auth_mode=creds.mode,
            username=creds.username,
            has_secret=bool(creds.secret),
            api_type=ctx.config.jira.api_type.value,
        ),
    )


def _split_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def create_app(ctx: DriverContext) -> FastAPI:
    """The FastAPI application serving one driver."""
    app = FastAPI(title="jira-driver", version=__version__, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    token = ctx.config.driver.api_token.get_secret_value()

    async def require_token(request: Request) -> None:
        if not token:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise _Unauthorized()

    class _Unauthorized(Exception):
        pass

    @app.exception_handler(_Unauthorized)
    async def _unauthorized(request: Request, exc: _Unauthorized) -> JSONResponse:
        response = _error(401, "missing or wrong API token: send Authorization: Bearer <api_token>")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        return _error(400, f"invalid request: {'.'.join(first['loc'])}: {first['msg']}", {"errors": problems})

    auth = [Depends(require_token)]

    @app.get("/api/health", response_model=Health)
    async def health() -> Health:
        return Health(version=__version__)

    @app.get("/api/status", response_model=DriverStatus, dependencies=auth)
    async def status() -> DriverStatus:
        engine = ctx.engine
        pending, deferred = ctx.store.counts()
        now = engine.clock()
        paused = engine.health.pauses.paused_until(None, now)
        return DriverStatus(
            version=__version__,
            started_at=ctx.started_at,
            jira_state=engine.health.state,
            jira_message=engine.health.message,
            api_type=engine.jira.api_type,
            queue_depth=pending + deferred,
            pending=pending,
            deferred=deferred,
            failed_today=ctx.store.failed_today(),
            paused_until=paused,
            pause_reason=engine.health.pauses.reason if paused else "",
            near_limit=engine.jira.near_limit,
        )

    # --- intake ---------------------------------------------------------------------------------

    @app.post("/api/advanced", status_code=202, response_model=AdvancedAccepted, dependencies=auth)
    async def advanced(request: Request) -> Any:
        if not ctx.accepting:
            return _error(503, "the driver is shutting down and takes no new commands")
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = AdvancedRequest.model_validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                return _error(400, f"invalid request body: {first['msg']}", {"errors": str(exc)})
            lines = list(enumerate(body.commands, start=1))
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return _error(400, "the body is not UTF-8 text")
            lines = [(line.number, line.text) for line in split_lines(text)]
        if not lines:
            return _error(400, "no commands: send one Advanced command per line")
        engine = ctx.engine
        try:
            jobs = accept_lines(
                [Line(n, text) for n, text in lines],
                engine.ticket,
                ctx.store,
                engine.submit,
                ctx.log_settings.max_entries,
            )
        except IntakeError as exc:
            problem = CommandProblem(
                line=exc.line, position=exc.position, reason=exc.reason, command=exc.command
            )
            return _error(400, str(exc), problem)
        return AdvancedAccepted(
            accepted=[AcceptedCommand(id=job.id, guid=job.guid, action=job.action) for job in jobs]
        )

    @app.post("/api/parse", response_model=DryRun, dependencies=auth)
    async def parse(body: ParseRequest) -> Any:
        engine = ctx.engine
        ticket = engine.ticket
        try:
            return build_dry_run(body.command, ticket.table, ticket.catalog, ticket.settings).dry_run
        except CommandError as exc:
            problem = CommandProblem(line=1, position=exc.position, reason=exc.reason, command=body.command)
            return _error(400, f"position {exc.position}: {exc.reason}", problem)
        except ShapeError as exc:
            problem = CommandProblem(line=1, position=1, reason=str(exc), command=body.command)
            return _error(400, str(exc), problem)

    # --- log and statistics ---------------------------------------------------------------------

    @app.get("/api/log", response_model=LogPage, dependencies=auth)
    async def log_page(
        status: LogStatus | None = None,
        type: LogType | None = None,  # noqa: A002  (the contract's name)
        guid: str | None = None,
        q: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> LogPage:
        return ctx.store.log_page(
            LogFilter(
                status=status,
                type=type,
                guid=guid,
                q=q,
                since=since,
                until=until,
                before_id=before_id,
                limit=limit,
            )
        )

    @app.get("/api/log/{log_id}", response_model=LogEntry, dependencies=auth)
    async def log_entry(log_id: int) -> Any:
        entry = ctx.store.log_entry(log_id)
        if entry is None:
            return _error(404, f"no log row {log_id}")
        return entry

    @app.get("/api/stats", response_model=Statistics, dependencies=auth)
    async def stats() -> Statistics:
        return ctx.store.statistics()

    @app.post("/api/stats/reset", response_model=Statistics, dependencies=auth)
    async def stats_reset(body: StatsReset) -> Statistics:
        return ctx.store.reset_statistics(body)

    # --- ticket creation ------------------------------------------------------------------------

    @app.get("/api/ticket", response_model=TicketState, dependencies=auth)
    async def ticket() -> TicketState:
        return _ticket_state(ctx)

    @app.put("/api/ticket/rows", response_model=TicketState, dependencies=auth)
    async def ticket_rows(body: TicketRowsUpdate) -> Any:
        engine = ctx.engine
        settings = engine.ticket.settings
        rows: list[TicketRow] = []
        try:
            for row in body.rows:
                rows.append(
                    TicketRow(
                        field=row.field,
                        name=row.name,
                        type=FieldType(row.type),
                        value=row.value,
                        mode=Mode(row.mode),
                    )
                )
        except ValueError as exc:
            return _error(400, f"invalid row: {exc}")
        table = TicketTable(
            rows=tuple(rows),
            extras=engine.ticket.table.extras,
            fields_position=engine.ticket.table.fields_position,
        )
        try:
            # Canonicalise every value through the shaping rules; a bad one is a 400.
            canon = TicketTable(extras=table.extras, fields_position=table.fields_position)
            for given in table.rows:
                canon = add_row(
                    canon,
                    given.field_def(),
                    given.value,
                    given.mode,
                    settings.user_style,
                    settings.text_format,
                )
            table_to_query(canon, settings.user_style, settings.text_format)
        except ShapeError as exc:
            return _error(400, str(exc), {"field": exc.field, "value": exc.value, "expected": exc.expected})
        _set_table(ctx, canon)
        return _ticket_state(ctx)

    @app.put("/api/ticket/query", response_model=TicketState, dependencies=auth)
    async def ticket_query(body: TicketQueryUpdate) -> Any:
        engine = ctx.engine
        settings = engine.ticket.settings
        try:
            table = query_to_table(
                body.query_text,
                engine.ticket.table,
                engine.ticket.catalog,
                settings.user_style,
                settings.text_format,
            )
        except QueryError as exc:
            return _error(400, str(exc), QueryProblem(line=exc.line, column=exc.column, reason=exc.reason))
        _set_table(ctx, table)
        return _ticket_state(ctx)

    @app.post("/api/ticket/fields", response_model=TicketState, dependencies=auth)
    async def ticket_fields(body: AddField) -> Any:
        engine = ctx.engine
        settings = engine.ticket.settings
        known = engine.ticket.catalog.get(body.id)
        if body.type:
            try:
                kind = FieldType(body.type)
            except ValueError:
                allowed = ", ".join(t.value for t in FieldType)
                return _error(400, f"unknown field type {body.type!r} (known: {allowed})")
        elif known is not None:
            kind = known.type
        else:
            return _error(400, f"field {body.id!r} is not in the catalog: give its type")
        name = body.name or (known.name if known else body.id)
        definition = FieldDef(body.id, name, kind)
        try:
            table = add_row(
                engine.ticket.table,
                definition,
                body.value,
                Mode(body.mode),
                settings.user_style,
                settings.text_format,
            )
        except ShapeError as exc:
            return _error(400, str(exc), {"field": exc.field, "value": exc.value, "expected": exc.expected})
        if definition.custom and known is None:
            ctx.store.put_setting(S_CATALOG, engine.ticket.with_field(definition).to_list())
        _set_table(ctx, table)
        return _ticket_state(ctx)

    @app.post("/api/execute", status_code=202, response_model=LogEntry, dependencies=auth)
    async def execute(wait_seconds: Annotated[float, Query(ge=0, le=120)] = 0) -> Any:
        if not ctx.accepting:
            return _error(503, "the driver is shutting down and takes no new commands")
        engine = ctx.engine
        try:
            job = accept_manual(engine.ticket, ctx.store, engine.submit, ctx.log_settings.max_entries)
        except TableError as exc:
            return _error(400, str(exc))
        jobs = [job]
        if wait_seconds > 0:
            await engine.wait_settled(jobs[0].id, wait_seconds)
        result = ctx.store.log_entry(jobs[0].id)
        return result

    # --- settings -------------------------------------------------------------------------------

    @app.get("/api/settings", response_model=Settings, dependencies=auth)
    async def get_settings() -> Settings:
        return _settings(ctx)

    @app.put("/api/settings/update", response_model=Settings, dependencies=auth)
    async def put_update(body: UpdateSettings) -> Settings:
        ctx.update_settings = body
        ctx.engine.limiter.configure(body.max_updates, body.interval_seconds, body.scope)
        ctx.store.put_setting(S_UPDATE, body.model_dump(mode="json"))
        ctx.engine.wake()
        return _settings(ctx)

    @app.put("/api/settings/log", response_model=Settings, dependencies=auth)
    async def put_log(body: LogSettings) -> Settings:
        ctx.log_settings = body
        ctx.store.put_setting(S_LOG, body.model_dump(mode="json"))
        ctx.store.trim(body.max_entries)
        ctx.store.remove_older_than(body.remove_older_than_days)
        return _settings(ctx)

    @app.put("/api/settings/jira", response_model=Settings, dependencies=auth)
    async def put_jira(body: JiraSettingsUpdate) -> Any:
        location = body.ticket_location.strip().strip("/")
        if not location:
            return _error(400, "ticket_location: expected a path such as rest/api/latest/issue")
        apply_ticket_location(ctx, location)
        ctx.store.put_setting(S_TICKET_LOCATION, location)
        return _settings(ctx)

    @app.put("/api/settings/auth", response_model=Settings, dependencies=auth)
    async def put_auth(body: AuthUpdate) -> Settings:
        secret = body.secret
        if not secret and body.mode == ctx.credentials.mode:
            # Changing only the user name keeps the stored secret (it is write-only).
            secret = ctx.credentials.secret
        creds = Credentials(body.mode, body.username if body.mode == "basic" else "", secret)
        ctx.credentials = creds
        ctx.store.put_setting(
            S_AUTH, {"mode": creds.mode, "username": creds.username, "secret": creds.secret}
        )
        ctx.jira.set_credentials(creds)
        ctx.engine.credentials_changed()
        return _settings(ctx)

    @app.post("/api/check", response_model=CheckResult, dependencies=auth)
    async def check_jira() -> CheckResult:
        result, _ = await check(ctx.jira)
        if result.ok:
            ctx.engine.mark_ok()
        return result

    @app.post("/api/catalog/refresh", response_model=TicketState, dependencies=auth)
    async def catalog_refresh() -> Any:
        try:
            await refresh_catalog(ctx.jira, ctx.engine.ticket, ctx.store, ctx.engine.health)
        except JiraError as exc:
            return _error(502, f"cannot load Jira's field list: {exc}")
        return _ticket_state(ctx)

    return app


def apply_ticket_location(ctx: DriverContext, location: str) -> None:
    """Point the client and the request builder at a new issue path (v3 switches to ADF)."""
    ctx.jira.set_ticket_location(location)
    ctx.engine.ticket.set_location(location)


def _set_table(ctx: DriverContext, table: TicketTable) -> None:
    """Use and persist a new Ticket Creation Table."""
    ctx.engine.ticket.table = table
    ctx.store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
