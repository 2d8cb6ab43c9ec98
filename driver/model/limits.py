"""Jira's limits on field values (UTF-16 code units, as Java counts them: docs/wire-facts.md), and
the words a value cut to fit them ends with.
"""

from __future__ import annotations

MAX_SUMMARY = 255

MAX_TEXT = 32_767

MAX_LABEL = 255

MAX_TEXT_FIELD = 255
"""A single-line text custom field's limit (UTF-16 units), which bounds a guid_field stamp."""

TRUNCATION_MARKER = "… [truncated by jira-driver]"
