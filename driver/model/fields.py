"""The field catalog: every Jira field the driver can name, with its id, display name and type.

A field is known by its Jira id (`summary`, `customfield_10010`) and by its display name
(`Summary`, `Alarm GUID`). The type decides how a text value from the Ticket Creation Table or an
Advanced command becomes the JSON Jira wants (see driver.model.shaping).

The system catalog covers the fixed fields offered by Add Field. Custom fields join it either one by
one (Add Field with a chosen type) or in bulk from Jira's field list (`GET /rest/api/2/field`), whose
custom schema types map onto our types; anything we cannot shape from text becomes raw JSON.

Lookups accept an id or a display name, case-insensitive, surrounding spaces ignored. An id always
wins over a name; when two fields share a display name (Jira allows it) the first one in catalog
order wins: system fields first, then custom fields in the order they were added.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "CUSTOM_SCHEMA_TYPES",
    "CUSTOM_TYPES",
    "SYSTEM_FIELDS",
    "FieldCatalog",
    "FieldDef",
    "FieldType",
    "type_for_jira_schema",
]


class FieldType(StrEnum):
    """How a field's text value is shaped into JSON; the values are what the table shows."""

    STRING = "string"
    """A single line of text, sent as a JSON string in every API version."""
    TEXT = "text"
    """Multi-line text: a JSON string in v2/latest, Atlassian Document Format in v3."""
    NUMBER = "number"
    OPTION = "option"
    MULTI_OPTION = "multi-option"
    USER = "user"
    DATE = "date"
    DATETIME = "datetime"
    LABELS = "labels"
    JSON = "json"
    """Raw JSON, passed through once it parses."""
    PROJECT = "project"
    ISSUETYPE = "issuetype"
    PRIORITY = "priority"
    COMPONENTS = "components"
    VERSIONS = "versions"
    PARENT = "parent"


CUSTOM_TYPES: tuple[FieldType, ...] = (
    FieldType.STRING,
    FieldType.TEXT,
    FieldType.NUMBER,
    FieldType.OPTION,
    FieldType.MULTI_OPTION,
    FieldType.USER,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.LABELS,
    FieldType.JSON,
)
"""The types a custom field can be given in the Add Field dialog."""


@dataclass(frozen=True)
class FieldDef:
    """One field: its Jira id, its display name and the type that shapes its values."""

    id: str
    name: str
    type: FieldType

    @property
    def custom(self) -> bool:
        """True for Jira custom fields (customfield_NNNNN)."""
        return self.id.startswith("customfield_")


SYSTEM_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("project", "Project", FieldType.PROJECT),
    FieldDef("issuetype", "Issue Type", FieldType.ISSUETYPE),
    FieldDef("summary", "Summary", FieldType.STRING),
    FieldDef("description", "Description", FieldType.TEXT),
    FieldDef("priority", "Priority", FieldType.PRIORITY),
    FieldDef("labels", "Labels", FieldType.LABELS),
    FieldDef("components", "Components", FieldType.COMPONENTS),
    FieldDef("assignee", "Assignee", FieldType.USER),
    FieldDef("reporter", "Reporter", FieldType.USER),
    FieldDef("duedate", "Due Date", FieldType.DATE),
    FieldDef("environment", "Environment", FieldType.TEXT),
    FieldDef("fixVersions", "Fix Version/s", FieldType.VERSIONS),
    FieldDef("versions", "Affects Version/s", FieldType.VERSIONS),
    FieldDef("parent", "Parent", FieldType.PARENT),
)
"""The fixed fields offered by Add Field, in the order the drop-down shows them."""

_PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"

CUSTOM_SCHEMA_TYPES: Mapping[str, FieldType] = {
    _PLUGIN + "textfield": FieldType.STRING,
    _PLUGIN + "url": FieldType.STRING,
    # Multi-line custom fields take ADF in v3 just like description (docs/wire-facts.md §1).
    _PLUGIN + "textarea": FieldType.TEXT,
    _PLUGIN + "float": FieldType.NUMBER,
    _PLUGIN + "select": FieldType.OPTION,
    _PLUGIN + "radiobuttons": FieldType.OPTION,
    _PLUGIN + "multiselect": FieldType.MULTI_OPTION,
    _PLUGIN + "multicheckboxes": FieldType.MULTI_OPTION,
    _PLUGIN + "userpicker": FieldType.USER,
    _PLUGIN + "datepicker": FieldType.DATE,
    _PLUGIN + "datetime": FieldType.DATETIME,
    _PLUGIN + "labels": FieldType.LABELS,
}
"""Jira custom field schema types (`schema.custom`) we can shape from text; others are raw JSON."""


