"""Get Eligible Ticket on CREATE (driver.model.eligible_create): the template filled from a CREATE's
own values reads back, in the simulator's JQL parser, as exactly the clauses the operator wrote,
whatever the alarm's text holds (hypothesis tries to break out of the quotes); the edit that takes
a ticket found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driver.config import EligibleSection
from driver.model.commands import parse, parse_command
from driver.model.eligible_create import (
    EligibleOnCreate,
    create_values,
    missing_placeholder,
    take_body,
    template_problem,
)
from driver.model.fields import FieldCatalog
from driver.model.stamps import stamp_label, stamp_value
from jira_sim.jql import And, Clause, Query, Value
from jira_sim.jql import parse as parse_jql

texts = st.text(st.characters(codec="utf-8", blacklist_categories=["Cc"]), min_size=1, max_size=40).filter(
    str.strip
)
attacks = st.sampled_from(
    ['" OR project = X', '\\" OR 1=1', "x) OR (y", '"', "\\", "~", "ORDER BY key", "*", "a?b", "{summary}"]
)
TEMPLATE = 'project = OPS AND statusCategory != Done AND summary ~ {summary} AND "Site" = {Site}'


def clauses(query: Query) -> list[Clause]:
    where = query.where
    assert isinstance(where, And), where
    found = [c for c in where.children if isinstance(c, Clause)]
    assert len(found) == len(where.children), where
    return found


@settings(max_examples=300)
@given(summary=texts | attacks, site=texts | attacks)
def test_the_filled_template_means_what_the_operator_wrote(summary: str, site: str) -> None:
    eligible = EligibleOnCreate(TEMPLATE, "oldest")
    query = parse_jql(eligible.search_jql({"summary": summary, "site": site}))
    got = [(c.field.lower(), c.operator) for c in clauses(query)]
    assert got == [("project", "="), ("statuscategory", "!="), ("summary", "~"), ("site", "=")]
    summary_clause, site_clause = clauses(query)[2:]
    assert isinstance(site_clause.operand, Value)
    assert site_clause.operand.quoted
    assert site_clause.operand.text == site
    assert isinstance(summary_clause.operand, Value)
    assert summary_clause.operand.quoted
    assert [(k.field.lower(), k.descending) for k in query.order_by] == [("created", False)]


def test_values_come_from_the_create_by_any_name_of_the_field() -> None:
    catalog = FieldCatalog.system()
    raw = parse("G|CREATE|Summary;Disk full|priority;High|labels; |comment;x|")
    values = create_values(raw, catalog)
    assert values["summary"] == "Disk full"
    assert values["priority"] == "High"
    assert "labels" not in values  # empty: left out, so a placeholder on it is missing
    eligible = EligibleOnCreate("project = OPS AND labels = {Labels} AND summary ~ {SUMMARY}")
    assert missing_placeholder(eligible, values) == "Labels"
    assert missing_placeholder(EligibleOnCreate("summary ~ {summary}"), values) is None


def test_the_taking_edit_keeps_a_persons_labels_and_adds_the_stamp() -> None:
    command = parse_command(
        "G-1|CREATE|summary;Disk|project;OPS|issuetype;Task|labels;a,b|", FieldCatalog.system()
    )
    body = take_body(command, "", "alarm-", 2)
    assert body == {
        "fields": {"summary": "Disk"},
        "update": {"labels": [{"add": "a"}, {"add": "b"}, {"add": stamp_label("G-1", "alarm-", 2)}]},
    }
    in_field = take_body(command, "customfield_10100", "alarm-", 1)
    assert in_field["update"] == {"labels": [{"add": "a"}, {"add": "b"}]}
    assert in_field["fields"] == {
        "summary": "Disk",
        "customfield_10100": stamp_value("G-1"),
    }


def test_a_template_the_driver_cannot_use_is_refused_at_start() -> None:
    assert "without ORDER BY" in template_problem("summary ~ {summary} ORDER BY key")
    assert "not a placeholder" in template_problem("summary ~ {summary")
    assert "at least one {Field} placeholder" in template_problem("project = OPS")
    assert template_problem("") == ""
    assert EligibleSection(jql=" summary ~ {summary} ").jql == "summary ~ {summary}"
