"""The shell commands' pure parts: exit codes, the caret form, the documented JSON lines, tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from driver.cli import build_parser
from driver.cli.exit_codes import ExitCode
from driver.cli.log import LOG_COLUMNS, log_row_json, log_table
from driver.cli.output import format_table
from driver.cli.send import describe_problem
from driver.contract.schemas import CommandProblem, LogEntry, LogStatus, LogType


def test_the_exit_codes_are_the_documented_numbers() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("BAD_INPUT", 2),
        ("UNREACHABLE", 3),
        ("AUTH", 4),
        ("PERMISSION", 5),
        ("SCREEN", 6),
        ("INTERRUPTED", 130),
    ]


def test_describe_problem_puts_a_caret_under_the_position() -> None:
    text = describe_problem(CommandProblem(line=1, position=3, reason="bad", command="abcdef"))
    lines = text.splitlines()
    assert lines[1] == "  abcdef"
    assert lines[2] == "    ^"


def test_log_json_has_exactly_the_documented_keys() -> None:
    entry = LogEntry.model_validate(
        {
            "id": 1,
            "type": "Automatic",
            "action": "CREATE",
            "guid": "G",
            "time": "2026-11-24T10:00:00+00:00",
            "status": "Ok",
            "ticket_key": "OPS-1",
            "request": {"fields": {}},
        }
    )
    row = log_row_json(entry)
    assert list(row) == list(LOG_COLUMNS)
    assert row["time"] == "2026-11-24T10:00:00Z"


def test_format_table_aligns_columns() -> None:
    text = format_table(("A", "BB"), [("xxx", "y")])
    assert text.splitlines() == ["A    BB", "---  --", "xxx  y"]


def test_log_marks_a_cut_note_and_keeps_a_short_one_whole() -> None:
    # `log` cut long notes at 100 characters without a mark (issue 17): a cut one ends in "…".
    def row(id_: int, note: str) -> LogEntry:
        return LogEntry(
            id=id_,
            type=LogType.AUTOMATIC,
            action="UPDATE",
            guid="G",
            time=datetime(2026, 1, 1, tzinfo=UTC),
            status=LogStatus.OK,
            note=note,
        )

    long, short = "x" * 150, "y" * 100
    lines = log_table([row(1, long), row(2, short)]).splitlines()
    assert lines[2].endswith("x" * 99 + "…")
    assert lines[3].endswith("y" * 100)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--config", "a.ini", "check"], "a.ini"),
        (["check", "--config", "b.ini"], "b.ini"),
        (["--config", "a.ini", "check", "--config", "b.ini"], "b.ini"),
        (["check"], None),
    ],
)
def test_config_is_taken_before_or_after_the_command(argv: list[str], expected: str | None) -> None:
    config = build_parser().parse_args(argv).config
    assert (str(config) if config is not None else None) == expected


def test_each_auth_action_has_its_own_options_and_help() -> None:
    parser = build_parser()
    login = parser.parse_args(["auth", "login", "--paste", "--timeout", "5"])
    assert (login.action, login.paste, login.timeout) == ("login", True, 5.0)
    assert parser.parse_args(["auth", "status", "--json"]).json is True
    with pytest.raises(SystemExit):
        parser.parse_args(["auth", "logout", "--paste"])  # not an option of logout
