"""The simulator's FastAPI app: Jira's REST resources and /_sim/ for tests, behind auth, faults and limits."""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import re
import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from jira_sim import issues as shapes
from jira_sim.data import (
    DEFAULT_PRIORITY,
    Catalog,
    Comment,
    Issue,
    Store,
    User,
    jira_time,
    now,
)
from jira_sim.errors import ISSUE_NOT_FOUND, JiraError
from jira_sim.faults import Faults, RateLimits, limited_headers, reset_header
from jira_sim.issues import Api, FieldProblem
from jira_sim.journal import Journal
from jira_sim.jql import JqlError, compile_query
from jira_sim.search import build_fields, functions_for, lookup, sort_default
from jira_sim.settings import FaultRule, Limits, SimSettings, fault_from_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
DC_VERSION = (10, 3, 24)
CLOUD_VERSION = (1001, 0, 0)
_ISSUE_WRITE = re.compile(r"^/rest/api/[^/]+/issue/([^/]+)(?:/(comment|transitions|properties)(?:/.*)?)?$")
_NOT_ISSUE_KEYS = frozenset({"createmeta", "bulk", "picker", "properties"})
_ANONYMOUS = frozenset({"serverInfo"})


@dataclass
class SimState:
    """Everything that changes while the simulator runs; /_sim/reset puts it back."""

    settings: SimSettings
    catalog: Catalog
    store: Store
    journal: Journal
    faults: Faults
    limits: Limits
    rate: RateLimits
    generation: int = 0
    """Bumped by every reset; a request from an earlier generation no longer belongs to anyone."""

    def reset(self) -> None:
        """Clear issues, journal and faults; limits go back to the command line's."""
        self.generation += 1
        self.store.reset()
        self.journal.reset()
        self.faults = Faults(self.settings.faults, self.settings.limits.latency_ms)
        self.limits = self.settings.limits
        self.rate.configure(self.limits)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json;charset=UTF-8")


def _error(status: int, messages: list[str], errors: dict[str, str] | None = None) -> Response:
    return _json({"errorMessages": messages, "errors": errors or {}}, status)


# --- middleware: journal, faults, auth, rate limits --------------------------------------------


def _auth_scheme(headers: dict[bytes, bytes]) -> str | None:
    value = headers.get(b"authorization")
    if value is None:
        return None
    return value.split(b" ", 1)[0].decode("latin-1")[:20]


def authenticate(state: SimState, header: bytes | None) -> User | None:
    """The user of an Authorization header: Basic name-or-email:password-or-token, or Bearer PAT (DC)."""
    if not header:
        return None
    scheme, _, credentials = header.decode("latin-1").partition(" ")
    catalog = state.catalog
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, secret = decoded.partition(":")
        if not sep or not secret:
            return None
        user = catalog.user_by_name.get(name.lower()) or catalog.user_by_email.get(name.lower())
        if user is None:
            return None
        return user if secret == user.password or secret in user.tokens else None
    if scheme.lower() == "bearer" and state.settings.flavor == "datacenter":
        return catalog.user_by_token.get(credentials.strip())
    return None


async def _abort_connection(send: Send) -> None:
    # Close the socket without a byte of answer, as a crashed proxy would. uvicorn does not offer this
    # through ASGI, so reach its transport; raising instead would make uvicorn answer 500.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: no transport behind the ASGI send")
    transport.abort()
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _fault_response(rule: FaultRule) -> Response:
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = str(int(rule.retry_after))
    if rule.status == 429:
        wall = datetime.now(UTC)
        headers.update(
            {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_header(wall + timedelta(seconds=rule.retry_after or 1)),
                "RateLimit-Reason": rule.reason,
                "X-RateLimit-NearLimit": "true",
            }
        )
        body = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    else:
        body = {"errorMessages": [f"Simulated server error {rule.status}."], "errors": {}}
    return _json(body, rule.status, headers)


