"""`jira-driver check` against the simulator: plain words, and exit codes by the class of what it
finds (2 configuration, 3 connection, 4 credentials, 5 permission, 6 screen or workflow)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import run_cli
from tests.fixtures.paths import REPO


def check_with(
    ini: Path | None, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m driver check [--config ini]`, run the way a shell would."""
    args = [sys.executable, "-m", "driver", "check", *(["--config", str(ini)] if ini else [])]
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=30, check=False)


def run_check(tmp_path: Path, url: str, password: str = "admin") -> subprocess.CompletedProcess[str]:
    ini = tmp_path / "check.ini"
    ini.write_text(f"[jira]\nurl = {url}\nusername = admin\npassword = {password}\ntimeout_seconds = 3\n")
    return check_with(ini)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ok(tmp_path: Path, sim: Any) -> None:
    result = run_check(tmp_path, sim.url)
    assert result.returncode == 0, result.stderr
    assert "Connected to Jira Data Center" in result.stdout
    assert "tickets go to project OPS as Task" in result.stdout


@pytest.mark.parametrize(
    ("suffix", "password", "words", "code"),
    [("", "wrong-pw", "HTTP 401", 4), ("/jira", "admin", "context path", 2)],
)
def test_refused(tmp_path: Path, sim: Any, suffix: str, password: str, words: str, code: int) -> None:
    result = run_check(tmp_path, sim.url + suffix, password)
    assert result.returncode == code  # credentials refused, or the configured URL is wrong
    assert words in result.stderr
    assert "wrong-pw" not in result.stderr + result.stdout


def test_missing_credentials_and_a_missing_config_file_are_named(tmp_path: Path, sim: Any) -> None:
    # `check` with no user name said "Jira rejected the credentials" (issue 17): it names what is
    # empty, and, run where there is no config file, says that first.
    ini = tmp_path / "check.ini"
    ini.write_text(f"[jira]\nurl = {sim.url}\ntimeout_seconds = 3\n")
    named = check_with(ini)
    assert named.returncode == 4  # the credentials' class
    assert "[jira] username is empty" in named.stderr
    assert "no config file" not in named.stderr
    ini.write_text(f"[jira]\nurl = {sim.url}\nusername = admin\ntimeout_seconds = 3\n")
    no_password = check_with(ini)
    assert "[jira] password is empty for user 'admin'" in no_password.stderr
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    env = {**os.environ, "JIRA_DRIVER_JIRA_URL": sim.url, "PYTHONPATH": str(REPO)}
    bare = check_with(None, cwd=nowhere, env=env)
    assert bare.returncode == 4, bare.stderr
    lines = bare.stderr.splitlines()
    assert lines[0].startswith("no config file: jira-driver.ini not found"), lines
    assert "[jira] username is empty" in lines[-1]


