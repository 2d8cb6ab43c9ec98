"""OAuth 2.0 end to end against the simulator's token endpoints and gateway (real HTTP, real SQLite,
the driver and `jira-driver auth` as real processes): client credentials on Cloud (through the
gateway) and Data Center, renewal mid-stream, a refused secret, a token endpoint that is down, a
gateway 403 for an old token, a person's consent (login, rotation, a kill -9 at each step between
the refresh's answer and its commit, reuse of an old refresh token), and the state check."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver.errors import JiraRejected
from driver.jira.auth import Credentials
from driver.jira.client import JiraClient
from driver.jira.oauth import OAuthSetup
from driver.jira.route import RouteSetup
from driver.store.oauth_grant import grant_path
from tests.fixtures.cli import run_cli
from tests.fixtures.driver import DriverProcess
from tests.fixtures.paths import REPO
from tests.fixtures.waiting import wait_for

SERVICE = {"client_id": "sim-service", "client_secret": "sim-service-secret"}
APP = {"client_id": "sim-app", "client_secret": "sim-app-secret"}


@pytest.fixture
def cloud(sim_factory: Callable[..., Any]) -> Any:
    return sim_factory("--flavor", "cloud")


def oauth_ini(sim_url: str, mode: str, client: dict[str, str], **extra: str) -> dict[str, dict[str, str]]:
    jira = {"auth": mode, "auth_url": sim_url, "gateway_url": sim_url, **client, **extra}
    return {"jira": jira}


def created_issues(sim: Any) -> int:
    return int(sim.counters()["created"])


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_client_credentials_renew_mid_stream(
    driver_factory: Callable[..., DriverProcess], sim_factory: Callable[..., Any], flavor: str
) -> None:
    # Cloud: through the gateway (the site refuses these tokens); Data Center: at the Jira URL
    cloud = sim_factory("--flavor", flavor)
    cloud.admin("config", {"token_ttl": 2})
    secret = SERVICE["client_secret"]
    driver = driver_factory(
        cloud.url,
        ini=oauth_ini(cloud.url, "oauth_client_credentials", {"client_id": "sim-service"}),
        # pasted from a file: a line break after it is trimmed, with a warning
        env={"JIRA_DRIVER_JIRA_CLIENT_SECRET": secret + "\n"},
    )
    sent = iter(range(1000))

    def renewed_twice() -> bool:
        n = next(sent)
        assert driver.send(f"cc/{n}|CREATE|summary;Alarm {n}|").status_code == 202
        driver.wait_settled()
        return int(cloud.admin("oauth")["by_grant"].get("client_credentials", 0)) >= 3

    wait_for(renewed_twice, "two renewals of the 2-second token", 30, every=0.3)
    rows = driver.rows()
    assert {r["status"] for r in rows} == {"Ok"}
    assert created_issues(cloud) == len(rows)
    # browse links are the site's, also when the answers came through the gateway
    assert all(r["ticket_url"].startswith(cloud.url + "/browse/") for r in rows)
    logged = driver.stderr_path.read_text()
    assert "client_secret has spaces or a line break around it" in logged
    assert secret not in logged + json.dumps(rows)
    assert "sim-at-" not in logged + json.dumps(rows)


def test_client_credentials_on_data_center_ask_for_write(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(sim.url, ini=oauth_ini(sim.url, "oauth_client_credentials", SERVICE))
    assert driver.send("dc/1|CREATE|summary;Alarm|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    posted = [e for e in sim.journal() if e["method"] == "POST" and e["path"].endswith("/issue")]
    assert [(e["user"], e["auth"]) for e in posted] == [("admin", "Bearer")]
    assert sim.admin("oauth")["by_grant"] == {"client_credentials": 1}


def test_a_refused_client_secret_is_one_failed_login_and_check_names_it(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(
        sim.url, ini=oauth_ini(sim.url, "oauth_client_credentials", {**SERVICE, "client_secret": "wrong"})
    )
    assert driver.send("bad/1|CREATE|summary;A|", "bad/2|CREATE|summary;B|").status_code == 202
    status = wait_for(
        lambda: (s := driver.status())["jira_state"] == "auth_failed" and s, "the auth-failed state", 20
    )
    assert "invalid_client" in status["jira_message"]
    assert {r["status"] for r in driver.rows()} == {"Pending"}  # waiting, not Failed
    assert sim.admin("oauth")["token_requests"] == 1
    result = run_cli(driver.config_path, "check")
    assert result.returncode == 4, result.stderr
    assert "invalid_client" in result.stderr
    assert "check [jira] client_id and client_secret" in result.stderr
    assert result.stderr.count("invalid_client") == 1  # said once, not as the answer and a finding
    assert "wrong" not in result.stderr.replace("wrong secret", "")


def test_a_token_endpoint_that_is_down_is_an_outage(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    sim.faults(kind=503, count=-1, path="/rest/oauth2/")
    driver = driver_factory(sim.url, ini=oauth_ini(sim.url, "oauth_client_credentials", SERVICE))
    assert driver.send("down/1|CREATE|summary;Alarm|").status_code == 202
    wait_for(lambda: driver.status()["jira_state"] == "unreachable", "the outage", 20)
    assert [r["status"] for r in driver.rows()] == ["Pending"]
    sim.admin("faults", method="DELETE")
    driver.wait_settled(30)
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    assert created_issues(sim) == 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_gateway_403_for_an_old_token_renews_once(cloud: Any) -> None:
    cloud.admin("config", {"gateway_expired_status": 403})
    clock = Clock()
    client = JiraClient(
        cloud.url,
        credentials=Credentials("oauth_client_credentials", "sim-service", "sim-service-secret"),
        route=RouteSetup(cloud.url, "oauth_client_credentials", gateway_url=cloud.url, auth_url=cloud.url),
        oauth=OAuthSetup("sim-service", "sim-service-secret"),
        monotonic=clock,
    )
    try:
        assert (await client.myself())["displayName"] == "Administrator"
        cloud.admin("oauth/expire", {})
        with pytest.raises(JiraRejected) as young:
            await client.myself()  # a token a second old: its 403 is an answer, not an expiry
        assert young.value.status == 403
        clock.now += 120
        cloud.admin("oauth/expire", {})
        assert (await client.myself())["displayName"] == "Administrator"
        assert cloud.admin("oauth")["by_grant"] == {"client_credentials": 2}
        assert client.access.route is not None
        assert client.access.route.via_gateway
    finally:
        await client.aclose()


# --- a person's consent (3LO) --------------------------------------------------------------------


@pytest.fixture(params=["cloud", "datacenter"])
def oauth_sim(request: pytest.FixtureRequest, sim_factory: Callable[..., Any]) -> Any:
    """A simulator of each flavour: Cloud (auth.atlassian.com, the gateway) and Data Center (its
    own OAuth 2.0 provider, the refresh repeating redirect_uri)."""
    return sim_factory("--flavor", request.param)


@pytest.fixture
def consent_home(tmp_path: Path, oauth_sim: Any, unused_port: int) -> Path:
    """A config for oauth_3lo against the Cloud simulator, and a stored consent (by `auth login`)."""
    config = tmp_path / "consent" / "driver.ini"
    config.parent.mkdir()
    config.write_text(
        "[jira]\n"
        f"url = {oauth_sim.url}\nauth = oauth_3lo\nclient_id = sim-app\nclient_secret = sim-app-secret\n"
        f"auth_url = {oauth_sim.url}\ngateway_url = {oauth_sim.url}\n"
        f"redirect_uri = http://127.0.0.1:{unused_port}/callback\n"
        f"[driver]\ndatabase = {config.parent / 'driver.db'}\n"
    )
    os.chmod(config, 0o600)
    login(config)
    return config


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def login(config: Path) -> str:
    """`jira-driver auth login`, consenting in the simulator's /authorize: its stdout, then its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "driver", "auth", "login", "--config", str(config), "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=config.parent,
    )
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []

    # a reader thread: select() on a text pipe misses lines already in Python's buffer
    def read() -> None:
        for line in stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:

        def said(words: str) -> str | None:
            assert process.poll() is None, (lines, process.stderr.read() if process.stderr else "")
            return next((x.strip() for x in list(lines) if words in x), None)

        url = wait_for(lambda: said("/authorize?"), "the consent URL", 30)
        wait_for(lambda: said("Waiting for the browser"), "the callback listener", 10)
        # the browser: the simulator consents and sends it to the driver's loopback callback
        answer = httpx.get(url, follow_redirects=True, timeout=10)
        assert answer.status_code == 200, answer.text
        process.wait(timeout=30)
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        reader.join(10)
    err = process.stderr.read() if process.stderr else ""
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    assert process.returncode == 0, err
    return "".join(lines) + err


