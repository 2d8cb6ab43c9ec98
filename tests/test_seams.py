"""The sending pipeline's seams are one-way: no module assigns to the fields of an object another
module built. A stage that learns something returns it (delivery's Outcome) or asks the object's
own method to change (Job.defer, RequestSetup.use_table), so who changes what can be read off the
code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("sending", "sync", "app", "model")


def _base(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _called_names(tree: ast.Module) -> set[str]:
    """The classes and functions this module calls by name: what it builds."""
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _own_names(function: ast.FunctionDef | ast.AsyncFunctionDef, built_here: set[str]) -> set[str]:
    """Names in a function that stand for objects its module built: bound from a call in the
    function, or parameters of a type the module itself constructs."""
    own = {"self", "cls"}
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        if isinstance(value, ast.Call) or (
            isinstance(value, ast.ListComp) and isinstance(value.elt, ast.Call)
        ):
            own |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(function):
        # the items of a list the function built: `for x in own` or `for i, x in enumerate(own)`
        if not isinstance(node, ast.For):
            continue
        source = node.iter
        if (
            isinstance(source, ast.Call)
            and isinstance(source.func, ast.Name)
            and source.func.id == "enumerate"
        ):
            source = source.args[0]
        if isinstance(source, ast.Name) and source.id in own:
            items = node.target.elts[-1:] if isinstance(node.target, ast.Tuple) else [node.target]
            own |= {item.id for item in items if isinstance(item, ast.Name)}
    arguments = function.args
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        if isinstance(arg.annotation, ast.Name) and arg.annotation.id in built_here:
            own.add(arg.arg)
        if isinstance(arg.annotation, ast.Constant) and arg.annotation.value in built_here:
            own.add(arg.arg)
    return own


def _foreign_assignments(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built_here = _called_names(tree)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        own = _own_names(function, built_here)
        for node in ast.walk(function):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if not isinstance(target, ast.Attribute):
                    continue
                base = _base(target)
                # self.x = ... is the object's own; self.part.x = ... reaches into a part
                if base in ("self", "cls") and isinstance(target.value, ast.Name):
                    continue
                if base in own and base not in ("self", "cls"):
                    continue
                found.append(f"{path.relative_to(root)}:{target.lineno}: {ast.unparse(target)} = ...")
    return found


def test_no_module_assigns_to_fields_of_an_object_another_module_built() -> None:
    found = [
        line
        for part in CHECKED
        for path in sorted((ROOT / "driver" / part).rglob("*.py"))
        for line in _foreign_assignments(path)
    ]
    assert found == []


def test_the_check_sees_a_foreign_assignment(tmp_path: Path) -> None:
    source = tmp_path / "stage.py"
    source.write_text(
        "def f(job):\n    job.attempts = 2\n\ndef g(self):\n    self.x = 1\n    self.part.y = 2\n"
        "\ndef h():\n    work = Work()\n    work.kind = 1\n",
        encoding="utf-8",
    )
    assert _foreign_assignments(source, tmp_path) == [
        "stage.py:2: job.attempts = ...",
        "stage.py:6: self.part.y = ...",
    ]
