"""Atlassian Document Format: just enough to accept, store, search and render rich text."""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 32


def _valid_node(node: Any, depth: int) -> bool:
    if depth > _MAX_DEPTH or not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return False
    if node["type"] == "text" and not isinstance(node.get("text"), str):
        return False
    content = node.get("content", [])
    return isinstance(content, list) and all(_valid_node(child, depth + 1) for child in content)


def is_document(value: Any) -> bool:
    """Whether a value is an ADF document (`{"type": "doc", "version": 1, "content": [...]}`)."""
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
        and _valid_node(value, 0)
    )


def _collect(node: dict[str, Any], out: list[str]) -> None:
    kind = node.get("type")
    if kind == "text":
        out.append(str(node.get("text", "")))
    elif kind == "hardBreak":
        out.append("\n")
    for child in node.get("content", []):
        _collect(child, out)


def to_text(document: dict[str, Any]) -> str:
    """The plain text of a document, one line per block."""
    blocks: list[str] = []
    for block in document.get("content", []):
        parts: list[str] = []
        _collect(block, parts)
        blocks.append("".join(parts))
    return "\n".join(blocks)


def from_text(text: str) -> dict[str, Any]:
    """A document with one paragraph per line, as Jira Cloud shows v2 text through v3."""
    content: list[dict[str, Any]] = []
    for line in text.split("\n"):
        paragraph: dict[str, Any] = {"type": "paragraph", "content": []}
        if line:
            paragraph["content"].append({"type": "text", "text": line})
        content.append(paragraph)
    return {"type": "doc", "version": 1, "content": content}
