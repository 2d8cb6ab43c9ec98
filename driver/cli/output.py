"""What the sub-commands share for writing: diagnostics on stderr, aligned tables on stdout."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def say(text: str) -> None:
    """One diagnostic line (or a few) on stderr; stdout is kept for the command's result."""
    print(text, file=sys.stderr)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, for people."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
