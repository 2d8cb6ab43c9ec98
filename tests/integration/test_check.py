"""`jira-driver check` against the simulator: plain words and exit codes 0 / 1 / 3."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.paths import REPO


def run_check(tmp_path: Path, url: str, password: str = "admin") -> subprocess.CompletedProcess[str]:
    ini = tmp_path / "check.ini"
    ini.write_text(f"[jira]\nurl = {url}\nusername = admin\npassword = {password}\ntimeout_seconds = 3\n")
    return subprocess.run(
        [sys.executable, "-m", "driver", "check", "--config", str(ini)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ok(tmp_path: Path, sim: Any) -> None:
    result = run_check(tmp_path, sim.url)
    assert result.returncode == 0, result.stderr
    assert "Connected to Jira Data Center" in result.stdout


@pytest.mark.parametrize(
    ("suffix", "password", "words"),
    [("", "wrong-pw", "HTTP 401"), ("/jira", "admin", "context path")],
)
def test_refused(tmp_path: Path, sim: Any, suffix: str, password: str, words: str) -> None:
    result = run_check(tmp_path, sim.url + suffix, password)
    assert result.returncode == 1
    assert words in result.stderr
    assert "wrong-pw" not in result.stderr + result.stdout


def test_unreachable(tmp_path: Path) -> None:
    result = run_check(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 3
    assert "refused" in result.stderr


def test_a_ca_bundle_that_holds_no_certificate_is_one_line(tmp_path: Path) -> None:
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("this is not a PEM certificate\n", encoding="utf-8")
    ini = tmp_path / "check.ini"
    ini.write_text(f"[jira]\nurl = https://127.0.0.1:{free_port()}\nca_bundle = {bundle}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "driver", "check", "--config", str(ini)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("jira-driver check: configuration error: [jira] ca_bundle: ")
