"""`jira-driver parse` as a real subprocess: every documented example prints exactly its body (or
its error with exit status 2), the notes on stderr, the stored-table fallback, the same dry run as
POST /api/parse, and one line (never a traceback) for every other way it can fail."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.driver import DriverProcess
from tests.unit.test_docs_examples import EXAMPLES, Example

REPO = Path(__file__).resolve().parents[2]


def run_parse(command: str, cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    env["PYTHONPATH"] = str(REPO)
    args = [sys.executable, "-m", "driver", "parse"]
    if config is not None:
        args += ["--config", str(config)]
    return subprocess.run(
        [*args, command], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_documented_example(example: Example, tmp_path: Path) -> None:
    config = None
    if example.config is not None:
        config = tmp_path / "example.ini"
        config.write_text(example.config + "\n", encoding="utf-8")
    # cwd is empty: no ./jira-driver.ini and no ./jira-driver.db, so the seeded table is used.
    result = run_parse(example.command, tmp_path, config)
    if example.kind == "output":
        assert result.returncode == 0, result.stderr
        assert result.stdout == example.expected + "\n"
        json.loads(result.stdout)
    else:
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr == example.expected + "\n"


def test_notes_go_to_stderr(tmp_path: Path) -> None:
    result = run_parse("A|CREATE|summary;" + "s" * 300 + "|labels;a b|", tmp_path)
    assert result.returncode == 0
    body = json.loads(result.stdout)["body"]
    assert len(body["fields"]["summary"]) == 255
    assert result.stderr.splitlines() == [
        "note: summary cut from 300 to 255 characters",
        "note: label 'a b' changed to 'a_b'",
    ]


def test_database_without_ticket_state_falls_back_to_the_seed(tmp_path: Path) -> None:
    (tmp_path / "jira-driver.db").write_bytes(b"")
    result = run_parse("A|CREATE|", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["body"]["fields"]["summary"] == "Alarm from jira-driver"


def test_uses_the_stored_table_and_catalog(tmp_path: Path) -> None:
    from driver.model.creation_table import add_row, seed_table
    from driver.model.fields import FieldCatalog, FieldDef, FieldType
    from driver.store import S_CATALOG, S_TICKET_TABLE, Store

    severity = FieldDef("customfield_10010", "Alarm Severity", FieldType.OPTION)
    catalog = FieldCatalog.system().with_field(severity)
    table = add_row(seed_table("NET", "Incident"), severity, "Minor")
    store = Store(tmp_path / "jira-driver.db")
    try:
        store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
        store.put_setting(S_CATALOG, catalog.to_list())
    finally:
        store.close()
    result = run_parse("A|CREATE|alarm severity;Critical|", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["body"]["fields"] == {
        "project": {"key": "NET"},
        "issuetype": {"name": "Incident"},
        "summary": "Alarm from jira-driver",
        "customfield_10010": {"value": "Critical"},
        "labels": ["alarm-A"],
    }


def test_parse_and_the_api_give_the_same_dry_run(driver: DriverProcess) -> None:
    # one function builds both; a comment-only UPDATE sends no edit, so its method/path/body are null
    commands = ["P|UPDATE|comment;only a comment|", "P|UPDATE|summary;x|comment;hi|", "P|CREATE|summary;y|"]
    with driver.client() as client:
        for command in commands:
            shown = run_parse(command, driver.config_path.parent, driver.config_path)
            assert shown.returncode == 0, shown.stderr
            answer = client.post("/api/parse", json={"command": command})
            assert answer.status_code == 200, answer.text
            assert answer.json() == json.loads(shown.stdout), command
    only_comment = json.loads(run_parse(commands[0], driver.config_path.parent, driver.config_path).stdout)
    assert (only_comment["method"], only_comment["path"], only_comment["body"]) == (None, None, None)
    assert [c["method"] for c in only_comment["comments"]] == ["POST"]


def _store_ticket_model(db: Path, table: dict[str, Any], catalog: list[dict[str, str]]) -> None:
    from driver.store import S_CATALOG, S_TICKET_TABLE, Store

    store = Store(db)
    try:
        store.put_setting(S_TICKET_TABLE, table)
        store.put_setting(S_CATALOG, catalog)
    finally:
        store.close()


def _with_count_field(value: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A stored seed table plus a Number field row holding `value`, written as a driver would."""
    from driver.model.creation_table import seed_table
    from driver.model.fields import FieldCatalog, FieldDef, FieldType

    count = FieldDef("customfield_10020", "Alarm Count", FieldType.NUMBER)
    table = seed_table("OPS", "Task").model_dump(mode="json")
    row = {"field": count.id, "name": count.name, "type": "number", "value": value, "mode": "Included"}
    table["rows"].append(row)
    return table, FieldCatalog.system().with_field(count).to_list()


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [expected]


