"""JQL as the driver writes it: string literals and full-text phrases quoted so that no value can
change a query's meaning (docs/wire-facts.md §5), and the Get Eligible Ticket search's query built
from its filters. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_LUCENE_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\')


def jql_string(text: str) -> str:
    """A JQL string literal: double quotes, with `\\` and `"` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_phrase(text: str) -> str:
    """A full-text phrase query for text: in double quotes, Lucene's special characters escaped.

    Unescaped, `?` and `*` are wildcards and `"`, `\\`, `(`... syntax (docs/wire-facts.md has no text-search
    section; Jira's JQL text-search help lists `+ - & | ! ( ) { } [ ] ^ ~ * ? \\ :` as special).
    """
    return '"' + "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text) + '"'


StatusCategory = Literal["new", "indeterminate", "done"]
ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
MAX_RAW_JQL = 2_000
"""Characters of a raw JQL a person types into Get Eligible Ticket."""


@dataclass(frozen=True)
class EligibleSearch:
    """The filters of Get Eligible Ticket; each one given narrows the search (all ANDed).

    category: the status category key; not_done: statusCategory != done (an open ticket); text:
    a phrase anywhere in the issue's text fields; labels: every one of them; assignee: Jira's user
    (account id on Cloud, user name on Data Center); jql: a person's own JQL, ANDed in parentheses
    (alone, it may carry its own ORDER BY).
    """

    project: str | None = None
    category: StatusCategory | None = None
    not_done: bool = False
    text: str | None = None
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    jql: str | None = None


def eligible_jql(search: EligibleSearch) -> str:
    """The JQL of a Get Eligible Ticket search, newest update first.

    Every value is a JQL string literal (a phrase for `text`), so no value can add a clause or end
    the query; ValueError when a raw JQL with its own ORDER BY is combined with other filters (it
    would end up inside the parentheses).
    """
    clauses: list[str] = []
    if search.project:
        clauses.append(f"project = {jql_string(search.project)}")
    if search.category:
        clauses.append(f"statusCategory = {jql_string(search.category)}")
    if search.not_done:
        clauses.append('statusCategory != "done"')
    if search.text:
        clauses.append(f"text ~ {jql_string(lucene_phrase(search.text))}")
    clauses.extend(f"labels = {jql_string(label)}" for label in search.labels)
    if search.assignee:
        clauses.append(f"assignee = {jql_string(search.assignee)}")
    raw = (search.jql or "").strip()
    if raw and not clauses:
        return raw if ORDER_BY.search(raw) else f"{raw} ORDER BY updated DESC"
    if raw:
        if ORDER_BY.search(raw):
            raise ValueError("a JQL with its own ORDER BY cannot be combined with other filters")
        clauses.insert(0, f"({raw})")
    return " AND ".join(clauses) + " ORDER BY updated DESC" if clauses else "ORDER BY updated DESC"