@pytest.mark.parametrize(
    ("ticket", "words", "code"),
    [
        ("project = NOPE\nissue_type = Task", "project 'NOPE' is not there for", 5),
        (
            "project = OPS\nissue_type = Storm",
            "project OPS has no issue type 'Storm' this user may create (it offers: ",
            2,
        ),
    ],
)
def test_a_project_or_issue_type_jira_would_refuse_is_named(
    tmp_path: Path, sim: Any, ticket: str, words: str, code: int
) -> None:
    # `check` said ok with a wrong project or issue type, and every create then failed (issue 17)
    ini = tmp_path / "check.ini"
    ini.write_text(
        f"[jira]\nurl = {sim.url}\nusername = admin\npassword = admin\ntimeout_seconds = 3\n"
        f"[driver]\ndatabase = {tmp_path / 'none.db'}\n[ticket]\n{ticket}\n"
    )
    result = check_with(ini)
    assert result.returncode == code, result.stdout  # a permission, or the configuration
    assert "Connected to Jira" in result.stderr
    assert words in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_unreachable(tmp_path: Path) -> None:
    result = run_check(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 3
    assert "refused" in result.stderr


def test_a_ca_bundle_that_holds_no_certificate_is_one_line(tmp_path: Path) -> None:
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("this is not a PEM certificate\n", encoding="utf-8")
    ini = tmp_path / "check.ini"
    ini.write_text(f"[jira]\nurl = https://127.0.0.1:{free_port()}\nca_bundle = {bundle}\n", encoding="utf-8")
    result = check_with(ini)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("jira-driver check: configuration error: [jira] ca_bundle: ")


def setup_ini(tmp_path: Path, url: str, extra: str = "") -> Path:
    ini = tmp_path / "check.ini"
    ini.write_text(
        f"[jira]\nurl = {url}\nusername = admin\npassword = admin\ntimeout_seconds = 3\n{extra}"
        f"[driver]\ndatabase = {tmp_path / 'none.db'}\n"
    )
    ini.chmod(0o600)  # it holds a password: kept as an operator keeps it (check warns otherwise)
    return ini


def test_permissions_the_create_screen_and_the_workflow_are_checked_before_the_first_alarm(
    tmp_path: Path, sim: Any
) -> None:
    sim.admin("permissions", {"user": "admin", "project": "OPS", "denied": ["TRANSITION_ISSUES"]})
    sim.admin("screens", {"project": "OPS", "hidden": ["labels"], "required": ["environment"]})
    lifecycle = "[lifecycle]\nresolve_target = status:Verified\nresolution = Solved\n"
    ini = setup_ini(tmp_path, sim.url)
    ini.write_text(ini.read_text() + lifecycle)
    result = check_with(ini)
    assert result.returncode == 5, result.stderr  # a permission is the first class found
    lines = result.stderr.splitlines()
    assert any(
        x.startswith("permission: Administrator lacks TRANSITION_ISSUES in project OPS") for x in lines
    )
    assert any(
        x.startswith("screen: OPS/Task's create screen requires Environment (environment)") for x in lines
    )
    assert any(x.startswith("screen: labels (labels, the GUID stamp's field) is not on") for x in lines)
    assert any(x.startswith("workflow: RESOLVE goes to status 'Verified'") for x in lines)
    assert any(x.startswith("workflow: the resolution 'Solved' is not one Jira has") for x in lines)
    assert "but 5 problems would fail alarms" in lines[0]
    as_json = check_with_args(ini, "--json")
    data = json.loads(as_json.stdout)
    assert data["exit"] == 5
    assert data["ok"] is False
    assert [f["kind"] for f in data["findings"]] == ["permission", "screen", "screen", "workflow", "workflow"]
    # put right in Jira, the same check passes
    sim.admin("permissions", {"user": "admin", "project": "OPS", "denied": []})
    sim.admin("screens", {"project": "OPS"})
    ini.write_text(ini.read_text().replace(lifecycle, ""))
    assert check_with(ini).returncode == 0


def test_each_class_of_problem_has_its_exit_code(tmp_path: Path, sim: Any) -> None:
    # docs/operations.md gave `check` three exit codes (0, 1, 3), a wrong password exits 4 (an
    # operator trial): the create screen alone is 6, a permission alone 5, both together 5
    ini = setup_ini(tmp_path, sim.url)
    sim.admin("screens", {"project": "OPS", "required": ["environment"]})
    screen = check_with(ini)
    assert screen.returncode == 6, screen.stderr
    assert any(x.startswith("screen: ") for x in screen.stderr.splitlines())
    sim.admin("screens", {"project": "OPS"})
    sim.admin("permissions", {"user": "admin", "project": "OPS", "denied": ["ADD_COMMENTS"]})
    permission = check_with(ini)
    assert permission.returncode == 5, permission.stderr
    sim.admin("permissions", {"user": "admin", "project": "OPS", "denied": []})
    assert check_with(ini).returncode == 0
    wrong = setup_ini(tmp_path, sim.url)
    wrong.write_text(wrong.read_text().replace("password = admin", "password = wrong-pw"))
    assert check_with(wrong).returncode == 4


def check_with_args(ini: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "driver", "check", "--config", str(ini), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=30, check=False)


def test_a_token_about_to_expire_is_a_warning_not_a_failure(tmp_path: Path, sim: Any) -> None:
    soon = date.today() + timedelta(days=3)
    result = check_with(setup_ini(tmp_path, sim.url, f"token_expires = {soon.isoformat()}\n"))
    assert result.returncode == 0, result.stderr
    assert f"warning: the Jira token expires on {soon.isoformat()} (in 3 days" in result.stdout


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("[sync]\nmode = webhook\n", "[sync] webhook_secret: mode = webhook needs it"),
        (
            "[alertmanager]\nsummary = {{ labels.alertname\n",
            "[alertmanager] summary: template 'summary', line 1: unexpected end of template",
        ),
    ],
)
def test_check_and_run_refuse_alike_and_run_makes_nothing(
    tmp_path: Path, sim: Any, section: str, words: str
) -> None:
    """helper-21: `check` said ok to a config `run` refuses (a webhook without its secret, a
    template that does not compile), and `run` refused a template only after making the database
    and its lock file: exit 2 is "nothing changed"."""
    ini = setup_ini(tmp_path, sim.url)
    ini.write_text(ini.read_text() + section)
    checked = check_with(ini)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert f"jira-driver check: configuration error: {words}" in checked.stderr
    ran = run_cli(ini, "run")
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert f"jira-driver run: configuration error: {words}" in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.ini"]
