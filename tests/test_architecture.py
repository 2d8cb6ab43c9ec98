"""The layering holds at run time: pure modules pull in no I/O library, the CLI starts light."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pure_modules() -> list[str]:
    """The pure modules: the source modules of pyproject.toml's import-linter contract that keeps
    them from I/O libraries (the one list; this test holds the same rule at run time)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    [pure] = [c for c in contracts if "pure" in c["name"]]
    modules: list[str] = []
    for name in pure["source_modules"]:
        # a package stands for every module in it (importing the package alone loads none of them)
        folder = ROOT / name.replace(".", "/")
        if folder.is_dir():
            modules += [f"{name}.{m.name}" for m in pkgutil.iter_modules([str(folder)])]
        else:
            modules.append(name)
    return modules


PURE_MODULES = _pure_modules()
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


def _driver_modules() -> list[str]:
    """Every module of the driver package (the TUI entry points and the demo import Textual lazily)."""
    import driver

    return sorted(
        m.name for m in pkgutil.walk_packages(driver.__path__, "driver.") if m.name != "driver.__main__"
    )


def _drawn_tree(text: str) -> set[tuple[str, str]]:
    """(parent, child) pairs of a tree drawn with ├── and └── (a name's column gives its depth)."""
    edges: set[tuple[str, str]] = set()
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        found = re.search(r"(?:├── |└── )?([A-Z][A-Za-z]+)(?=[ (]|$)", line)
        if found is None or (not stack and found.group(1) != "DriverError"):
            continue
        if "──" not in line and stack:
            continue  # a continuation of the line above
        depth = found.start(1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            edges.add((stack[-1][1], found.group(1)))
        stack.append((depth, found.group(1)))
    return edges


def test_the_error_tree_drawn_in_errors_py_is_the_real_one() -> None:
    for name in _driver_modules():
        importlib.import_module(name)  # every subclass defined anywhere in the driver
    from driver import errors

    real: set[tuple[str, str]] = set()
    pending = [errors.DriverError]
    while pending:
        parent = pending.pop()
        for child in parent.__subclasses__():
            real.add((parent.__name__, child.__name__))
            pending.append(child)
    assert errors.__doc__ is not None
    assert _drawn_tree(errors.__doc__) == real


def test_every_driver_module_is_named_in_the_architecture_doc() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_/.]+)`", text))
    missing = []
    for name in _driver_modules():
        short = name.removeprefix("driver.")
        leaf = short.rsplit(".", 1)[-1]
        if short in named or leaf in named or f"{short}/" in named or name in named:
            continue
        missing.append(name)
    assert missing == [], f"modules docs/architecture.md does not name: {missing}"


def _layers() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    [layers] = [c for c in contracts if c["type"] == "layers"]
    return [part.strip() for layer in layers["layers"] for part in layer.split("|")]


def test_every_part_of_the_driver_has_its_place_in_the_layers() -> None:
    """A new folder or top-level module of driver/ must be placed in the layers contract, or the
    contract would say nothing about it (import-linter checks only the layers it is given)."""
    import driver

    layered = set(_layers())
    parts = {
        f"driver.{m.name}"
        for m in pkgutil.iter_modules(driver.__path__)
        if m.name != "__main__" and m.name != "contract"
    }
    parts |= {f"driver.contract.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "driver" / "contract")])}
    assert parts - layered == set()
    assert layered - parts == set()


def test_no_module_outgrows_what_a_reader_takes_in_at_once() -> None:
    """500 lines a module, 400 in the store (the part a second backend will mirror): past that a
    module holds more than one concept, and the next change should split it first."""
    too_long = []
    for path in sorted((ROOT / "driver").rglob("*.py")):
        limit = 400 if "store" in path.relative_to(ROOT).parts else 500
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {limit})")
    assert too_long == []
