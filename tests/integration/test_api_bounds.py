"""Settings and parameters are valid or refused whole (issue 9.5): the app in-process on a real database.

Every value past its bounds answers 400 with an ErrorBody, leaves the settings in force and stored
as they were, and the next request on the same connection is answered normally. The published
OpenAPI schema says the same: 400 (never 422) and the bounds themselves.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from driver.api import create_app
from driver.api.bodies import query_names
from driver.app.driver import Driver, build
from driver.app.settings import RuntimeSettings
from driver.config import Config, DriverSection, UpdateSection
from driver.contract.schemas import DriverStatus, ErrorBody, Settings
from driver.errors import ConfigError
from driver.store import S_AUTH, S_LOG, S_UPDATE, Store

HUGE = 10**30


@pytest_asyncio.fixture
async def app_ctx(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Driver]]:
    config = Config(driver=DriverSection(database=str(tmp_path / "driver.db"), api_token="tok"))
    ctx = build(config)
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://driver", headers={"Authorization": "Bearer tok"}
    ) as client:
        yield client, ctx
    await ctx.jira.aclose()
    ctx.store.close()


def refused(response: httpx.Response) -> ErrorBody:
    assert response.status_code == 400, (response.status_code, response.text)
    return ErrorBody.model_validate(response.json())


async def settings_of(client: httpx.AsyncClient) -> Settings:
    return Settings.model_validate((await client.get("/api/settings")).json())


@pytest.mark.parametrize(
    "body",
    [
        {"max_updates": 3, "interval_seconds": 1e11, "scope": "global"},
        {"max_updates": HUGE, "interval_seconds": 30, "scope": "global"},
        {"max_updates": 3, "interval_seconds": 0.5, "scope": "global"},
        {"max_updates": -1, "interval_seconds": 30, "scope": "global"},
        '{"max_updates": 3, "interval_seconds": 1e400, "scope": "global"}',
        '{"max_updates": 3, "interval_seconds": NaN, "scope": "global"}',
        {"max_updates": False, "interval_seconds": 30, "scope": "global"},
        {"max_updates": "5", "interval_seconds": 30, "scope": "global"},
        {"max_updates": 5, "interval_seconds": True, "scope": "global"},
        {"max_updates": 5, "interval_seconds": 30, "scope": "global", "extra": 1},
    ],
)
async def test_update_settings_out_of_bounds_change_nothing(
    app_ctx: tuple[httpx.AsyncClient, Driver], body: dict[str, Any] | str
) -> None:
    client, ctx = app_ctx
    before = await settings_of(client)
    if isinstance(body, str):
        response = await client.put(
            "/api/settings/update", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = await client.put("/api/settings/update", json=body)
    error = refused(response)
    assert error.error.startswith("invalid request: body.")
    assert await settings_of(client) == before
    assert ctx.store.setting(S_UPDATE) is None
    assert ctx.engine.limiter.interval.total_seconds() == before.update.interval_seconds
    assert ctx.engine.limiter.max_updates == before.update.max_updates


@pytest.mark.parametrize(
    "body",
    [
        {"max_entries": HUGE, "remove_older_than_days": 7},
        {"max_entries": 10, "remove_older_than_days": 10**12},
        {"max_entries": 10, "remove_older_than_days": -3},
        {"max_entries": 0, "remove_older_than_days": False},
        {"max_entries": "10", "remove_older_than_days": 1},
    ],
)
async def test_log_settings_out_of_bounds_change_nothing(
    app_ctx: tuple[httpx.AsyncClient, Driver], body: dict[str, Any]
) -> None:
    client, ctx = app_ctx
    before = await settings_of(client)
    refused(await client.put("/api/settings/log", json=body))
    assert await settings_of(client) == before
    assert ctx.store.setting(S_LOG) is None


async def test_settings_at_their_bounds_are_taken(app_ctx: tuple[httpx.AsyncClient, Driver]) -> None:
    client, ctx = app_ctx
    body = {"max_updates": 10_000, "interval_seconds": 7 * 86_400, "scope": "global"}
    response = await client.put("/api/settings/update", json=body)
    assert response.status_code == 200, response.text
    assert ctx.store.setting(S_UPDATE) == {**body, "interval_seconds": 604800.0}
    assert ctx.engine.limiter.max_updates == 10_000
    assert ctx.engine.limiter.scope == "global"
    response = await client.put(
        "/api/settings/log", json={"max_entries": 0, "remove_older_than_days": 36_500}
    )
    assert response.status_code == 200, response.text
    assert (await settings_of(client)).log.remove_older_than_days == 36_500


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/log", {"before_id": str(HUGE)}),
        ("/api/log", {"before_id": "0"}),
        ("/api/log", {"limit": "1001"}),
        ("/api/log", {"since": "99999-01-01T00:00:00Z"}),
        ("/api/log", {"since": "0001-01-01T00:00:00+01:00"}),
        ("/api/log", {"until": "9999-12-31T23:00:00-05:00"}),
        ("/api/log", {"since": "1969-12-31T23:59:59Z"}),
        ("/api/log", {"since": str(HUGE)}),
        ("/api/log", {"until": "0.5"}),
        ("/api/log", {"since": "1700000000"}),
        (f"/api/log/{HUGE}", {}),
        (f"/api/log/{2**63}", {}),
        ("/api/log/-5", {}),
    ],
)
async def test_log_parameters_out_of_bounds_answer_400_and_the_connection_goes_on(
    app_ctx: tuple[httpx.AsyncClient, Driver], path: str, params: dict[str, str]
) -> None:
    client, _ = app_ctx
    refused(await client.get(path, params=params))
    assert (await client.get("/api/log")).status_code == 200


async def test_log_moments_naive_as_utc_and_largest_id(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, _ = app_ctx
    assert (await client.get("/api/log", params={"since": "2026-01-01T00:00:00"})).status_code == 200
    assert (await client.get("/api/log", params={"until": "9999-12-31T00:00:00+00:00"})).status_code == 200
    assert (await client.get("/api/log", params={"before_id": str(2**63 - 1)})).status_code == 200
    assert (await client.get(f"/api/log/{2**63 - 1}")).status_code == 404


@pytest.mark.parametrize("wait", ["1e300", "121", "-1", "nan", "inf"])
async def test_execute_wait_out_of_bounds_queues_nothing(
    app_ctx: tuple[httpx.AsyncClient, Driver], wait: str
) -> None:
    client, ctx = app_ctx
    refused(await client.post("/api/execute", params={"wait_seconds": wait}))
    assert ctx.store.counts() == (0, 0)
    assert ctx.engine.queue_depth() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "bearer", "secret": "token\r\nX-Injected: 1"},
        {"mode": "basic", "username": "admin\nroot", "secret": "pw"},
        {"mode": "sometimes", "secret": "pw"},
    ],
)
async def test_credentials_that_cannot_be_a_header_change_nothing(
    app_ctx: tuple[httpx.AsyncClient, Driver], body: dict[str, Any]
) -> None:
    client, ctx = app_ctx
    before = ctx.jira.credentials
    response = await client.put("/api/settings/auth", json=body)
    refused(response)
    assert "pw" not in response.text
    assert "X-Injected" not in response.text
    assert ctx.jira.credentials is before
    assert ctx.store.setting(S_AUTH) is None


@pytest.mark.parametrize(
    "location", ["", "   ", "https://elsewhere/issue", "rest/api/3/issue?x=1", "a" * 501]
)
async def test_ticket_location_must_be_a_path(
    app_ctx: tuple[httpx.AsyncClient, Driver], location: str
) -> None:
    client, ctx = app_ctx
    refused(await client.put("/api/settings/jira", json={"ticket_location": location}))
    assert ctx.jira.ticket_location == "rest/api/latest/issue"
    assert ctx.engine.setup.settings.ticket_location == "rest/api/latest/issue"


async def test_ticket_location_change_reaches_client_and_requests(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    response = await client.put("/api/settings/jira", json={"ticket_location": " /rest/api/3/issue/ "})
    assert response.status_code == 200, response.text
    assert ctx.jira.ticket_location == "rest/api/3/issue"
    assert ctx.engine.setup.settings.text_format == "adf"
    assert (await settings_of(client)).jira.ticket_location == "rest/api/3/issue"


async def test_two_rows_for_one_field_are_refused_whole(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    table = ctx.engine.setup.table
    state = (await client.get("/api/ticket")).json()
    rows = state["rows"] + [dict(state["rows"][0], value="again")]
    error = refused(await client.put("/api/ticket/rows", json={"rows": rows}))
    assert error.error.startswith("invalid row:")
    assert ctx.engine.setup.table is table


async def test_the_schema_says_400_and_states_the_bounds(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, _ = app_ctx
    schema = (await client.get("/openapi.json")).json()
    assert "422" not in json.dumps(schema)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path != "/api/health":
                assert {"400", "401", "503"} <= set(operation["responses"]), (method, path)
    update = schema["components"]["schemas"]["UpdateSettings"]["properties"]
    assert update["interval_seconds"]["maximum"] == 604800
    assert update["max_updates"]["maximum"] == 10_000
    params = {p["name"]: p for p in schema["paths"]["/api/log"]["get"]["parameters"]}
    assert params["before_id"]["schema"]["anyOf"][0]["maximum"] == 2**63 - 1
    assert params["limit"]["schema"]["maximum"] == 1000


async def test_a_change_the_database_refuses_is_not_applied(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    before = await settings_of(client)
    table = ctx.engine.setup.table
    body = {"max_updates": 2, "interval_seconds": 10, "scope": "global"}
    lock = sqlite3.connect(str(ctx.store.path), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        for response in (
            await client.put("/api/settings/update", json=body),
            await client.put("/api/settings/jira", json={"ticket_location": "rest/api/3/issue"}),
            await client.put("/api/settings/auth", json={"mode": "bearer", "secret": "tok-2"}),
            await client.put("/api/ticket/query", json={"query_text": '{"fields": {"summary": "s"}}'}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "1"
            assert ErrorBody.model_validate(response.json()).error.startswith("database unavailable: ")
        assert ctx.engine.limiter.max_updates == before.update.max_updates
        assert ctx.jira.ticket_location == "rest/api/latest/issue"
        assert ctx.jira.credentials.mode == before.jira.auth_mode
        assert ctx.engine.setup.table is table
        # the engine is idle (not even started here): the status says what the API met
        status = DriverStatus.model_validate((await client.get("/api/status")).json())
        assert status.database == "unavailable"
        assert status.database_message == "database unavailable: database is locked"
        assert not status.engine_running
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    assert await settings_of(client) == before
    response = await client.put("/api/settings/update", json=body)
    assert response.status_code == 200, response.text
    assert (ctx.engine.limiter.max_updates, ctx.engine.limiter.scope) == (2, "global")
    assert ctx.store.setting(S_UPDATE) == {"max_updates": 2, "interval_seconds": 10.0, "scope": "global"}
    status = DriverStatus.model_validate((await client.get("/api/status")).json())
    assert (status.database, status.database_message) == ("ok", "")


def test_a_config_value_out_of_bounds_stops_start_up_with_one_line(tmp_path: Path) -> None:
    config = Config(
        driver=DriverSection(database=str(tmp_path / "d.db")), update=UpdateSection(interval_seconds=1e11)
    )
    store = Store(tmp_path / "d.db")
    try:
        with pytest.raises(ConfigError, match=r"^\[update\] interval_seconds = 100000000000\.0: "):
            RuntimeSettings.load(config, store)
    finally:
        store.close()


def test_bad_stored_settings_fall_back_without_showing_the_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "d.db"
    Store(path).close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    for key, value in [
        (S_LOG, {"max_entries": HUGE, "remove_older_than_days": 1}),
        (S_AUTH, {"mode": "telepathy", "secret": "hunter2-never-logged"}),
    ]:
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))
    conn.close()
    config = Config(driver=DriverSection(database=str(path)))
    store = Store(path)
    try:
        settings = RuntimeSettings.load(config, store)
    finally:
        store.close()
    assert settings.log.max_entries == config.log.max_entries
    assert settings.credentials.mode == "none"
    warnings = [r.getMessage() for r in caplog.records if r.name == "driver.settings"]
    assert len(warnings) == 2, warnings
    assert not any("hunter2" in w or str(HUGE) in w for w in warnings)


async def test_a_bad_json_body_names_where_it_is_wrong(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    wrong = refused(await client.post("/api/advanced", json={"commands": ["A|CREATE|", 7]}))
    missing = refused(await client.post("/api/advanced", json={"command": "A|CREATE|"}))
    broken = refused(
        await client.post(
            "/api/advanced", content=b'{"commands": [', headers={"Content-Type": "application/json"}
        )
    )
    assert wrong.error.startswith("invalid request body at commands.1: Input should be a valid string")
    assert wrong.details == {"errors": [{"at": "commands.1", "problem": "Input should be a valid string"}]}
    assert "at commands: Field required" in missing.error
    assert broken.error.startswith("invalid request body at body: ")
    assert ctx.store.counts() == (0, 0)


DUPLICATED = [
    ("POST", "/api/advanced", '{"commands": ["G5|CREATE|summary;x|"], "commands": ["G6|CREATE|summary;y|"]}'),
    (
        "PUT",
        "/api/settings/update",
        '{"max_updates": 3, "interval_seconds": 30, "max_updates": 0, "scope": "global"}',
    ),
    ("POST", "/api/alertmanager", '{"version": "4", "status": "firing", "alerts": [], "alerts": []}'),
]


@pytest.mark.parametrize(("method", "path", "body"), DUPLICATED, ids=[p for _, p, _ in DUPLICATED])
async def test_a_json_member_named_twice_is_refused_by_name_and_changes_nothing(
    app_ctx: tuple[httpx.AsyncClient, Driver], method: str, path: str, body: str
) -> None:
    # Python's json and pydantic keep the last value: G5 was dropped while the answer said 202
    # (found by helper-26)
    client, ctx = app_ctx
    before = await settings_of(client)
    answer = await client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    error = refused(answer)
    member = "max_updates" if "settings" in path else "alerts" if "alertmanager" in path else "commands"
    assert f"the member '{member}' appears twice in one object" in error.error
    assert ctx.store.counts() == (0, 0)
    assert await settings_of(client) == before


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        ("application/x-www-form-urlencoded", "curl -d sends that: add -H 'Content-Type: text/plain'"),
        (
            "multipart/form-data; boundary=x",
            "Content-Type multipart/form-data: send text/plain or application/json",
        ),
        ("text/plain; charset=utf-16", "charset utf-16: send text/plain in UTF-8"),
        ("", "Content-Type (empty): send text/plain or application/json"),
    ],
)
async def test_advanced_commands_in_another_media_type_are_refused_unread(
    app_ctx: tuple[httpx.AsyncClient, Driver], content_type: str, said: str
) -> None:
    # read as text, `commands=G|CREATE|...` from `curl -d` queued a command for the GUID `commands=G`
    client, ctx = app_ctx
    answer = await client.post(
        "/api/advanced", content="commands=G7|CREATE|summary;x|", headers={"Content-Type": content_type}
    )
    assert answer.status_code == 415, answer.text
    assert said in ErrorBody.model_validate(answer.json()).error
    assert ctx.store.counts() == (0, 0)


async def test_a_body_without_content_type_is_read_as_text_and_utf8_charsets_are_taken(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    bare = client.build_request("POST", "/api/advanced", content=b"G8|CREATE|summary;x|")
    assert "content-type" not in bare.headers
    assert (await client.send(bare)).status_code == 202
    for content_type in ("text/plain; charset=UTF-8", 'TEXT/PLAIN; charset="us-ascii"'):
        answer = await client.post(
            "/api/advanced", content=b"G9|UPDATE|comment;x|", headers={"Content-Type": content_type}
        )
        assert answer.status_code == 202, answer.text
    assert ctx.store.counts()[0] == 3


async def test_an_alert_notification_that_is_not_json_by_its_content_type_is_refused(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    client, ctx = app_ctx
    answer = await client.post(
        "/api/alertmanager", content=b'{"version": "4", "alerts": []}', headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 415, answer.text
    assert "send application/json" in answer.json()["error"]


def every_route(routes: list[Any]) -> list[Any]:
    """The app's routes, those of included routers too (FastAPI keeps an included router whole,
    as `original_router`)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found.extend(every_route(inner.routes) if inner is not None else [route])
    return found