def test_a_stored_table_value_that_no_longer_shapes_is_one_line(tmp_path: Path) -> None:
    table, catalog = _with_count_field("many")
    _store_ticket_model(tmp_path / "jira-driver.db", table, catalog)
    result = run_parse("A|CREATE|", tmp_path)
    assert_one_line_error(
        result,
        "jira-driver parse: the Ticket Creation Table is invalid: "
        "field 'customfield_10020': cannot use 'many', expected a number such as 42 or 3.5",
    )


def test_a_command_value_that_does_not_shape_for_its_field_type_gets_the_caret(tmp_path: Path) -> None:
    table, catalog = _with_count_field("3")
    _store_ticket_model(tmp_path / "jira-driver.db", table, catalog)
    assert run_parse("A|CREATE|alarm count;7|", tmp_path).returncode == 0
    result = run_parse("A|CREATE|alarm count;seven|", tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "jira-driver: invalid command: position 22: field 'customfield_10020': cannot use 'seven', "
        "expected a number such as 42 or 3.5",
        "  A|CREATE|alarm count;seven|",
        "                       ^",
    ]


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "jira-driver.db").write_bytes(b"not a database, just text\n" * 200)
    result = run_parse("A|CREATE|", tmp_path)
    assert_one_line_error(
        result,
        "jira-driver parse: database jira-driver.db: not a usable SQLite database (file is not a database);"
        " stop the driver and restore it from a backup (docs/operations.md, 'State, backups and upgrades'),"
        " or move it away and start once with `jira-driver run --init` to begin an empty one",
    )


def test_a_stored_table_this_version_cannot_read_is_one_line(tmp_path: Path) -> None:
    _store_ticket_model(tmp_path / "jira-driver.db", {"rows": "not a list"}, [])
    result = run_parse("A|CREATE|", tmp_path)
    assert result.stderr.startswith(
        "jira-driver parse: the Ticket Creation Table stored in jira-driver.db cannot be read: "
    )
    assert_one_line_error(result, result.stderr.rstrip("\n"))


def test_a_locked_database_is_one_line_after_sqlites_busy_wait(tmp_path: Path) -> None:
    db = tmp_path / "jira-driver.db"
    _store_ticket_model(db, *_with_count_field("3"))
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        # exclusive locking mode keeps even WAL readers out until this connection lets go
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE settings SET value = value")
        result = run_parse("A|CREATE|", tmp_path)
    finally:
        holder.close()
    assert_one_line_error(
        result, "jira-driver parse: cannot read the database jira-driver.db: database is locked"
    )
    assert run_parse("A|CREATE|", tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "cannot be read: No such file or directory"),
        (lambda p: p.mkdir(), "cannot be read: Is a directory"),
        (lambda p: p.write_bytes(b"[jira]\nurl = http://j\xe9ra\n"), "not UTF-8 text"),
        (lambda p: p.write_text("[jira\n", encoding="utf-8"), "not a valid INI file"),
    ],
    ids=["missing", "directory", "not-utf8", "not-ini"],
)
def test_a_bad_config_path_is_one_line(tmp_path: Path, make: Callable[[Path], object], reason: str) -> None:
    config = tmp_path / "given.ini"
    make(config)
    result = run_parse("A|CREATE|", tmp_path, config)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"jira-driver: configuration error: [file] {config}: {reason}")


def test_a_reader_that_went_away_is_no_traceback(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the child starts: its first write meets a closed pipe, always
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_DRIVER_")}
    env["PYTHONPATH"] = str(REPO)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "driver", "parse", "A|CREATE|"],
            cwd=tmp_path,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (1, "")


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from driver import cli
    from driver.cli import parse

    def interrupted(args: object, config: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(parse, "main", interrupted)
    assert cli.main(["parse", "A|CREATE|"]) == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "jira-driver: interrupted\n")
