"""DriverClient's mapping of answers to models and errors (MockTransport: no server needed here)."""

from __future__ import annotations

import json

import httpx
import pytest

from driver.config_file import load_config
from driver.contract.client import DriverClient, DriverRejected, DriverUnreachable, driver_url
from driver.contract.schemas import CommandProblem
from driver.errors import ConfigError


def _client(handler: httpx.MockTransport) -> DriverClient:
    return DriverClient("http://driver.test", "tok", transport=handler)


async def test_sends_commands_as_json_with_the_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"accepted": [{"id": 7, "guid": "G", "action": "CREATE"}]})

    async with _client(httpx.MockTransport(handler)) as client:
        accepted = await client.send_commands(["G|CREATE|summary;x"])
    assert accepted.accepted[0].id == 7
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {"commands": ["G|CREATE|summary;x"]}


async def test_a_rejected_command_carries_its_position() -> None:
    problem = {"line": 2, "position": 5, "reason": "unknown action 'DELETE'", "command": "G|DELETE|"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "line 2: unknown action", "details": problem})

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(DriverRejected) as caught:
            await client.send_commands(["ok", "G|DELETE|"])
    assert caught.value.status == 400
    assert caught.value.command_problem == CommandProblem(**problem)


async def test_a_non_driver_error_body_still_becomes_a_readable_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad gateway from a proxy")

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(DriverRejected, match="Bad gateway from a proxy"):
            await client.status()


async def test_no_answer_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(DriverUnreachable, match="nothing answers"):
            await client.health()


def test_the_url_comes_from_listen_or_the_environment() -> None:
    config = load_config(None, {"JIRA_DRIVER_DRIVER_LISTEN": "0.0.0.0:9000"})
    assert driver_url(config, {}) == "http://127.0.0.1:9000"
    assert driver_url(config, {"JIRA_DRIVER_URL": "http://ops-host:8750/"}) == "http://ops-host:8750"
    # a command's --url comes first, checked alike
    environ = {"JIRA_DRIVER_URL": "http://ops-host:8750"}
    assert driver_url(config, environ, override="http://other:1/") == "http://other:1"
    with pytest.raises(ConfigError, match=r"\[option\] --url = 'other:1': the driver's address"):
        driver_url(config, environ, override="other:1")