def start_on(driver_factory: Callable[..., DriverProcess], config: Path, oauth_sim: Any) -> DriverProcess:
    """A driver (stopped) on the consent's configuration, the consent copied beside its database."""
    keys = dict(line.split(" = ", 1) for line in config.read_text().splitlines() if " = " in line)
    ini = oauth_ini(oauth_sim.url, "oauth_3lo", APP, redirect_uri=keys["redirect_uri"])
    driver = driver_factory(oauth_sim.url, ini=ini)  # no consent beside its database yet: it waits
    driver.stop()
    grant_path(driver.db_path).write_bytes(grant_path(config.parent / "driver.db").read_bytes())
    os.chmod(grant_path(driver.db_path), 0o600)
    return driver


@pytest.fixture
def consented_driver(
    consent_home: Path, driver_factory: Callable[..., DriverProcess], oauth_sim: Any
) -> DriverProcess:
    """A driver (stopped) whose database has the consent beside it."""
    return start_on(driver_factory, consent_home, oauth_sim)


def test_auth_login_stores_a_private_consent_and_the_driver_uses_it(
    consent_home: Path, consented_driver: DriverProcess, oauth_sim: Any
) -> None:
    kept = grant_path(consent_home.parent / "driver.db")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    status = run_cli(consent_home, "auth", "status", "--json")
    facts = json.loads(status.stdout)
    assert facts["mode"] == "oauth_3lo"
    assert facts["user"] == "Administrator"
    assert facts["scope"]  # Cloud: read:jira-work ... offline_access; Data Center: WRITE
    assert "refresh_token_dies" in facts
    grant = json.loads(kept.read_text())
    for secret in (grant["refresh_token"], grant["access_token"], "sim-app-secret"):
        assert secret not in status.stdout + status.stderr
    driver = consented_driver
    driver.start()
    assert driver.send("p/1|CREATE|summary;Alarm|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    # the login's access token had life left: neither the login's proof, nor status, nor the driver
    # spent a refresh (each would rotate the refresh token)
    assert oauth_sim.admin("oauth")["by_grant"].get("refresh_token", 0) == 0
    drivers = grant_path(driver.db_path)
    assert json.loads(drivers.read_text())["refresh_token"] == grant["refresh_token"]
    oauth_sim.admin("oauth/expire", {})
    assert driver.send("p/2|CREATE|summary;Alarm|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok", "Ok"]
    # the refusal of the expired token renewed it: the rotated pair on disk is the newest
    assert json.loads(drivers.read_text())["refresh_token"] != grant["refresh_token"]
    assert oauth_sim.admin("oauth")["by_grant"]["refresh_token"] == 1


@pytest.mark.parametrize(
    "failpoint", ["oauth-refresh-answered", "oauth-grant-written", "oauth-grant-renamed"]
)
def test_a_kill_between_a_refresh_and_its_commit_never_locks_the_driver_out(
    consented_driver: DriverProcess, oauth_sim: Any, failpoint: str
) -> None:
    driver = consented_driver
    kept = grant_path(driver.db_path)
    before = json.loads(kept.read_text())["refresh_token"]
    oauth_sim.admin("oauth/expire", {})  # the kept access token is refused: the start refreshes
    driver.env["JIRA_DRIVER_FAILPOINTS"] = failpoint
    try:
        driver.start()
        driver.send("k/1|CREATE|summary;Alarm|")
    except (RuntimeError, httpx.HTTPError):
        pass  # it died at the refresh of its start, before or after it listened
    assert driver.proc is not None
    wait_for(lambda: driver.proc is not None and driver.proc.poll() is not None, "the failpoint's kill", 20)
    assert driver.proc.returncode == -9
    # the kept pair is whole: the old one (taken again within the leeway) or the new one
    after = json.loads(kept.read_text())["refresh_token"]
    assert (after == before) == (failpoint != "oauth-grant-renamed")
    del driver.env["JIRA_DRIVER_FAILPOINTS"]
    driver.start()
    assert driver.send("k/2|CREATE|summary;Alarm|").status_code == 202
    driver.wait_settled(30)
    assert {r["status"] for r in driver.rows()} == {"Ok"}
    assert oauth_sim.admin("oauth")["revoked_grants"] == 0


def test_an_old_refresh_token_reused_outside_the_leeway_stops_sending_and_says_log_in_again(
    consented_driver: DriverProcess, oauth_sim: Any
) -> None:
    driver = consented_driver
    kept = grant_path(driver.db_path)
    old = kept.read_bytes()
    oauth_sim.admin("oauth/expire", {})
    driver.start()  # refreshes (the kept access token is refused): the kept refresh token is disabled
    driver.wait_settled()
    driver.stop()
    oauth_sim.admin("config", {"refresh_leeway": 0})
    kept.write_bytes(old)  # e.g. a backup restored
    driver.start()
    assert driver.send("r/1|CREATE|summary;Alarm|").status_code == 202
    status = wait_for(
        lambda: (s := driver.status())["jira_state"] == "auth_failed" and s, "the auth-failed state", 20
    )
    assert "jira-driver auth login" in status["jira_message"]
    assert [r["status"] for r in driver.rows()] == ["Pending"]
    assert oauth_sim.admin("oauth")["revoked_grants"] == 1
    result = run_cli(driver.config_path, "check")
    assert result.returncode == 4
    assert "auth login" in result.stderr
    # the person consents again, on the driver's own database: the running driver is told, resumes
    # and sends what waited
    again = driver.config_path.with_name("login.ini")
    port = driver.url.rsplit(":", 1)[1]
    again.write_text(driver.config_path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}"))
    os.chmod(again, 0o600)
    said = login(again)
    assert "the running driver resumes" in said
    # the replaced consent is still a live grant at the site: the person is told how to end it
    assert "this replaced the consent of Administrator" in said
    assert "Connected apps" in said
    driver.wait_settled(30)
    assert [r["status"] for r in driver.rows()] == ["Ok"]


def three_legged_ini(tmp_path: Path, url: str) -> Path:
    """A private config for [jira] auth = oauth_3lo with the simulator's app, Cloud's endpoints
    at `url`, and the database in tmp_path (its consent would be d.db.oauth)."""
    config = tmp_path / "driver.ini"
    config.write_text(
        f"[jira]\nurl = {url}\nauth = oauth_3lo\nclient_id = sim-app\nclient_secret = sim-app-secret\n"
        f"auth_url = {url}\ngateway_url = {url}\n[driver]\ndatabase = {tmp_path / 'd.db'}\n"
    )
    os.chmod(config, 0o600)
    return config


def test_a_callback_with_another_state_is_refused_and_nothing_is_stored(tmp_path: Path, cloud: Any) -> None:
    config = three_legged_ini(tmp_path, cloud.url)
    result = run_cli(
        config, "auth", "login", "--paste", stdin="http://127.0.0.1:8751/callback?code=x&state=forged\n"
    )
    assert result.returncode == 2  # bad input: nothing changed
    assert "state" in result.stderr
    assert not grant_path(tmp_path / "d.db").exists()
    assert cloud.admin("oauth")["token_requests"] == 0


def test_a_service_accounts_scoped_token_goes_through_the_gateway(
    tmp_path: Path, sim_factory: Callable[..., Any], driver_factory: Callable[..., DriverProcess]
) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps({"users": [{"name": "admin", "password": "admin", "scoped_tokens": ["scoped-1"]}]})
    )
    cloud = sim_factory("--flavor", "cloud", "--users-file", str(users))
    ini = {"jira": {"username": "", "password": "", "bearer_token": "scoped-1", "gateway_url": cloud.url}}
    driver = driver_factory(cloud.url, ini=ini)
    assert driver.send("s/1|CREATE|summary;Alarm|").status_code == 202
    driver.wait_settled()
    assert [r["status"] for r in driver.rows()] == ["Ok"]
    # the same token at the site URL is refused: only the gateway took it
    refused = httpx.get(f"{cloud.url}/rest/api/2/myself", headers={"Authorization": "Bearer scoped-1"})
    assert refused.status_code == 401


