"""The README tells the truth: two Quick start commands that exist, and the CLI's real commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

from driver.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_quick_start_has_exactly_two_commands_that_exist() -> None:
    commands = _quick_start_commands()
    assert commands == ["./scripts/demo", "./scripts/test"]
    for command in commands:
        script = REPO / command
        assert script.is_file(), command
        assert os.access(script, os.X_OK), command


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^scripts/test\b", ci, re.MULTILINE)


def test_the_command_table_lists_exactly_the_cli_commands() -> None:
    documented = set(re.findall(r"^\| `jira-driver (\w+)", README, re.MULTILINE))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert documented == set(sub.choices or {})


def test_every_wire_fact_cited_in_the_code_is_in_the_repository() -> None:
    # "docs/wire-facts.md §N" in a module or a doc names a section the repository holds
    root = Path(__file__).resolve().parents[1]
    sections = set(
        re.findall(r"^## (\d+)\.", (root / "docs" / "wire-facts.md").read_text(encoding="utf-8"), re.M)
    )
    cited: set[str] = set()
    for folder in ("driver", "jira_sim", "ui", "tests", "docs"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".md") and path.name != "wire-facts.md":
                text = path.read_text(encoding="utf-8")
                assert "WIRE-" + "FACTS" not in text, f"{path} cites a file outside the repository"
                for group in re.findall(r"wire-facts\.md ((?:§\d+(?:, )?)+)", text):
                    cited.update(re.findall(r"§(\d+)", group))
    assert cited, "no citation found: the pattern is wrong"
    assert cited <= sections, f"sections cited but not in docs/wire-facts.md: {sorted(cited - sections)}"


def test_the_metrics_docs_name_only_metrics_the_driver_exports() -> None:
    # the alert rules and the Grafana dashboard in docs/ query what driver/app/metrics.py defines
    source = (REPO / "driver" / "app" / "metrics.py").read_text(encoding="utf-8")
    defined = set(re.findall(r'"(jira_driver_[a-z_]+)"', source))
    suffixes = ("_total", "_bucket", "_count", "_sum", "_info")
    queried = set(re.findall(r"jira_driver_[a-z_]+", (REPO / "docs" / "grafana-dashboard.json").read_text()))
    queried |= set(re.findall(r"jira_driver_[a-z_]+", (REPO / "docs" / "operations.md").read_text()))
    assert queried
    for name in queried:
        base = next(
            (name[: -len(s)] for s in suffixes if name.endswith(s) and name[: -len(s)] in defined), name
        )
        assert base in defined, name


def test_the_api_reference_is_written_from_the_openapi_document() -> None:
    """docs/api.md is what driver.api.reference writes from the OpenAPI document the driver serves:
    a route, a field or a docstring changed without writing it again fails here."""
    from driver.api import openapi_document
    from driver.api.reference import render

    written = (REPO / "docs" / "api.md").read_text()
    assert written == render(openapi_document()), (
        "docs/api.md is out of date: .venv/bin/python -m driver.api.reference > docs/api.md"
    )
    for path in openapi_document()["paths"]:
        assert f" {path}`" in written, path


SYSTEMD_UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".timer",
    ".target",
    ".path",
    ".mount",
    ".slice",
    ".scope",
    ".device",
    ".swap",
    ".automount",
)


def test_every_systemd_unit_the_docs_name_has_a_name_systemd_takes() -> None:
    # docs/operations.md named its unit jira-driver.service.process (an operator trial: systemd
    # refuses a unit whose name does not end in its type)
    named: list[tuple[str, str]] = []
    for path in [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "scripts").iterdir()]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            named += [(path.name, unit) for unit in re.findall(r"/etc/systemd/system/(\S+)", text)]
    assert named, "no unit named: the pattern is wrong"
    for where, unit in named:
        assert unit.endswith(SYSTEMD_UNIT_SUFFIXES), f"{where}: {unit}"
    assert ("operations.md", "jira-driver.service") in named


def _check_exit_codes(text: str) -> dict[int, str]:
    """The `check` exit codes a doc states after "Exit codes", as number: words."""
    sentence = text.split("Exit codes", 1)[1].split(".\n", 1)[0]
    sentence = re.sub(r"\([^)]*\)", "", " ".join(sentence.split()))  # a link or an aside is no code
    return {int(n): words.strip() for n, words in re.findall(r"\b(\d)\b ([^,]+)", sentence)}


def test_the_check_exit_codes_in_operations_agree_with_the_code() -> None:
    # docs/operations.md said "0 connected, 1 Jira refused, 3 Jira unreachable"; a wrong password
    # exits 4 (an operator trial)
    from driver.cli.check import _EXIT_BY_KIND
    from driver.cli.exit_codes import ExitCode

    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("`check` asks Jira who you are", 1)[1]
    stated = _check_exit_codes(section)
    assert set(stated) == {ExitCode.OK, ExitCode.FAILED, *_EXIT_BY_KIND.values()}, stated
    assert "credentials" in stated[ExitCode.AUTH]
    assert "permission" in stated[ExitCode.PERMISSION]
    assert "screen" in stated[ExitCode.SCREEN]
    assert "unreachable" in stated[ExitCode.UNREACHABLE]
    assert "configuration" in stated[ExitCode.BAD_INPUT]
