"""Every example in docs/advanced-commands.md is a test: its command gives exactly the documented
dry-run JSON, or exactly the documented error.

The doc marks examples with fenced-block info strings: ```` ```command ```` holds one command, and
the next fenced block is ```` ```json output ```` (stdout of `jira-driver parse`) or
```` ```text error ```` (its stderr, exit 2). An ```` ```ini config ```` block before a command is
that example's configuration. Other fenced blocks are prose and ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from driver.cli.parse import caret_message, dry_run, dry_run_json
from driver.config import Config
from driver.config_file import load_config
from driver.errors import CommandError
from driver.model.commands import parse, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "advanced-commands.md"
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)\n?^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """One documented command and what it must produce."""

    line: int
    command: str
    kind: str  # "output" or "error"
    expected: str
    config: str | None


def load_examples(doc: Path = DOC) -> list[Example]:
    """The examples of the doc, in order; raises ValueError on a malformed example."""
    text = doc.read_text(encoding="utf-8")
    blocks = [
        (text.count("\n", 0, m.start()) + 1, (m.group("info").split() or [""])[-1], m.group("body"))
        for m in _FENCE.finditer(text)
    ]
    examples: list[Example] = []
    config: str | None = None
    index = 0
    while index < len(blocks):
        line, kind, body = blocks[index]
        index += 1
        if kind == "config":
            if config is not None:
                raise ValueError(f"line {line}: two config blocks before one command")
            config = body
        elif kind == "command":
            if "\n" in body:
                raise ValueError(f"line {line}: a command block holds exactly one line")
            if index >= len(blocks) or blocks[index][1] not in {"output", "error"}:
                raise ValueError(f"line {line}: a command must be followed by an output or error block")
            examples.append(Example(line, body, blocks[index][1], blocks[index][2], config))
            config = None
            index += 1
        elif kind in {"output", "error"}:
            raise ValueError(f"line {line}: an {kind} block without a command before it")
    if config is not None:
        raise ValueError("a config block at the end with no command after it")
    return examples


EXAMPLES = load_examples()


def example_config(example: Example, tmp_path: Path) -> Config:
    """The example's configuration, with a database path that does not exist (so the seed is used)."""
    config = Config()
    if example.config is not None:
        ini = tmp_path / "example.ini"
        ini.write_text(example.config + "\n", encoding="utf-8")
        config = load_config(ini, environ={})
    driver = config.driver.model_copy(update={"database": str(tmp_path / "absent.db")})
    return config.model_copy(update={"driver": driver})


def test_the_doc_has_examples_of_both_kinds() -> None:
    kinds = [e.kind for e in EXAMPLES]
    assert kinds.count("output") >= 7
    assert kinds.count("error") >= 8
    assert any(e.config for e in EXAMPLES)


def test_extraction_refuses_malformed_examples(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```command\nA|CREATE|\n```\n\nprose\n", encoding="utf-8")
    with pytest.raises(ValueError, match="followed by an output or error"):
        load_examples(doc)
    doc.write_text("```json output\n{}\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="without a command"):
        load_examples(doc)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_doc_example(example: Example, tmp_path: Path) -> None:
    config = example_config(example, tmp_path)
    if example.kind == "output":
        result = dry_run(example.command, config)
        assert dry_run_json(result.dry_run) == example.expected
        json.loads(example.expected)
        command = parse(example.command)
        assert parse(render(command)) == command
    else:
        with pytest.raises(CommandError) as caught:
            dry_run(example.command, config)
        assert caret_message(example.command, caught.value) == example.expected + "\n"