def test_a_wrong_cloud_id_is_one_line_naming_it(tmp_path: Path, cloud: Any) -> None:
    config = tmp_path / "driver.ini"
    config.write_text(
        f"[jira]\nurl = {cloud.url}\nauth = oauth_client_credentials\nclient_id = sim-service\n"
        f"client_secret = sim-service-secret\nauth_url = {cloud.url}\ngateway_url = {cloud.url}\n"
        f"cloud_id = 0000-wrong\n[driver]\ndatabase = {tmp_path / 'd.db'}\n"
    )
    os.chmod(config, 0o600)
    result = run_cli(config, "check")
    assert result.returncode == 2, result.stderr  # a configuration error, not refused credentials
    assert "[jira] cloud_id 0000-wrong is not the cloud id of" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    ok = config.read_text().replace("cloud_id = 0000-wrong\n", "")
    config.write_text(ok)
    looked_up = run_cli(config, "check")
    assert looked_up.returncode == 0, looked_up.stderr
    assert "through the gateway, cloud id 5f1b2c3d-0000-4000-8000-00000000c10d" in looked_up.stdout


def test_auth_status_without_a_consent_says_so_in_its_own_format(tmp_path: Path, cloud: Any) -> None:
    config = three_legged_ini(tmp_path, cloud.url)
    as_json = run_cli(config, "auth", "status", "--json")
    assert as_json.returncode == 1
    facts = json.loads(as_json.stdout)  # a script reading stdout gets an answer, not nothing
    assert facts["mode"] == "oauth_3lo"
    assert facts["user"] is None
    assert "run `jira-driver auth login`" in facts["warning"]
    plain = run_cli(config, "auth", "status")
    assert plain.returncode == 1
    assert "no consent is stored" in plain.stderr


