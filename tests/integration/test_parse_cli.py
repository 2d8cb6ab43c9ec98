"""`jira-driver parse` as a real subprocess: every documented example prints exactly its body (or
its error with exit status 2), plus the notes on stderr and the stored-table fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    from driver.fields import FieldCatalog, FieldDef, FieldType
    from driver.store import S_CATALOG, S_TICKET_TABLE, Store
    from driver.ticket_table import add_row, seed_table

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
