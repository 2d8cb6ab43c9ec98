"""What a second new user's first setup met (helper-21), each kept as a test: the words a command
says where it used to say too little, or the wrong thing.

- `JIRA_DRIVER_URL=127.0.0.1:8799 jira-driver log` ended with exit 3 and httpx's words about a
  missing protocol.
- `password = "admin"` (quoted) met a bare 401: INI values are taken as written.
- An https:// URL for a plain-HTTP Jira was blamed on a company CA.
- ticket_location = rest/api/3/issue on Data Center said only "no Jira REST API".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.paths import REPO


def jira_driver(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    return subprocess.run(
        [sys.executable, "-m", "driver", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


def ini_for(tmp_path: Path, url: str, extra: str = "", password: str = "admin") -> Path:
    ini = tmp_path / "setup.ini"
    ini.write_text(
        f"[jira]\nurl = {url}\nusername = admin\npassword = {password}\ntimeout_seconds = 3\n{extra}"
        f"[driver]\ndatabase = {tmp_path / 'driver.db'}\n"
    )
    ini.chmod(0o600)
    return ini


def test_a_driver_url_without_its_scheme_is_a_configuration_error(tmp_path: Path) -> None:
    result = jira_driver("log", env={"JIRA_DRIVER_URL": "127.0.0.1:8799"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "jira-driver: configuration error: [environment] JIRA_DRIVER_URL = '127.0.0.1:8799': the"
        " driver's address as http://HOST:PORT, e.g. http://127.0.0.1:8750"
    )


def test_a_quoted_password_is_warned_of_by_name(tmp_path: Path, sim: Any) -> None:
    result = jira_driver("check", "--config", str(ini_for(tmp_path, sim.url, password='"admin"')))
    assert result.returncode == 4, result.stdout + result.stderr
    assert (
        "warning: [jira] password is wrapped in quotes: an INI value is taken as written, the quotes"
        " included; remove them unless they are part of it"
    ) in result.stderr
    assert '"admin"' not in result.stdout + result.stderr


def test_https_to_a_plain_http_jira_says_so_not_a_company_ca(tmp_path: Path, sim: Any) -> None:
    url = sim.url.replace("http://", "https://")
    result = jira_driver("check", "--config", str(ini_for(tmp_path, url)))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the server answered in plain HTTP: is the URL https:// for an http:// Jira" in result.stderr
    assert "company CA" not in result.stderr


def test_api_3_on_data_center_is_named(tmp_path: Path, sim: Any) -> None:
    ini = ini_for(tmp_path, sim.url, extra="ticket_location = rest/api/3/issue\n")
    result = jira_driver("check", "--config", str(ini))
    assert result.returncode != 0, result.stdout
    assert "Data Center has no REST API 3: use rest/api/2/issue there." in result.stdout + result.stderr
