"""HTTP proxies between the driver and Jira, with a real forward proxy on loopback.

[jira] proxy = URL sends every request through that proxy (absolute-URI requests for http://,
CONNECT tunnels for https://); `bypass` ignores the environment's proxy variables; empty follows
them (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY). A proxy that is down is reported as the
proxy being down (check: exit 3), and commands wait Pending for it (an outage: no attempt
counted, nothing failed), never lost, and go out once a working proxy is configured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.driver import DriverProcess
from tests.fixtures.proxy import ForwardProxy, network_env, run_check
from tests.fixtures.sim import SimProcess
from tests.fixtures.waiting import wait_for
from tests.integration.test_tls import issue, outage_strikes, tls_flags

FAST_FAIL = {"max_retries": "1", "retry_base_seconds": "0.05"}


def log_rows(driver: DriverProcess) -> list[dict[str, Any]]:
    """GET /api/log: what an operator sees, oldest first."""
    with driver.client() as api:
        rows: list[dict[str, Any]] = api.get("/api/log", params={"limit": 100}).json()["rows"]
    return list(reversed(rows))


def create_one(driver: DriverProcess, guid: str) -> list[dict[str, Any]]:
    """Send one CREATE, wait until it settles, the log rows."""
    assert driver.send(f"{guid}|CREATE|summary;via {guid}|").status_code == 202
    driver.wait_settled()
    return log_rows(driver)


def test_configured_proxy_carries_check_and_creates(
    tmp_path: Path,
    sim: SimProcess,
    forward_proxy: ForwardProxy,
    driver_factory: Callable[..., DriverProcess],
) -> None:
    result = run_check(tmp_path, {"url": sim.url, "proxy": forward_proxy.url})
    assert result.returncode == 0, result.stderr
    assert f"GET {sim.url}/rest/api/latest/myself" in forward_proxy.forwarded

    driver = driver_factory(sim.url, ini={"jira": {"proxy": forward_proxy.url}}, env=network_env())
    rows = create_one(driver, "PX-1")
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    assert f"POST {sim.url}/rest/api/latest/issue" in forward_proxy.forwarded
    assert [i["key"] for i in sim.issues()] == [rows[0]["ticket_key"]]


def test_configured_proxy_tunnels_https(
    tmp_path: Path,
    sim_factory: Callable[..., SimProcess],
    forward_proxy: ForwardProxy,
    driver_factory: Callable[..., DriverProcess],
) -> None:
    tls = issue(tmp_path / "tls", "127.0.0.1", "localhost")
    sim = sim_factory(*tls_flags(tls), verify=tls.ca)
    jira = {"proxy": forward_proxy.url, "ca_bundle": str(tls.ca)}
    driver = driver_factory(sim.url, ini={"jira": jira}, env=network_env())
    rows = create_one(driver, "PX-2")
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    target = sim.url.removeprefix("https://")
    assert forward_proxy.tunnels
    assert set(forward_proxy.tunnels) == {target}
    assert forward_proxy.forwarded == []  # nothing in clear: all of it inside the tunnel
    assert len(sim.issues()) == 1


def test_bypass_ignores_a_dead_environment_proxy(
    tmp_path: Path,
    sim: SimProcess,
    dead_proxy_url: str,
    driver_factory: Callable[..., DriverProcess],
) -> None:
    env = network_env(http=dead_proxy_url, https=dead_proxy_url, all=dead_proxy_url)
    # the control: with an empty proxy setting these variables are followed, and lead nowhere
    assert run_check(tmp_path, {"url": sim.url}, env).returncode == 3
    result = run_check(tmp_path, {"url": sim.url, "proxy": "bypass"}, env)
    assert result.returncode == 0, result.stderr

    driver = driver_factory(sim.url, ini={"jira": {"proxy": "bypass"}}, env=env)
    rows = create_one(driver, "PX-3")
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    assert len(sim.issues()) == 1


def test_empty_proxy_follows_the_environment_even_for_loopback(
    tmp_path: Path,
    sim: SimProcess,
    forward_proxy: ForwardProxy,
    driver_factory: Callable[..., DriverProcess],
) -> None:
    # httpx (0.28) exempts no host by itself, loopback included: only NO_PROXY does (its
    # get_environment_proxies maps each NO_PROXY entry to a proxy-less mount). So a Jira on
    # 127.0.0.1 goes through HTTP_PROXY unless NO_PROXY names it.
    result = run_check(tmp_path, {"url": sim.url}, network_env(http=forward_proxy.url))
    assert result.returncode == 0, result.stderr
    assert f"GET {sim.url}/rest/api/latest/myself" in forward_proxy.forwarded

    driver = driver_factory(sim.url, env=network_env(http=forward_proxy.url))
    rows = create_one(driver, "PX-4")
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    assert f"POST {sim.url}/rest/api/latest/issue" in forward_proxy.forwarded

    # NO_PROXY names the host: straight to Jira (which saw the check; the proxy saw nothing more)
    before = forward_proxy.count
    asked = len(sim.journal())
    excluded = network_env(http=forward_proxy.url, no="127.0.0.1")
    assert run_check(tmp_path, {"url": sim.url}, excluded).returncode == 0
    assert "/rest/api/latest/myself" in [e["path"] for e in sim.journal()[asked:]]
    assert forward_proxy.count == before


@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_dead_proxy_is_named_and_the_command_waits_for_it(
    tmp_path: Path,
    sim: SimProcess,
    dead_proxy_url: str,
    driver_factory: Callable[..., DriverProcess],
    source: str,
) -> None:
    jira = {"proxy": dead_proxy_url} if source == "config" else {}
    env = network_env() if source == "config" else network_env(http=dead_proxy_url)
    result = run_check(tmp_path, {"url": sim.url, **jira}, env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.startswith(f"failed: connection refused by the proxy {dead_proxy_url}"), (
        result.stderr
    )
    assert "Traceback" not in result.stderr

    driver = driver_factory(sim.url, ini={"jira": {**jira, **FAST_FAIL}}, env=env)
    assert driver.send("PX-5|CREATE|summary;via PX-5|").status_code == 202
    waiting = f"waiting for Jira: connection refused by the proxy {dead_proxy_url}"
    driver.wait_rows(lambda rows: rows[0]["error"].startswith(waiting))
    # three tries, more than max_retries = 1 allows a failing request: an outage counts no attempts
    wait_for(lambda: outage_strikes(driver) >= 3, "three tries through the dead proxy")
    rows = driver.rows()
    assert [(row["status"], row["attempts"]) for row in rows] == [("Pending", 0)]
    assert rows[0]["error"].startswith(waiting), rows[0]["error"]
    status = driver.status()
    assert status["jira_state"] == "unreachable"
    assert status["jira_message"].startswith(f"connection refused by the proxy {dead_proxy_url}")
    assert sim.issues() == []


def test_a_proxy_that_refuses_the_tunnel_is_named(
    tmp_path: Path, forward_proxy: ForwardProxy, dead_proxy_url: str
) -> None:
    # the proxy is up, but cannot reach Jira: it answers CONNECT with 502
    nowhere = dead_proxy_url.replace("http://", "https://")
    result = run_check(tmp_path, {"url": nowhere, "proxy": forward_proxy.url})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.startswith(f"failed: the proxy {forward_proxy.url} refused the tunnel to"), (
        result.stderr
    )
    assert "502 Bad Gateway" in result.stderr


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("http://ops:pa/ss-s3cret@proxy.example:3128", "pa/ss-s3cret"),
        ("http://ops:p#ss-s3cret@proxy.example:3128", "p#ss-s3cret"),
        ("http://ops:p?ss-s3cret@proxy.example:3128", "p?ss-s3cret"),
        ("http://proxy.example:notaport", "notaport"),
        ("ftp://proxy.example:21", "ftp://"),
    ],
    ids=["slash", "hash", "question-mark", "port", "scheme"],
)
def test_an_environment_proxy_httpx_cannot_read_is_one_line_naming_the_variable(
    tmp_path: Path, sim: SimProcess, value: str, secret: str
) -> None:
    """httpx reads *_PROXY when the client is made and raised a traceback whose last line showed
    part of the value (a password with '/' in it shows as 'Invalid port: ...'). Now check and run
    stop with exit 2 and one line naming the variable, never its value; `bypass` still works."""
    env = network_env(https=value)
    checked = run_check(tmp_path, {"url": sim.url}, env)
    assert checked.returncode == 2, checked.stderr
    said = checked.stdout + checked.stderr
    assert "HTTPS_PROXY" in said
    assert "percent-encode" in said
    assert secret not in said
    assert "Traceback" not in said
    assert run_check(tmp_path, {"url": sim.url, "proxy": "bypass"}, env).returncode == 0

    ini = tmp_path / "run.ini"
    ini.write_text(
        f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\n"
        f"[driver]\ndatabase = {tmp_path / 'run.db'}\nlisten = 127.0.0.1:0\n",
        encoding="utf-8",
    )
    os.chmod(ini, 0o600)
    full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")} | env
    ran = subprocess.run(
        [sys.executable, "-m", "driver", "run", "--config", str(ini)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )
    said = ran.stdout + ran.stderr
    assert ran.returncode == 2, said
    assert "HTTPS_PROXY" in said
    assert secret not in said
    assert "Traceback" not in said