def test_every_route_reads_json_strictly(tmp_path: Path) -> None:
    """A router made without route_class=StrictJsonRoute would take a member named twice again."""
    from fastapi.routing import APIRoute

    from driver.api.bodies import StrictJsonRoute

    ctx = build(Config(driver=DriverSection(database=str(tmp_path / "driver.db"), api_token="tok")))
    try:
        routes = [r for r in every_route(create_app(ctx).routes) if isinstance(r, APIRoute)]
        assert len(routes) > 30
        assert [r.path for r in routes if not isinstance(r, StrictJsonRoute)] == []
    finally:
        ctx.store.close()


async def test_a_query_parameter_that_takes_one_value_given_twice_is_refused(
    app_ctx: tuple[httpx.AsyncClient, Driver],
) -> None:
    # `?status=Ok&status=Failed` answered the Failed rows only, and `?limit=1&limit=1000` 1,000
    # rows: FastAPI took the last value (found by helper-26)
    client, ctx = app_ctx
    for query in ("status=Ok&status=Failed", "limit=1&limit=1000"):
        error = refused(await client.get(f"/api/log?{query}"))
        assert f"query parameter '{query.split('=')[0]}' given more than once" in error.error
    assert (await client.get("/api/log?status=Failed&limit=5")).status_code == 200
    # a list parameter still takes several (Get Eligible Ticket's labels)
    eligible = next(
        r for r in every_route(create_app(ctx).routes) if getattr(r, "path", "") == "/api/eligible"
    )
    known, single = query_names(eligible)
    assert {"labels", "project"} <= known
    assert "labels" not in single
    assert "project" in single
    # a parameter the route does not take is named, not ignored (`?search=` for `?q=`, helper-30)
    unknown = refused(await client.get("/api/log?search=f8"))
    assert unknown.error.startswith("unknown query parameter 'search': this route takes ")
