"""TLS to Jira: a simulator serving HTTPS with a certificate from a throwaway CA (trustme).

[jira] verify_tls = true with the system's CAs refuses it, plainly (check: exit 3, "TLS ...
certificate"); ca_bundle = the CA's PEM trusts it; verify_tls = false skips the check. A driver
that cannot establish TLS keeps the command Pending (an outage: no attempt counted, nothing
failed) with the reason in the log, and sends it once the CA is trusted.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.fixtures.driver import DriverProcess
from tests.fixtures.proxy import network_env, run_check
from tests.fixtures.sim import SimProcess, running_sim
from tests.fixtures.waiting import wait_for


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a throwaway CA and of a server certificate it issued for 127.0.0.1 / localhost."""

    ca: Path
    cert: Path
    key: Path


def issue(folder: Path, *names: str) -> TlsFiles:
    """A new CA and a server certificate for `names`, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert(*names)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    server.cert_chain_pems[0].write_to_path(str(files.cert))
    server.private_key_pem.write_to_path(str(files.key))
    return files


def tls_flags(files: TlsFiles) -> tuple[str, ...]:
    """The simulator's flags to serve HTTPS with these files."""
    return ("--tls-cert", str(files.cert), "--tls-key", str(files.key))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """One CA and server certificate for the module."""
    return issue(tmp_path_factory.mktemp("tls"), "127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def _https_sim_module(tls: TlsFiles) -> Iterator[SimProcess]:
    with running_sim(*tls_flags(tls), verify=tls.ca) as sim:
        yield sim


@pytest.fixture
def https_sim(_https_sim_module: SimProcess) -> SimProcess:
    """A Data Center simulator on https://127.0.0.1:PORT, its state reset."""
    _https_sim_module.reset()
    return _https_sim_module


def log_rows(driver: DriverProcess) -> list[dict[str, Any]]:
    """GET /api/log: what an operator sees, oldest first."""
    with driver.client() as api:
        rows: list[dict[str, Any]] = api.get("/api/log", params={"limit": 100}).json()["rows"]
    return list(reversed(rows))


def outage_strikes(driver: DriverProcess) -> int:
    """How often the driver found Jira unreachable: its log warns once per outage backoff it starts."""
    return driver.stderr_path.read_text(encoding="utf-8").count("Jira is unreachable")


def test_sim_announces_https_and_serves_only_tls(https_sim: SimProcess, tls: TlsFiles) -> None:
    assert https_sim.url.startswith("https://127.0.0.1:")
    trusted = ssl.create_default_context(cafile=str(tls.ca))
    assert httpx.get(f"{https_sim.url}/_sim/health", verify=trusted).status_code == 200
    plain = https_sim.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plain}/_sim/health", timeout=3).raise_for_status()


def test_check_refuses_an_unknown_ca_plainly(tmp_path: Path, https_sim: SimProcess) -> None:
    result = run_check(tmp_path, {"url": https_sim.url, "verify_tls": "true"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.startswith("failed: TLS: cannot establish a trusted connection to 127.0.0.1")
    assert "certificate verify failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_check_refuses_a_certificate_for_another_name(
    tmp_path: Path, sim_factory: Callable[..., Any]
) -> None:
    other = issue(tmp_path / "other", "jira.example.com")
    sim = sim_factory(*tls_flags(other))
    result = run_check(tmp_path, {"url": sim.url, "ca_bundle": str(other.ca)})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.startswith("failed: TLS: ")
    assert "IP address mismatch" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("setting", ["ca_bundle", "verify_tls_false"])
def test_check_connects_with_the_ca_bundle_or_without_verification(
    tmp_path: Path, https_sim: SimProcess, tls: TlsFiles, setting: str
) -> None:
    jira = {"url": https_sim.url}
    jira.update({"ca_bundle": str(tls.ca)} if setting == "ca_bundle" else {"verify_tls": "false"})
    result = run_check(tmp_path, jira)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: Connected to Jira Data Center"), result.stdout
    assert f"at {https_sim.url} as" in result.stdout
    # the one in the log of the sim (it is served over TLS)
    assert any(entry["path"].endswith("/myself") for entry in https_sim.journal())


def test_ca_bundle_wins_over_ssl_cert_file(tmp_path: Path, https_sim: SimProcess, tls: TlsFiles) -> None:
    """ca_bundle wins over SSL_CERT_FILE (which httpx honours only for verify=True)."""
    decoy = issue(tmp_path / "decoy", "127.0.0.1")
    env = network_env() | {"SSL_CERT_FILE": str(decoy.ca)}
    assert run_check(tmp_path, {"url": https_sim.url, "ca_bundle": str(tls.ca)}, env).returncode == 0
    assert run_check(tmp_path, {"url": https_sim.url, "ca_bundle": str(decoy.ca)}, env).returncode == 3


@pytest.mark.parametrize("setting", ["ca_bundle", "verify_tls_false"])
def test_driver_creates_a_ticket_over_https(
    https_sim: SimProcess,
    tls: TlsFiles,
    driver_factory: Callable[..., DriverProcess],
    setting: str,
) -> None:
    jira = {"ca_bundle": str(tls.ca)} if setting == "ca_bundle" else {"verify_tls": "false"}
    driver = driver_factory(https_sim.url, ini={"jira": jira}, env=network_env())
    assert driver.send("TLS-1|CREATE|summary;over https|").status_code == 202
    driver.wait_settled()
    rows = log_rows(driver)
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    issues = https_sim.issues()
    assert [issue["key"] for issue in issues] == [rows[0]["ticket_key"]]
    assert issues[0]["fields"]["summary"] == "over https"
    assert rows[0]["ticket_url"].startswith("https://127.0.0.1:")


def test_driver_keeps_the_command_and_says_it_is_a_certificate_problem(
    https_sim: SimProcess, tls: TlsFiles, driver_factory: Callable[..., DriverProcess]
) -> None:
    driver = driver_factory(
        https_sim.url,
        ini={"jira": {"max_retries": "1", "retry_base_seconds": "0.05", "probe_delay_seconds": "0"}},
        env=network_env(),
    )
    assert driver.send("TLS-2|CREATE|summary;arrives once trusted|").status_code == 202
    driver.wait_rows(lambda rows: rows[0]["error"].startswith("waiting for Jira: TLS"))
    # three tries, more than max_retries = 1 allows a failing request: an outage counts no attempts
    wait_for(lambda: outage_strikes(driver) >= 3, "three tries of the unreachable Jira")
    rows = driver.rows()
    assert [(row["status"], row["attempts"]) for row in rows] == [("Pending", 0)]
    error = rows[0]["error"]
    assert error.startswith("waiting for Jira: TLS: cannot establish a trusted connection to 127.0.0.1"), (
        error
    )
    assert "certificate verify failed" in error
    status = driver.status()
    assert status["jira_state"] == "unreachable"
    assert status["jira_message"].startswith("TLS: ")
    assert https_sim.issues() == []
    assert https_sim.journal() == []  # no try got past the handshake

    # the operator trusts the company CA and restarts: the kept command goes out, once
    driver.stop()
    text = driver.config_path.read_text(encoding="utf-8")
    driver.config_path.write_text(text.replace("[jira]\n", f"[jira]\nca_bundle = {tls.ca}\n"), "utf-8")
    driver.restart()
    driver.wait_settled()
    rows = driver.rows()
    assert [(row["status"], row["error"]) for row in rows] == [("Ok", "")]
    assert [issue["key"] for issue in https_sim.issues()] == [rows[0]["ticket_key"]]
