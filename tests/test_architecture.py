"""The layering holds at run time: pure modules pull in no I/O library, the CLI starts light."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_MODULES = [
    "driver.clock",
    "driver.commands",
    "driver.fields",
    "driver.shaping",
    "driver.ticket_table",
    "driver.ticket_requests",
    "driver.limiter",
    "driver.stats",
    "driver.schemas",
    "driver.exactly_once",
    "driver.dry_run",
    "driver.alarm_state",
    "driver.ticket_view",
    "driver.lifecycle",
    "driver.transitions",
    "driver.dispatch",
    "driver.jira_sync",
]
IO_PACKAGES = ["textual", "httpx", "sqlite_utils", "fastapi", "uvicorn"]


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io_library(module: str) -> None:
    loaded = _loaded_after_import(module)
    assert not {pkg for pkg in IO_PACKAGES if pkg in loaded}


def test_the_cli_parser_starts_without_the_tui_or_the_server_stack() -> None:
    loaded = _loaded_after_import("driver.cli")
    assert not {pkg for pkg in ["textual", "fastapi", "uvicorn", "sqlite_utils"] if pkg in loaded}