def test_a_paste_that_ends_or_is_not_a_callback_is_one_line_and_bad_input(tmp_path: Path, cloud: Any) -> None:
    config = three_legged_ini(tmp_path, cloud.url)
    ended = run_cli(config, "auth", "login", "--paste", stdin="")
    assert ended.returncode == 2
    assert ended.stderr.strip() == "refused: no URL was pasted (the input ended): nothing stored"
    garbage = run_cli(config, "auth", "login", "--paste", stdin="garbage\n")
    assert garbage.returncode == 2
    assert "not a URL of the callback" in garbage.stderr
    assert "Traceback" not in ended.stderr + garbage.stderr
    assert not grant_path(tmp_path / "d.db").exists()
    assert cloud.admin("oauth")["token_requests"] == 0


def test_ctrl_c_at_the_paste_prompt_interrupts_at_once(tmp_path: Path, cloud: Any) -> None:
    config = three_legged_ini(tmp_path, cloud.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "driver", "auth", "login", "--paste", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Paste the whole URL"):
                break
        process.send_signal(signal.SIGINT)  # once
        assert process.wait(timeout=10) == 130
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_check_refuses_an_oauth_mode_without_its_secret_and_warns_of_a_readable_file(
    tmp_path: Path, cloud: Any
) -> None:
    config = tmp_path / "driver.ini"
    config.write_text(
        f"[jira]\nurl = {cloud.url}\nauth = oauth_client_credentials\nclient_id = sim-service\n"
        f"auth_url = {cloud.url}\ngateway_url = {cloud.url}\ntoken_expires = 2020-01-01\n"
        f"[driver]\ndatabase = {tmp_path / 'd.db'}\n"
    )
    missing = run_cli(config, "check")
    assert missing.returncode == 2
    assert "[jira] client_secret: auth = oauth_client_credentials needs it" in missing.stderr
    assert cloud.admin("oauth")["token_requests"] == 0  # nothing was asked
    config.write_text(
        config.read_text().replace(
            "client_id = sim-service\n", "client_id = sim-service\nclient_secret = sim-service-secret\n"
        )
    )
    os.chmod(config, 0o644)
    readable = run_cli(config, "check")
    assert readable.returncode == 0, readable.stderr
    assert "other users may read it (mode 644)" in readable.stderr
    # token_expires is an API token's date: the OAuth modes mint their own tokens, so no warning
    assert "token_expires" not in readable.stdout + readable.stderr
