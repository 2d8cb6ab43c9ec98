"""`jira-driver send`, `log` and `stats` as an operator runs them: real processes, real HTTP, real SQLite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from driver.contract.schemas import MAX_GUID_LENGTH
from tests.fixtures.driver import DriverProcess


def cli(driver: DriverProcess, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m driver ARGS --config <the driver's ini>` the way a shell would."""
    env = {**os.environ, "JIRA_DRIVER_URL": driver.url, "JIRA_DRIVER_DRIVER_API_TOKEN": driver.api_token}
    return subprocess.run(
        [sys.executable, "-m", "driver", *args, "--config", str(driver.config_path)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_send_accepts_commands_and_log_json_shows_exactly_what_happened(
    driver: DriverProcess, sim: Any
) -> None:
    sent = cli(driver, "send", "G-1|CREATE|summary;Disk full|priority;High|", "G-1|UPDATE|comment;at 95%|")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.splitlines() == ["accepted #1 CREATE G-1", "accepted #2 UPDATE G-1"]
    driver.wait_settled()

    logged = cli(driver, "log", "--json")
    assert logged.returncode == 0, logged.stderr
    rows = [json.loads(line) for line in logged.stdout.splitlines()]
    assert [list(r) for r in rows] == [
        [
            "id",
            "type",
            "action",
            "guid",
            "time",
            "status",
            "ticket_id",
            "ticket_key",
            "ticket_url",
            "error",
            "note",
        ]
    ] * 2
    newest, oldest = rows
    assert (oldest["id"], oldest["action"], oldest["status"], oldest["type"]) == (
        1,
        "CREATE",
        "Ok",
        "Automatic",
    )
    assert (newest["id"], newest["action"], newest["status"]) == (2, "UPDATE", "Ok")
    key = oldest["ticket_key"]
    assert newest["ticket_key"] == key
    assert oldest["ticket_url"] == f"{sim.url}/browse/{key}"
    # the simulator holds exactly that ticket, with the comment
    issues = sim.issues()
    assert [i["key"] for i in issues] == [key]


def test_send_reads_stdin_and_rejects_the_whole_batch_on_one_bad_line(driver: DriverProcess) -> None:
    result = cli(driver, "send", stdin="A|CREATE|summary;one|\nB|DELETE|summary;two|\n")
    assert result.returncode == 2
    assert "line 2, position 3: unknown action 'DELETE'" in result.stderr
    assert "nothing was queued" in result.stderr
    assert cli(driver, "log", "--json").stdout == ""


def test_send_without_a_driver_says_so_and_exits_3(tmp_path: Path) -> None:
    ini = tmp_path / "c.ini"
    ini.write_text("[driver]\nlisten = 127.0.0.1:9\n")
    result = subprocess.run(
        [sys.executable, "-m", "driver", "send", "A|CREATE|summary;x|", "--config", str(ini)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "JIRA_DRIVER_URL"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "cannot reach the driver at http://127.0.0.1:9" in result.stderr


def test_a_wrong_api_token_is_refused(driver: DriverProcess) -> None:
    env = {**os.environ, "JIRA_DRIVER_URL": driver.url, "JIRA_DRIVER_DRIVER_API_TOKEN": "tok-XYZZY-9"}
    result = subprocess.run(
        [sys.executable, "-m", "driver", "stats", "--config", str(driver.config_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr
    assert "XYZZY" not in result.stderr


def test_log_filters_by_status_and_limits(driver: DriverProcess) -> None:
    assert cli(driver, "send", "X|CREATE|summary;a|", "Y|UPDATE|comment;never created|").returncode == 0
    driver.wait_settled()
    failed = [
        json.loads(line) for line in cli(driver, "log", "--json", "--status", "failed").stdout.splitlines()
    ]
    assert [(r["guid"], r["status"]) for r in failed] == [("Y", "Failed")]
    assert "never" in failed[0]["error"] or "no ticket" in failed[0]["error"]
    limited = cli(driver, "log", "--json", "--limit", "1").stdout.splitlines()
    assert len(limited) == 1
    people = cli(driver, "log").stdout.splitlines()
    assert people[0].split() == [
        "ID",
        "TYPE",
        "ACTION",
        "GUID",
        "TIME",
        "STATUS",
        "TICKET",
        "ERROR",
        "/",
        "NOTE",
    ]
    assert len(people) == 4


def test_log_filters_as_the_api_does_by_guid_text_and_time(driver: DriverProcess) -> None:
    # `log` had only --status, and said "(the log is empty)" when a filter matched nothing (an
    # operator trial): --guid, --search, --since and --until are GET /api/log's guid, q, since, until
    assert cli(driver, "log").stdout.splitlines() == ["(the log is empty)"]
    assert cli(driver, "send", "H-1|CREATE|summary;disk|", "H-2|CREATE|summary;fan|").returncode == 0
    assert cli(driver, "send", "H-1|UPDATE|comment;disk at 95%|").returncode == 0
    driver.wait_settled()

    def guids(*args: str) -> list[tuple[str, str]]:
        result = cli(driver, "log", "--json", *args)
        assert (result.returncode, result.stderr) == (0, ""), args
        return [(r["guid"], r["action"]) for r in map(json.loads, result.stdout.splitlines())]

    assert guids("--guid", "H-1") == [("H-1", "UPDATE"), ("H-1", "CREATE")]
    assert guids("--search", "H-2") == [("H-2", "CREATE")]  # as the API's q: text in the GUID...
    assert guids("--search", "UPDATE") == [("H-1", "UPDATE")]  # ... or the action
    assert len(guids("--since", "2000-01-01", "--until", "2999-12-31T23:59:59+01:00")) == 3
    assert guids("--since", "2999-01-01T00:00:00Z") == []
    # a day named alone as --until is the whole day (helper-30: --until of the rows' own day matched none)
    day = json.loads(cli(driver, "log", "--json").stdout.splitlines()[0])["time"][:10]
    assert len(guids("--since", day, "--until", day)) == 3
    assert guids("--guid", "H-2", "--status", "failed") == []
    for filtered in (("--guid", "nobody"), ("--until", "2001-01-01"), ("--search", "no such text")):
        none = cli(driver, "log", *filtered)
        assert (none.returncode, none.stdout, none.stderr) == (0, "(no rows match)\n", ""), filtered
    assert len(cli(driver, "log").stdout.splitlines()) == 5  # header, rule, three rows

    for bad, option in (
        (("--since", "yesterday"), "--since 'yesterday': expected an ISO 8601 date-time"),
        (("--until", "1712345678"), "--until '1712345678': expected an ISO 8601 date-time"),
        (("--since", "1900-01-01"), "--since '1900-01-01': expected a moment between the years 1970"),
        (("--since", "2026-03-02", "--until", "2026-03-01"), "--since '2026-03-02' is after --until"),
        (("--guid", ""), "--guid: empty"),
        (("--search", "x" * 1001), "--search: 1001 characters, at most 1000"),
    ):
        refused = cli(driver, "log", *bad)
        assert (refused.returncode, refused.stdout) == (2, ""), bad
        [line] = refused.stderr.splitlines()
        assert line.startswith(f"jira-driver log: {option}"), line


@pytest.mark.parametrize("as_json", [True, False])
def test_stats_count_what_was_created_and_updated(
    driver_factory: Callable[..., DriverProcess], sim: Any, as_json: bool
) -> None:
    # `stats --json` printed create/update/total only, and the plain output did not say in which
    # time zone "today" is (an operator trial): --json is GET /api/stats's whole answer, the 30
    # days included, and both name the driver's time zone (here 14 hours ahead of UTC)
    zone = "Pacific/Kiritimati"
    driver = driver_factory(sim.url, api_token="t", ini={"driver": {"timezone": zone}})
    commands = ["S1|CREATE|summary;one|", "S2|CREATE|summary;two|", "S1|UPDATE|comment;hello|"]
    assert cli(driver, "send", *commands).returncode == 0
    driver.wait_settled()
    result = cli(driver, "stats", *(["--json"] if as_json else []))
    assert result.returncode == 0, result.stderr
    today = datetime.now(ZoneInfo(zone)).date()
    if as_json:
        answer = json.loads(result.stdout)
        with driver.client() as client:
            assert answer == client.get("/api/stats").json()
        days = answer.pop("days")
        assert answer == {
            "create": {"today": 2, "yesterday": 0, "total": 2},
            "update": {"today": 1, "yesterday": 0, "total": 1},
            "total": {"today": 3, "yesterday": 0, "total": 3},
            "timezone": zone,
        }
        assert len(days) == 30
        assert days[-1] == {"day": today.isoformat(), "created": 2, "updated": 1}
        assert days[0]["day"] == (today - timedelta(days=29)).isoformat()
        assert all((d["created"], d["updated"]) == (0, 0) for d in days[:-1])
    else:
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["TODAY", "YESTERDAY", "TOTAL"]
        assert lines[2].split() == ["created", "2", "0", "2"]
        assert lines[3].split() == ["updated", "1", "0", "1"]
        assert lines[4].split() == ["total", "3", "0", "3"]
        assert (
            lines[5] == f"(today is {today.isoformat()} in {zone}, the driver's time zone: [driver] timezone)"
        )


def plain_cli(tmp_path: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """`python -m driver ARGS` with no driver around, UTF-8 streams whatever the locale says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "driver", *args],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_send_of_stdin_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    result = plain_cli(tmp_path, "send", stdin=b"A|CREATE|summary;caf\xe9|\n")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().splitlines() == ["jira-driver send: stdin is not utf-8 text (byte 20)"]


def test_run_with_a_database_it_cannot_create_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    ini = tmp_path / "run.ini"
    ini.write_text(f"[driver]\ndatabase = {tmp_path / 'a-file' / 'driver.db'}\nlisten = 127.0.0.1:0\n")
    result = plain_cli(tmp_path, "run", "--config", str(ini))
    # a database path that cannot be a file is a configuration fault (the database-file checks
    # come before anything is opened)
    assert (result.returncode, result.stdout) == (2, b"")
    assert b"Traceback" not in result.stderr
    [line] = result.stderr.decode().splitlines()
    assert line.startswith("jira-driver run: "), line
    assert "a-file" in line, line


def test_client_commands_need_no_secret_only_the_driver_uses(tmp_path: Path) -> None:
    # `log`, `send`, `ticket` exited 2 when the webhook secret, which only `run` reads, was not in
    # their environment (issue 17): they check only what they use; `run` still refuses without it.
    ini = tmp_path / "driver.ini"
    with socket.socket() as sock:  # a port no driver listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ini.write_text(
        f"[driver]\nlisten = 127.0.0.1:{port}\ndatabase = {tmp_path / 'd.db'}\n[sync]\nmode = webhook\n"
    )
    for args in (("log",), ("ticket", "G-1"), ("stats",)):
        result = plain_cli(tmp_path, *args, "--config", str(ini))
        assert result.returncode == 3, (args, result.stderr)  # no driver there: unreachable, not bad config
        assert b"webhook_secret" not in result.stderr
    sent = plain_cli(tmp_path, "send", "--config", str(ini), stdin=b"A|CREATE|summary;x|\n")
    assert sent.returncode == 3, sent.stderr
    run = plain_cli(tmp_path, "run", "--config", str(ini))
    assert (run.returncode, run.stdout) == (2, b"")
    [line] = run.stderr.decode().splitlines()
    assert line.startswith(
        "jira-driver run: configuration error: [sync] webhook_secret: mode = webhook needs it"
    ), line
    assert not (tmp_path / "d.db").exists()  # refused before the database was touched


@pytest.mark.parametrize(
    "command", [("link", "GUID", "OPS-1"), ("resolve", "GUID"), ("retry", "GUID"), ("unlink", "GUID")]
)
def test_a_guid_the_driver_refuses_exits_2_and_changes_nothing(
    driver: DriverProcess, command: tuple[str, ...]
) -> None:
    """Bad input, as the exit statuses say: a GUID over the length limit is refused before it is
    sent and the command exits 2, one line on stderr naming the field and the limit (it was a
    traceback); a GUID without a ticket is a refusal of the job (1)."""
    too_long = "G" * (MAX_GUID_LENGTH + 1)
    refused = cli(driver, *(too_long if part == "GUID" else part for part in command))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [
        f"jira-driver {command[0]}: guid: String should have at most {MAX_GUID_LENGTH} characters"
        " (nothing was sent)"
    ]
    if command[0] == "link":
        bad_key = cli(driver, "link", "GUID", "ops 1")
        assert bad_key.returncode == 2
        assert bad_key.stderr.splitlines() == [
            "jira-driver link: key: 'ops 1' is not an issue key (OPS-123) or an issue id (10042)"
            " (nothing was sent)"
        ]
    unknown = cli(driver, *("no-such-alarm" if part == "GUID" else part for part in command))
    assert unknown.returncode == 1, unknown.stderr
    assert driver.rows() == []
