"""The field catalog: system fields, custom fields by hand and from Jira's field list, lookups."""

from __future__ import annotations

import pytest

from driver.model.fields import (
    CUSTOM_TYPES,
    SYSTEM_FIELDS,
    FieldCatalog,
    FieldDef,
    FieldType,
    type_for_jira_schema,
)

PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"

JIRA_FIELDS = [
    {
        "id": "summary",
        "key": "summary",
        "name": "Résumé",
        "custom": False,
        "schema": {"type": "string", "system": "summary"},
    },
    {
        "id": "resolution",
        "key": "resolution",
        "name": "Resolution",
        "custom": False,
        "schema": {"type": "resolution"},
    },
    {
        "id": "customfield_10010",
        "key": "customfield_10010",
        "name": "Alarm Severity",
        "custom": True,
        "schema": {"type": "option", "custom": PLUGIN + "select", "customId": 10010},
    },
    {
        "id": "customfield_10011",
        "name": "Alarm GUID",
        "custom": True,
        "schema": {"type": "string", "custom": PLUGIN + "textfield", "customId": 10011},
    },
    {
        "id": "customfield_10012",
        "name": "Team",
        "custom": True,
        "schema": {"type": "any", "custom": "com.atlassian.teams:rm-teams-custom-field-team"},
    },
    {
        "id": "customfield_10013",
        "name": "Cascade",
        "custom": True,
        "schema": {"custom": PLUGIN + "cascadingselect"},
    },
    {"id": "customfield_10014", "name": "Notes", "custom": True},
    {"name": "no id"},
    "not a mapping",
]


def test_system_catalog_has_the_fixed_fields() -> None:
    catalog = FieldCatalog.system()
    ids = [f.id for f in catalog]
    assert ids == [f.id for f in SYSTEM_FIELDS]
    assert set(ids) == {
        "summary", "description", "issuetype", "project", "priority", "labels", "components",
        "assignee", "reporter", "duedate", "environment", "fixVersions", "versions", "parent",
    }  # fmt: skip
    assert catalog.system_fields() == SYSTEM_FIELDS
    assert catalog.custom_types() == CUSTOM_TYPES


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("summary", "summary"),
        ("  SUMMARY ", "summary"),
        ("Issue Type", "issuetype"),
        ("issue type", "issuetype"),
        ("fix version/s", "fixVersions"),
        ("FIXVERSIONS", "fixVersions"),
        ("Due Date", "duedate"),
    ],
)
def test_resolve_by_id_or_name(query: str, expected: str) -> None:
    found = FieldCatalog.system().resolve(query)
    assert found is not None
    assert found.id == expected


def test_resolve_unknown() -> None:
    assert FieldCatalog.system().resolve("nope") is None
    assert FieldCatalog.system().resolve("") is None
    assert "nope" not in FieldCatalog.system()
    assert "summary" in FieldCatalog.system()


def test_with_field_is_immutable_and_replaces_by_id() -> None:
    base = FieldCatalog.system()
    one = base.with_field(FieldDef("customfield_1", "Site", FieldType.STRING))
    two = one.with_field(FieldDef("customfield_1", "Site name", FieldType.OPTION))
    assert len(base) == len(SYSTEM_FIELDS)
    assert len(one) == len(two) == len(SYSTEM_FIELDS) + 1
    assert two.resolve("site name") == FieldDef("customfield_1", "Site name", FieldType.OPTION)
    assert two.resolve("site") is None
    assert FieldDef("customfield_1", "Site", FieldType.STRING).custom


def test_id_wins_over_name_and_first_name_wins() -> None:
    catalog = FieldCatalog.system().with_field(FieldDef("customfield_1", "labels", FieldType.STRING))
    found = catalog.resolve("labels")
    assert found is not None
    assert found.id == "labels"
    catalog = catalog.with_field(FieldDef("customfield_2", "Site", FieldType.STRING))
    catalog = catalog.with_field(FieldDef("customfield_3", "site", FieldType.NUMBER))
    found = catalog.resolve("SITE")
    assert found is not None
    assert found.id == "customfield_2"


def test_with_jira_fields() -> None:
    catalog = FieldCatalog.system().with_jira_fields(JIRA_FIELDS)  # type: ignore[arg-type]
    assert catalog.get("summary") == FieldDef("summary", "Résumé", FieldType.STRING)
    assert catalog.get("resolution") is None
    assert catalog.resolve("alarm severity") == FieldDef(
        "customfield_10010", "Alarm Severity", FieldType.OPTION
    )
    assert catalog.resolve("Alarm GUID") == FieldDef("customfield_10011", "Alarm GUID", FieldType.STRING)
    assert catalog.resolve("team") == FieldDef("customfield_10012", "Team", FieldType.JSON)
    assert catalog.resolve("cascade") == FieldDef("customfield_10013", "Cascade", FieldType.JSON)
    assert catalog.resolve("notes") == FieldDef("customfield_10014", "Notes", FieldType.JSON)
    assert len(catalog) == len(SYSTEM_FIELDS) + 5
    # Refreshing from the same list changes nothing.
    assert catalog.with_jira_fields(JIRA_FIELDS) == catalog  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        ("select", FieldType.OPTION),
        ("multiselect", FieldType.MULTI_OPTION),
        ("textfield", FieldType.STRING),
        ("textarea", FieldType.TEXT),
        ("float", FieldType.NUMBER),
        ("userpicker", FieldType.USER),
        ("datepicker", FieldType.DATE),
        ("datetime", FieldType.DATETIME),
        ("labels", FieldType.LABELS),
        ("multiuserpicker", FieldType.JSON),
    ],
)
def test_schema_mapping(custom: str, expected: FieldType) -> None:
    assert type_for_jira_schema({"type": "x", "custom": PLUGIN + custom}) == expected


def test_schema_mapping_of_nothing() -> None:
    assert type_for_jira_schema(None) == FieldType.JSON
    assert type_for_jira_schema({"type": "string"}) == FieldType.JSON


def test_to_list_round_trip() -> None:
    catalog = FieldCatalog.system().with_jira_fields(JIRA_FIELDS)  # type: ignore[arg-type]
    rows = catalog.to_list()
    assert rows[0] == {"id": "project", "name": "Project", "type": "project"}
    assert FieldCatalog.from_list(rows) == catalog
    with pytest.raises(ValueError, match="nonsense"):
        FieldCatalog.from_list([{"id": "x", "name": "x", "type": "nonsense"}])


def test_field_type_values_are_text() -> None:
    assert [t.value for t in FieldType][:10] == [
        "string", "text", "number", "option", "multi-option", "user", "date", "datetime", "labels", "json",
    ]  # fmt: skip
