"""Get Eligible Ticket on CREATE (`[eligible] jql`): the search a CREATE makes before it creates, and
the edit that takes an open ticket it finds instead (pure, no I/O).

The template is JQL with `{Field}` placeholders (a field id or display name, any case), each filled
from the CREATE's own pair of that field, as typed:

    project = OPS AND statusCategory != Done AND "Element Name" ~ {Element Name}

A value goes in as one JQL string literal (driver.model.jql.jql_string); after `~` or `!~` as a
full-text phrase (lucene_phrase inside it), so an alarm's text can never add a clause, end the
query or act as a wildcard. The driver orders the hits by creation (`[eligible] pick`), which is
why the template may not have its own ORDER BY.

A ticket found is taken by one edit (`take_body`): the CREATE's own fields (not its project or
issue type, which an edit cannot change) and the GUID's stamp, together, so the ticket carries the
stamp exactly when the edit was applied: a lost answer is settled by the stamp search, as for a
create (docs/wire-facts.md §5). A ticket holding another alarm's stamp is never taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from driver.model.commands import COMMENT, Command, ResolvedCommand
from driver.model.fields import FieldCatalog
from driver.model.jql import ORDER_BY, jql_string, lucene_phrase
from driver.model.shaping import JSON
from driver.model.stamps import stamp_edit_body

__all__ = [
    "EligibleOnCreate",
    "EligibleTake",
    "create_values",
    "missing_placeholder",
    "take_body",
    "template_problem",
]

_PLACEHOLDER = re.compile(r"\{([^{}\n]{1,100})\}")
_TEXT_OPERATOR = re.compile(r"!?~\s*$")
UNEDITABLE = ("project", "issuetype")
"""Fields a create sets that an edit of an existing ticket cannot."""


@dataclass(frozen=True)
class EligibleOnCreate:
    """`[eligible]`: the JQL template (empty: off) and which open ticket is taken when several match."""

    jql: str = ""
    pick: Literal["newest", "oldest"] = "newest"

    @property
    def enabled(self) -> bool:
        """A CREATE searches before it creates."""
        return bool(self.jql.strip())

    @property
    def placeholders(self) -> list[str]:
        """The placeholder names, as written, in order."""
        return [m.group(1) for m in _PLACEHOLDER.finditer(self.jql)]

    def search_jql(self, values: Mapping[str, str]) -> str:
        """The filled template, ordered by creation as `pick` says; KeyError for a placeholder
        `values` (keyed by casefolded field name: create_values) lacks."""

        def fill(match: re.Match[str]) -> str:
            value = values[match.group(1).strip().casefold()]
            if _TEXT_OPERATOR.search(self.jql[: match.start()]):
                return jql_string(lucene_phrase(value))
            return jql_string(value)

        order = "DESC" if self.pick == "newest" else "ASC"
        return f"{_PLACEHOLDER.sub(fill, self.jql.strip())} ORDER BY created {order}"


@dataclass(frozen=True)
class EligibleTake:
    """What a CREATE's delivery needs to search and take: the JQL, and the edit for a ticket found."""

    jql: str
    body: dict[str, JSON]


def template_problem(template: str) -> str:
    """Why `[eligible] jql` cannot be used, or ''."""
    if not template.strip():
        return ""
    if ORDER_BY.search(template):
        return "without ORDER BY: the driver orders the hits by creation ([eligible] pick)"
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        return "a { or } that is not a placeholder such as {summary} (a field id or display name)"
    if not _PLACEHOLDER.search(template):
        return "at least one {Field} placeholder, or every CREATE would take the same ticket"
    return ""


def create_values(command: Command, catalog: FieldCatalog) -> dict[str, str]:
    """A CREATE's values as typed, keyed by the casefolded field name as written, its id and its
    display name (a field given twice: its last value); empty values are left out."""
    values: dict[str, str] = {}
    for pair in command.pairs:
        name = pair.field.strip()
        if name.casefold() == COMMENT or not pair.value.strip():
            continue
        keys = {name.casefold()}
        definition = catalog.resolve(name)
        if definition is not None:
            keys |= {definition.id.casefold(), definition.name.casefold()}
        for key in keys:
            values[key] = pair.value
    return values


def missing_placeholder(settings: EligibleOnCreate, values: Mapping[str, str]) -> str | None:
    """The first placeholder the CREATE gives no value for, as written, or None."""
    return next((name for name in settings.placeholders if name.strip().casefold() not in values), None)


def take_body(
    command: ResolvedCommand, guid_field: str, label_prefix: str, generation: int
) -> dict[str, JSON]:
    """The edit that takes a ticket found: the CREATE's fields an edit can set, and the stamp; labels
    the CREATE names are added beside the ticket's own (a person's labels stay)."""
    fields: dict[str, JSON] = {k: v for k, v in command.fields.items() if k not in UNEDITABLE}
    labels = fields.pop("labels", [])
    adds: list[JSON] = [{"add": label} for label in labels] if isinstance(labels, list) else []
    stamp = stamp_edit_body(command.guid, guid_field, label_prefix, generation)
    stamp_update = stamp.get("update")
    if isinstance(stamp_update, dict) and isinstance(stamp_update.get("labels"), list):
        adds.extend(stamp_update["labels"])
    stamp_fields = stamp.get("fields")
    if isinstance(stamp_fields, dict):
        fields.update(stamp_fields)
    body: dict[str, JSON] = {"fields": fields}
    if adds:
        body["update"] = {"labels": adds}
    return body