def type_for_jira_schema(schema: Mapping[str, Any] | None) -> FieldType:
    """Our type for a custom field's Jira schema; raw JSON for anything we cannot shape from text."""
    if not isinstance(schema, Mapping):
        return FieldType.JSON
    custom = schema.get("custom")
    if isinstance(custom, str):
        return CUSTOM_SCHEMA_TYPES.get(custom, FieldType.JSON)
    return FieldType.JSON


def _key(text: str) -> str:
    return text.strip().casefold()


class FieldCatalog:
    """An immutable, ordered set of fields; every 'with_' method returns a new catalog."""

    __slots__ = ("_by_id", "_by_name", "_fields")

    def __init__(self, fields: Iterable[FieldDef] = ()) -> None:
        ordered: dict[str, FieldDef] = {}
        for field in fields:
            # A later definition of the same id replaces the earlier one in place.
            ordered[field.id] = field
        self._fields: tuple[FieldDef, ...] = tuple(ordered.values())
        self._by_id: dict[str, FieldDef] = {_key(f.id): f for f in reversed(self._fields)}
        self._by_name: dict[str, FieldDef] = {_key(f.name): f for f in reversed(self._fields)}

    @classmethod
    def system(cls) -> FieldCatalog:
        """The catalog of the fixed system fields only."""
        return cls(SYSTEM_FIELDS)

    def resolve(self, name_or_id: str) -> FieldDef | None:
        """The field with this id or display name (case-insensitive, spaces around ignored)."""
        key = _key(name_or_id)
        return self._by_id.get(key) or self._by_name.get(key)

    def get(self, field_id: str) -> FieldDef | None:
        """The field with exactly this id, or None."""
        for field in self._fields:
            if field.id == field_id:
                return field
        return None

    def with_field(self, field: FieldDef) -> FieldCatalog:
        """A catalog with this field added, or replacing the field with the same id."""
        return FieldCatalog((*self._fields, field))

    def with_jira_fields(self, items: Iterable[Mapping[str, Any]]) -> FieldCatalog:
        """A catalog extended with Jira's field list (`GET /rest/api/2/field` items).

        Custom fields are added (or refreshed) with the type their schema maps to. For system
        fields we already know, Jira's display name replaces ours (a Jira may be localised);
        other system fields are left out: their values are not plain text.
        """
        fields = list(self._fields)
        index = {f.id: i for i, f in enumerate(fields)}
        for item in items:
            if not isinstance(item, Mapping):
                continue
            field_id = item.get("id")
            name = item.get("name")
            if not isinstance(field_id, str) or not field_id.strip():
                continue
            field_id = field_id.strip()
            name = name.strip() if isinstance(name, str) and name.strip() else field_id
            if field_id in index:
                old = fields[index[field_id]]
                fields[index[field_id]] = FieldDef(field_id, name, old.type)
            elif item.get("custom") is True or field_id.startswith("customfield_"):
                schema = item.get("schema")
                field = FieldDef(field_id, name, type_for_jira_schema(schema))
                index[field_id] = len(fields)
                fields.append(field)
        return FieldCatalog(fields)

    def custom_types(self) -> tuple[FieldType, ...]:
        """The types the Add Field dialog offers for a custom field."""
        return CUSTOM_TYPES

    def system_fields(self) -> tuple[FieldDef, ...]:
        """The fixed fields the Add Field drop-down offers, as named in this catalog."""
        return tuple(f for f in self._fields if not f.custom and f.id in _SYSTEM_IDS)

    def to_list(self) -> list[dict[str, str]]:
        """The catalog as JSON-ready rows `{id, name, type}` (for the store and the HTTP API)."""
        return [{"id": f.id, "name": f.name, "type": f.type.value} for f in self._fields]

    @classmethod
    def from_list(cls, rows: Iterable[Mapping[str, str]]) -> FieldCatalog:
        """The inverse of to_list; raises ValueError on an unknown type."""
        return cls(FieldDef(r["id"], r["name"], FieldType(r["type"])) for r in rows)

    def __iter__(self) -> Iterator[FieldDef]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name_or_id: object) -> bool:
        return isinstance(name_or_id, str) and self.resolve(name_or_id) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldCatalog) and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"FieldCatalog({len(self._fields)} fields)"


_SYSTEM_IDS = frozenset(f.id for f in SYSTEM_FIELDS)