class SimMiddleware:
    """Outermost ASGI layer for /rest/: journal every request, then faults, auth and rate limits."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/rest/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        # A test resets the simulator between tests while answers it held (latency, slow_after) may
        # still be on their way; such a request must neither change the new state nor be journaled.
        generation = state.generation
        method: str = scope["method"]
        path: str = scope["path"]
        headers = dict(scope["headers"])
        started = time.monotonic()
        chunks: list[bytes] = []
        extra_headers: list[tuple[bytes, bytes]] = []
        record: dict[str, Any] = {
            "time": jira_time(now()),
            "method": method,
            "path": path,
            "query": scope["query_string"].decode("latin-1"),
            "auth": _auth_scheme(headers),
            "user": None,
            "status": None,
            "issue_key": None,
            "fault": None,
        }
        scope.setdefault("state", {})
        response_status: list[int] = []
        delay_answer: list[float] = []
        drop_answer: list[bool] = []

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_status.append(message["status"])
                if drop_answer:
                    await _abort_connection(send)
                    return
                if extra_headers:
                    message["headers"] = list(message.get("headers", [])) + extra_headers
                if delay_answer:
                    await asyncio.sleep(delay_answer[0])
            elif drop_answer:
                return
            await send(message)

        try:
            rule = state.faults.take(method, path)
            if state.faults.latency_ms > 0:
                await asyncio.sleep(state.faults.latency_ms / 1000)
                if state.generation != generation:
                    await _abort_connection(send)
                    return
            if rule is not None:
                record["fault"] = rule.kind if rule.kind != "status" else str(rule.status)
                state.journal.counters.faults += 1
                if rule.kind == "drop":
                    await _abort_connection(send)
                    return
                if rule.kind == "status":
                    await _fault_response(rule)(scope, receive_body, send_answer)
                    return
                if rule.kind == "slow_after":
                    delay_answer.append(rule.seconds)
                if rule.kind == "drop_after":
                    drop_answer.append(True)
            user = authenticate(state, headers.get(b"authorization"))
            if user is None:
                anonymous = path.rsplit("/", 1)[-1] in _ANONYMOUS and b"authorization" not in headers
                if not anonymous:
                    denied = _error(401, [NOT_AUTHENTICATED])
                    denied.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
                    if state.settings.flavor == "datacenter" and b"authorization" in headers:
                        denied.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                    await denied(scope, receive_body, send_answer)
                    return
            else:
                record["user"] = user.name
                scope["state"]["sim_user"] = user
            if await self._rate_limited(
                scope, method, path, record, extra_headers, receive_body, send_answer
            ):
                return
            await self.app(scope, receive_body, send_answer)
        finally:
            if drop_answer or (record["fault"] == "drop"):
                record["status"] = None
            elif response_status:
                record["status"] = response_status[0]
            record["issue_key"] = record["issue_key"] or scope["state"].get("sim_issue_key")
            record["body"] = _journal_body(b"".join(chunks))
            record["ms"] = round((time.monotonic() - started) * 1000, 2)
            if state.generation == generation:
                state.journal.record(record)

    async def _rate_limited(
        self,
        scope: Scope,
        method: str,
        path: str,
        record: dict[str, Any],
        extra_headers: list[tuple[bytes, bytes]],
        receive: Receive,
        send: Send,
    ) -> bool:
        state = self.state
        clock, wall = time.monotonic(), datetime.now(UTC)
        verdict = state.rate.burst_hit(clock, wall)
        if verdict is not None:
            if not verdict.allowed:
                state.journal.counters.rate_limited += 1
                await _json(
                    {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                    429,
                    limited_headers(verdict, "jira-burst-based"),
                )(scope, receive, send)
                return True
            extra_headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
            extra_headers.append((b"x-ratelimit-remaining", str(verdict.remaining).encode()))
            if verdict.near_limit:
                extra_headers.append((b"x-ratelimit-nearlimit", b"true"))
        if method in {"PUT", "POST", "DELETE"}:
            match = _ISSUE_WRITE.match(path)
            if match and match.group(1) not in _NOT_ISSUE_KEYS:
                issue = state.store.get(match.group(1))
                if issue is not None:
                    record["issue_key"] = issue.key
                    verdict = state.rate.write_hit(issue.key, clock, wall)
                    if verdict is not None:
                        if not verdict.allowed:
                            state.journal.counters.rate_limited += 1
                            await _json(
                                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                                429,
                                limited_headers(verdict, "jira-per-issue-on-write"),
                            )(scope, receive, send)
                            return True
                        if verdict.near_limit and (b"x-ratelimit-nearlimit", b"true") not in extra_headers:
                            extra_headers.append((b"x-ratelimit-nearlimit", b"true"))
        return False


def _journal_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:2000].decode("utf-8", "replace")


# --- request helpers ---------------------------------------------------------------------------


def _api(request: Request, state: SimState) -> Api:
    version = request.path_params.get("version", "2")
    allowed = ("2", "3", "latest") if state.settings.flavor == "cloud" else ("2", "latest")
    if version not in allowed:
        raise JiraError(404, [f"null for uri: {request.url}"])
    base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return Api(state.settings.flavor, version, base)


def _user(request: Request) -> User:
    user: User = request.state.sim_user
    return user


async def _body(request: Request, required: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise JiraError(400, ["No content to map to Object due to end of input"])
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JiraError(
            400, [f"Unexpected character: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
        ) from None
    except ValueError:
        raise JiraError(400, ["Unexpected character in the request body"]) from None
    if not isinstance(data, dict):
        raise JiraError(400, ["Can not deserialize instance of the request bean out of START_ARRAY token"])
    return data


def _createmeta_page(request: Request, items: list[Any], cloud_key: str) -> Response:
    """One page of a createmeta listing: Cloud names the list after its items, DC calls it values."""
    start = _int_param(request.query_params.get("startAt"), "startAt", 0)
    size = _int_param(request.query_params.get("maxResults"), "maxResults", 50)
    chosen, total = items[start : start + size], len(items)
    if request.app.state.sim.settings.flavor == "cloud":
        return _json({cloud_key: chosen, "maxResults": size, "startAt": start, "total": total})
    return _json(
        {
            "maxResults": size,
            "startAt": start,
            "total": total,
            "isLast": start + size >= total,
            "values": chosen,
        }
    )


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."])
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."]) from None
    if number < 0:
        raise JiraError(400, [f"The value '{value}' is not valid for the parameter '{name}'."])
    return number


def _list_param(request: Request, name: str) -> list[str] | None:
    values = request.query_params.getlist(name)
    return values or None


def _issue(request: Request, state: SimState) -> Issue:
    key = request.path_params["key"]
    issue = state.store.get(key)
    if issue is None:
        raise JiraError(404, [ISSUE_NOT_FOUND])
    request.state.sim_issue_key = issue.key
    return issue


def _page_token(offset: int, jql: str) -> str:
    raw = f"{offset}:{zlib.crc32(jql.encode()):08x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, jql: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, _, check = raw.partition(":")
        if check != f"{zlib.crc32(jql.encode()):08x}":
            raise ValueError
        return int(offset_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise JiraError(400, ["The provided next page token is invalid or expired."]) from None


# --- the app -------------------------------------------------------------------------------------


def create_app(settings: SimSettings) -> FastAPI:
    """Build the simulator for one flavour; its state lives in `app.state.sim`."""
    catalog = Catalog(settings)
    state = SimState(
        settings=settings,
        catalog=catalog,
        store=Store(),
        journal=Journal(settings.journal_size),
        faults=Faults(settings.faults, settings.limits.latency_ms),
        limits=settings.limits,
        rate=RateLimits(settings.limits),
    )
    jql_fields = build_fields(catalog, state.store)
    jql_catalog = lookup(jql_fields)
    cloud = settings.flavor == "cloud"

    app = FastAPI(title="jira-sim", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    @app.exception_handler(JiraError)
    async def jira_error(request: Request, exc: JiraError) -> Response:
        return _json(exc.body(), exc.status, exc.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error(404, [f"null for uri: {request.url}"])
        return _error(exc.status_code, [str(exc.detail)])

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _error(400, ["The request is not valid."])

    rest = "/rest/api/{version}"

    # --- metadata --------------------------------------------------------------------------

    @app.get(rest + "/serverInfo")
    async def server_info(request: Request) -> Response:
        api = _api(request, state)
        version = CLOUD_VERSION if cloud else DC_VERSION
        body: dict[str, Any] = {
            "baseUrl": api.base,
            "version": "1001.0.0-SNAPSHOT" if cloud else ".".join(map(str, DC_VERSION)),
            "versionNumbers": list(version),
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100289 if cloud else 10030024,
            "buildDate": "2025-11-20T00:00:00.000+0000",
            "serverTime": jira_time(now()),
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "Jira Simulator",
        }
        if cloud:
            body["displayUrl"] = api.base
        return _json(body)

    @app.get(rest + "/myself")
    async def myself(request: Request) -> Response:
        return _json(shapes.myself_json(_api(request, state), _user(request)))

    @app.get(rest + "/field")
    async def fields(request: Request) -> Response:
        _api(request, state)
        return _json(shapes.field_list_json(catalog))

    @app.get(rest + "/project")
    async def projects(request: Request) -> Response:
        api = _api(request, state)
        return _json([shapes.project_json(api, p, catalog, full=False) for p in catalog.projects])

    @app.get(rest + "/project/{key}")
    async def project(request: Request) -> Response:
        api = _api(request, state)
        found = catalog.project(request.path_params["key"])
        if found is None:
            raise JiraError(404, [f"No project could be found with key '{request.path_params['key']}'."])
        return _json(shapes.project_json(api, found, catalog))

    @app.get(rest + "/priority")
    async def priorities(request: Request) -> Response:
        api = _api(request, state)
        return _json([shapes.priority_json(api, p) for p in catalog.priorities])

    @app.get(rest + "/issuetype")
    async def issue_types(request: Request) -> Response:
        api = _api(request, state)
        return _json([shapes.issuetype_json(api, t) for t in catalog.issue_types])

    @app.get(rest + "/status")
    async def statuses(request: Request) -> Response:
        api = _api(request, state)
        return _json([shapes.status_json(api, s) for s in catalog.statuses])

    @app.get(rest + "/resolution")
    async def resolutions(request: Request) -> Response:
        api = _api(request, state)
        return _json([shapes.resolution_json(api, r) for r in catalog.resolutions])

    @app.get(rest + "/issue/createmeta")
    async def createmeta_global(request: Request) -> Response:
        api = _api(request, state)
        if not cloud:
            raise JiraError(404, [f"null for uri: {request.url}"])
        keys = {
            k.upper() for item in request.query_params.getlist("projectKeys") for k in item.split(",") if k
        }
        ids = {k for item in request.query_params.getlist("projectIds") for k in item.split(",") if k}
        names = {n for item in request.query_params.getlist("issuetypeNames") for n in item.split(",") if n}
        type_ids = {n for item in request.query_params.getlist("issuetypeIds") for n in item.split(",") if n}
        with_fields = "projects.issuetypes.fields" in request.query_params.get("expand", "")
        chosen_projects = [
            p for p in catalog.projects if (not keys and not ids) or p.key in keys or p.id in ids
        ]
        body_projects = []
        for p in chosen_projects:
            types = []
            for t in catalog.issue_types:
                if (names and t.name not in names) or (type_ids and t.id not in type_ids):
                    continue
                entry = shapes.issuetype_json(api, t)
                entry.pop("hierarchyLevel", None)
                if with_fields:
                    entry["fields"] = {
                        f.id: shapes.field_meta_json(api, catalog, f, with_field_id=False)
                        for f in shapes.create_fields(catalog)
                    }
                types.append(entry)
            body_projects.append(
                {
                    "self": f"{api.rest}/project/{p.id}",
                    "id": p.id,
                    "key": p.key,
                    "name": p.name,
                    "avatarUrls": shapes.avatar_urls(api, "project", p.id),
                    "issuetypes": types,
                }
            )
        return _json({"expand": "projects", "projects": body_projects})

    @app.get(rest + "/issue/createmeta/{key}/issuetypes")
    async def createmeta_types(request: Request) -> Response:
        api = _api(request, state)
        found = catalog.project(request.path_params["key"])
        if found is None:
            raise JiraError(400, [f"No project could be found with key '{request.path_params['key']}'."])
        types = [shapes.issuetype_json(api, t) for t in catalog.issue_types]
        return _createmeta_page(request, types, "issueTypes")

    @app.get(rest + "/issue/createmeta/{key}/issuetypes/{type_id}")
    async def createmeta_fields(request: Request) -> Response:
        api = _api(request, state)
        found = catalog.project(request.path_params["key"])
        issuetype = catalog.issue_type_by_id.get(request.path_params["type_id"])
        if found is None or issuetype is None:
            raise JiraError(400, ["Issue Does Not Exist"])
        metas = [
            shapes.field_meta_json(api, catalog, f, with_field_id=True) for f in shapes.create_fields(catalog)
        ]
        return _createmeta_page(request, metas, "fields")

    # --- issues ------------------------------------------------------------------------------

    @app.post(rest + "/issue")
    async def create_issue(request: Request) -> Response:
        api = _api(request, state)
        user = _user(request)
        body = await _body(request)
        fields_in = body.get("fields")
        if not isinstance(fields_in, dict):
            fields_in = {}
        update_in = body.get("update") if isinstance(body.get("update"), dict) else {}
        assert isinstance(update_in, dict)
        present = {**{k: True for k in update_in}, **fields_in}
        errors = shapes.required_errors(settings.flavor, present)
        project_obj = None
        if "project" not in errors:
            try:
                project_obj = shapes.read_project(catalog, fields_in.get("project"))
            except FieldProblem as problem:
                errors["project"] = str(problem)
        if project_obj is not None and project_obj.key in user.no_create:
            raise JiraError(403, ["You do not have permission to create issues in this project."])
        changes = shapes.read_changes(api, catalog, body, creating=True)
        for fid, message in changes.errors.items():
            errors.setdefault(fid, message)
        properties = _read_properties(body.get("properties"), errors)
        transition_id = _transition_id(body.get("transition")) if body.get("transition") is not None else None
        if transition_id is not None and transition_id not in catalog.transition_by_id:
            errors.setdefault("transition", f"Transition id '{transition_id}' is not valid for this issue.")
        if errors:
            raise JiraError(400, [], errors)
        assert project_obj is not None
        issue_id, key, number = state.store.next_key(project_obj)
        stamp = now()
        issue = Issue(
            id=issue_id,
            key=key,
            number=number,
            project=project_obj,
            issuetype=changes.sets["issuetype"],
            summary=changes.sets["summary"],
            priority=changes.sets.get("priority") or DEFAULT_PRIORITY,
            reporter=changes.sets.get("reporter") or user,
            creator=user,
            created=stamp,
            updated=stamp,
            properties=properties,
        )
        shapes.apply_changes(issue, changes)
        if transition_id is not None:
            _move(issue, transition_id, None)
        state.store.add(issue, state.limits.search_lag)
        state.journal.counters.created += 1
        request.state.sim_issue_key = key
        return _json({"id": issue_id, "key": key, "self": f"{api.rest}/issue/{issue_id}"}, 201)

    def _read_properties(value: Any, errors: dict[str, str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, list) or not all(
            isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p for p in value
        ):
            errors["properties"] = "Properties must be a list of objects with 'key' and 'value'."
            return {}
        result: dict[str, Any] = {}
        for prop in value:
            if not prop["key"] or len(prop["key"]) > 255:
                errors["properties"] = "The property key must be between 1 and 255 characters long."
            elif len(json.dumps(prop["value"])) > 32768:
                errors["properties"] = "The property value is too long: at most 32768 bytes."
            else:
                result[prop["key"]] = prop["value"]
        return result

    def _transition_id(value: Any) -> str:
        if not isinstance(value, dict) or value.get("id") is None:
            raise JiraError(400, ["Missing 'transition' identifier"])
        return str(value["id"])

    def _move(issue: Issue, transition_id: str, resolution: Any) -> None:
        target = catalog.transition_by_id[transition_id].to
        issue.status = target
        if target.category.key == "done":
            issue.resolution = resolution or catalog.resolutions[0]
            issue.resolutiondate = now()
        else:
            issue.resolution = None
            issue.resolutiondate = None

    @app.get(rest + "/issue/{key}")
    async def get_issue(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        wanted = shapes.wanted_fields(catalog, _list_param(request, "fields"))
        properties = [p for item in request.query_params.getlist("properties") for p in item.split(",") if p]
        return _json(shapes.issue_json(api, catalog, issue, wanted, properties))

    @app.put(rest + "/issue/{key}")
    async def edit_issue(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        body = await _body(request, required=False)
        changes = shapes.read_changes(api, catalog, body, creating=False)
        if changes.errors:
            raise JiraError(400, [], changes.errors)
        if "properties" in body:
            errors: dict[str, str] = {}
            new_properties = _read_properties(body["properties"], errors)
            if errors:
                raise JiraError(400, [], errors)
            issue.properties.update(new_properties)
        shapes.apply_changes(issue, changes)
        stamp = now()
        for text in changes.comments:
            _add_comment(issue, _user(request), text, stamp)
        issue.updated = stamp
        state.journal.counters.edits += 1
        if request.query_params.get("returnIssue") == "true":
            return _json(shapes.issue_json(api, catalog, issue, shapes.wanted_fields(catalog, None)))
        return Response(status_code=204)

    def _add_comment(issue: Issue, user: User, text: Any, stamp: datetime) -> Comment:
        comment = Comment(state.store.next_comment_id(), user, text, stamp, stamp)
        issue.comments.append(comment)
        issue.updated = stamp
        state.journal.counters.comments += 1
        return comment

    @app.get(rest + "/issue/{key}/comment")
    async def list_comments(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        start = _int_param(request.query_params.get("startAt"), "startAt", 0)
        size = _int_param(request.query_params.get("maxResults"), "maxResults", 5000)
        page = shapes.comments_page(api, issue, start, size)
        page["maxResults"] = size
        return _json(page)

    @app.post(rest + "/issue/{key}/comment")
    async def add_comment(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        body = await _body(request)
        text = shapes.read_comment_body(api, body.get("body"))
        comment = _add_comment(issue, _user(request), text, now())
        return _json(shapes.comment_json(api, issue, comment), 201)

    @app.get(rest + "/issue/{key}/transitions")
    async def list_transitions(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        only = request.query_params.get("transitionId")
        with_fields = "transitions.fields" in request.query_params.get("expand", "")
        items = []
        for transition in catalog.transitions:
            if transition.to == issue.status or (only and transition.id != only):
                continue
            item: dict[str, Any] = {
                "id": transition.id,
                "name": transition.name,
                "to": shapes.status_json(api, transition.to),
            }
            if cloud:
                item.update(
                    {
                        "hasScreen": False,
                        "isGlobal": True,
                        "isInitial": False,
                        "isAvailable": True,
                        "isConditional": False,
                        "looped": False,
                    }
                )
            else:
                item["opsbarSequence"] = int(transition.id)
            if with_fields:
                item["fields"] = {}
            items.append(item)
        return _json({"expand": "transitions", "transitions": items})

    @app.post(rest + "/issue/{key}/transitions")
    async def do_transition(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        body = await _body(request)
        transition_id = _transition_id(body.get("transition"))
        transition = catalog.transition_by_id.get(transition_id)
        if transition is None or transition.to == issue.status:
            raise JiraError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        fields_in = body.get("fields") or {}
        if not isinstance(fields_in, dict):
            raise JiraError(
                400, ["Can not deserialize instance of java.util.HashMap out of START_ARRAY token"]
            )
        resolution = None
        errors: dict[str, str] = {}
        for fid, value in fields_in.items():
            if fid != "resolution" or transition.to.category.key != "done":
                errors[fid] = shapes.NOT_SETTABLE.format(fid)
                continue
            try:
                name, ident = shapes._by_name_or_id(value, "resolution")
            except FieldProblem as problem:
                errors[fid] = str(problem)
                continue
            resolution = (
                catalog.resolution_by_name.get(name.lower())
                if name
                else catalog.resolution_by_id.get(ident or "")
            )
            if resolution is None:
                errors[fid] = f"Resolution '{name or ident}' is not valid"
        comments: list[Any] = []
        update = body.get("update") or {}
        if isinstance(update, dict) and update:
            changes = shapes.Changes({}, {}, {}, [], {})
            for fid, operations in update.items():
                if fid == "comment":
                    shapes._read_comment_updates(api, operations, changes)
                else:
                    errors[fid] = shapes.NOT_SETTABLE.format(fid)
            errors.update(changes.errors)
            comments = changes.comments
        if errors:
            raise JiraError(400, [], errors)
        _move(issue, transition_id, resolution)
        stamp = now()
        for text in comments:
            _add_comment(issue, _user(request), text, stamp)
        issue.updated = stamp
        state.journal.counters.transitions += 1
        return Response(status_code=204)

    @app.get(rest + "/issue/{key}/properties")
    async def list_properties(request: Request) -> Response:
        api = _api(request, state)
        issue = _issue(request, state)
        keys = [{"self": f"{api.rest}/issue/{issue.id}/properties/{k}", "key": k} for k in issue.properties]
        return _json({"keys": keys})

    @app.get(rest + "/issue/{key}/properties/{prop}")
    async def get_property(request: Request) -> Response:
        _api(request, state)
        issue = _issue(request, state)
        prop = request.path_params["prop"]
        if prop not in issue.properties:
            raise JiraError(404, [f"The property with key '{prop}' does not exist."])
        return _json({"key": prop, "value": issue.properties[prop]})

    @app.put(rest + "/issue/{key}/properties/{prop}")
    async def put_property(request: Request) -> Response:
        _api(request, state)
        issue = _issue(request, state)
        prop = request.path_params["prop"]
        raw = await request.body()
        try:
            value = json.loads(raw)
        except ValueError:
            raise JiraError(400, ["The property value must be valid, non-empty JSON."]) from None
        if len(raw) > 32768:
            raise JiraError(400, ["The property value is too long: at most 32768 bytes."])
        existed = prop in issue.properties
        issue.properties[prop] = value
        return Response(status_code=200 if existed else 201)

    # --- search ------------------------------------------------------------------------------

    def _search(request: Request, jql: str, reconcile: set[str] | None = None) -> tuple[list[Issue], bool]:
        user = _user(request)
        try:
            compiled = compile_query(jql, jql_catalog, functions_for(user))
        except JqlError as error:
            raise JiraError(400, [error.message]) from None
        clock = time.monotonic()
        found = [
            issue
            for issue in state.store.by_key.values()
            if (issue.searchable_at <= clock or (reconcile is not None and issue.id in reconcile))
            and compiled.matches(issue)
        ]
        if compiled.order_by:
            compiled.sort(found)
        else:
            sort_default(found)
        return found, compiled.bounded

    async def _search_params(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            return await _body(request, required=False)
        params: dict[str, Any] = {k: request.query_params.get(k) for k in request.query_params}
        for key in ("fields", "properties", "expand", "reconcileIssues"):
            values = request.query_params.getlist(key)
            if values:
                params[key] = [v for item in values for v in item.split(",") if v]
        return params

    def _as_list(value: Any, name: str) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise JiraError(400, [f"The value of '{name}' must be a list of strings."])

    @app.api_route(rest + "/search", methods=["GET", "POST"])
    async def search(request: Request) -> Response:
        api = _api(request, state)
        if cloud:
            raise JiraError(410, [SEARCH_GONE])
        params = await _search_params(request)
        jql = params.get("jql") or ""
        if not isinstance(jql, str):
            raise JiraError(400, ["The value of 'jql' must be a string."])
        start = _int_param(params.get("startAt"), "startAt", 0)
        size = min(_int_param(params.get("maxResults"), "maxResults", 50), 1000)
        wanted = shapes.wanted_fields(catalog, _as_list(params.get("fields"), "fields"))
        properties = _as_list(params.get("properties"), "properties") or []
        found, _ = _search(request, jql)
        page = found[start : start + size]
        return _json(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [shapes.issue_json(api, catalog, i, wanted, properties) for i in page],
            }
        )

    @app.api_route(rest + "/search/jql", methods=["GET", "POST"])
    async def search_jql(request: Request) -> Response:
        api = _api(request, state)
        if not cloud:
            raise JiraError(404, [f"null for uri: {request.url}"])
        params = await _search_params(request)
        jql = params.get("jql") or ""
        if not isinstance(jql, str):
            raise JiraError(400, ["The value of 'jql' must be a string."])
        size = min(_int_param(params.get("maxResults"), "maxResults", 50), 5000)
        token = params.get("nextPageToken")
        start = _read_token(token, jql) if isinstance(token, str) and token else 0
        requested = _as_list(params.get("fields"), "fields")
        properties = _as_list(params.get("properties"), "properties") or []
        reconcile_raw = params.get("reconcileIssues") or []
        if not isinstance(reconcile_raw, list):
            raise JiraError(400, ["reconcileIssues must be a list of issue ids."])
        reconcile = {str(i) for i in reconcile_raw[:50]}
        found, bounded = _search(request, jql, reconcile)
        if not bounded:
            raise JiraError(400, [UNBOUNDED])
        page = found[start : start + size]
        if requested is None or requested == ["id"]:
            issues_out: list[dict[str, Any]] = [{"id": i.id} for i in page]
        else:
            wanted = shapes.wanted_fields(catalog, requested)
            issues_out = [shapes.issue_json(api, catalog, i, wanted, properties) for i in page]
        result: dict[str, Any] = {"issues": issues_out}
        is_last = start + size >= len(found)
        if not is_last:
            result["nextPageToken"] = _page_token(start + size, jql)
        result["isLast"] = is_last
        return _json(result)

    @app.post(rest + "/search/approximate-count")
    async def approximate_count(request: Request) -> Response:
        _api(request, state)
        if not cloud:
            raise JiraError(404, [f"null for uri: {request.url}"])
        params = await _body(request)
        jql = params.get("jql") or ""
        if not isinstance(jql, str):
            raise JiraError(400, ["The value of 'jql' must be a string."])
        found, bounded = _search(request, jql)
        if not bounded:
            raise JiraError(400, [UNBOUNDED])
        return _json({"count": len(found)})

    # --- browse page ---------------------------------------------------------------------------

    @app.get("/browse/{key}")
    async def browse(request: Request) -> Response:
        issue = state.store.get(request.path_params["key"])
        if issue is None:
            return HTMLResponse("<!doctype html><title>Issue not found</title><h1>Issue not found</h1>", 404)
        esc = html.escape
        comments = "".join(
            f"<li><b>{esc(c.author.display_name)}</b> {esc(jira_time(c.created))}<pre>"
            f"{esc(shapes.rich_text(c.body))}</pre></li>"
            for c in issue.comments
        )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>[{esc(issue.key)}] {esc(issue.summary)}"
            f"</title></head><body><h1>{esc(issue.key)}: {esc(issue.summary)}</h1>"
            f"<p>Status: <b>{esc(issue.status.name)}</b> &middot; Priority: {esc(issue.priority.name)}"
            f" &middot; Type: {esc(issue.issuetype.name)}</p>"
            f"<p>Labels: {esc(', '.join(issue.labels)) or 'None'}</p>"
            f"<pre>{esc(shapes.rich_text(issue.values.get('description')))}</pre>"
            f"<h2>Comments</h2><ul>{comments}</ul></body></html>"
        )
        return HTMLResponse(page)

    _add_admin_routes(app, state)

    # Starlette's own middleware stack sits inside; ours wraps it so it sees uvicorn's raw send.
    inner = app.build_middleware_stack()
    app.middleware_stack = SimMiddleware(inner, state)
    return app


def _add_admin_routes(app: FastAPI, state: SimState) -> None:
    catalog = state.catalog

    @app.get("/_sim/health")
    async def health() -> Response:
        return _json({"ok": True, "flavor": state.settings.flavor})

    @app.get("/_sim/journal")
    async def journal(request: Request) -> Response:
        since = _int_param(request.query_params.get("since"), "since", 0)
        limit = _int_param(request.query_params.get("limit"), "limit", 0)
        return _json(state.journal.since(since, limit or None))

    @app.get("/_sim/counters")
    async def counters() -> Response:
        body = state.journal.counters.to_json()
        body["issues"] = len(state.store.by_key)
        return _json(body)

    @app.post("/_sim/reset")
    async def reset() -> Response:
        state.reset()
        return _json({"ok": True})

    @app.get("/_sim/faults")
    async def get_faults() -> Response:
        return _json(
            {"latency_ms": state.faults.latency_ms, "rules": [r.to_json() for r in state.faults.rules]}
        )

    @app.post("/_sim/faults")
    async def set_faults(request: Request) -> Response:
        body = await _admin_body(request)
        try:
            rules_in = body.get("rules", [])
            if "kind" in body:
                rules_in = [
                    *rules_in,
                    {k: v for k, v in body.items() if k not in {"rules", "clear", "latency_ms"}},
                ]
            rules = [fault_from_json(r) for r in rules_in]
        except (ValueError, TypeError, AttributeError) as exc:
            return _json({"error": str(exc)}, 400)
        if body.get("clear"):
            state.faults.clear()
        state.faults.add(rules)
        if "latency_ms" in body:
            state.faults.latency_ms = float(body["latency_ms"])
        return await get_faults()

    @app.delete("/_sim/faults")
    async def clear_faults() -> Response:
        state.faults.clear()
        state.faults.latency_ms = 0.0
        return await get_faults()

    @app.get("/_sim/config")
    async def get_config() -> Response:
        return _json(asdict(state.limits) | {"flavor": state.settings.flavor})

    @app.post("/_sim/config")
    async def set_config(request: Request) -> Response:
        body = await _admin_body(request)
        known = set(asdict(state.limits))
        unknown = set(body) - known
        if unknown:
            return _json({"error": f"unknown settings: {', '.join(sorted(unknown))}"}, 400)
        try:
            limits = replace(state.limits, **{k: type(getattr(state.limits, k))(v) for k, v in body.items()})
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        state.limits = limits
        state.rate.configure(limits)
        state.faults.latency_ms = limits.latency_ms
        return await get_config()

    @app.get("/_sim/issues")
    async def all_issues(request: Request) -> Response:
        api = Api(state.settings.flavor, request.query_params.get("api", "2"), _base(request))
        wanted = shapes.wanted_fields(catalog, None)
        return _json([_admin_issue(api, i, wanted) for i in state.store.by_key.values()])

    @app.get("/_sim/issues/{key}")
    async def one_issue(request: Request) -> Response:
        issue = state.store.get(request.path_params["key"])
        if issue is None:
            return _json({"error": "no such issue"}, 404)
        api = Api(state.settings.flavor, request.query_params.get("api", "2"), _base(request))
        return _json(_admin_issue(api, issue, shapes.wanted_fields(catalog, None)))

    def _admin_issue(api: Api, issue: Issue, wanted: list[str]) -> dict[str, Any]:
        body = shapes.issue_json(api, catalog, issue, wanted)
        body["properties"] = dict(issue.properties)
        return body


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


async def _admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise JiraError(400, ["expected a JSON object"])
    return data
