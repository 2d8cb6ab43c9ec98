"""Get Eligible Ticket's JQL: whatever the values, the simulator's JQL parser reads back exactly the
clauses the driver meant, each value whole (hypothesis tries to break out of the quotes)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.model.jql import EligibleSearch, eligible_jql
from jira_sim.jql import And, Clause, Query, Value, parse

# any text Jira could hold, quotes, backslashes, JQL's reserved words and characters included
values = st.text(st.characters(codec="utf-8", blacklist_categories=["Cc"]), min_size=1, max_size=30).filter(
    str.strip
)
attacks = st.sampled_from(
    ['" OR project = X', '\\" OR 1=1', "x) OR (y", '"', "\\", "~", "ORDER BY key", 'a\\\\"']
)


def clauses(query: Query) -> list[Clause]:
    where = query.where
    if where is None:
        return []
    if isinstance(where, Clause):
        return [where]
    assert isinstance(where, And), where
    found = [c for c in where.children if isinstance(c, Clause)]
    assert len(found) == len(where.children), where
    return found


@settings(max_examples=300)
@given(
    project=values | attacks,
    assignee=values | attacks,
    labels=st.lists(values | attacks, max_size=3),
    category=st.sampled_from([None, "new", "indeterminate", "done"]),
    not_done=st.booleans(),
)
def test_every_value_comes_back_whole_as_the_clause_meant(
    project: str, assignee: str, labels: list[str], category: str | None, not_done: bool
) -> None:
    search = EligibleSearch(
        project=project,
        category=category,  # type: ignore[arg-type]
        not_done=not_done,
        labels=tuple(labels),
        assignee=assignee,
    )
    query = parse(eligible_jql(search))
    expected = [("project", "=", project)]
    if category:
        expected.append(("statuscategory", "=", category))
    if not_done:
        expected.append(("statuscategory", "!=", "done"))
    expected += [("labels", "=", label) for label in labels]
    expected.append(("assignee", "=", assignee))
    got = [
        (c.field.lower(), c.operator, c.operand.text if isinstance(c.operand, Value) else c.operand)
        for c in clauses(query)
    ]
    assert got == expected
    assert all(isinstance(c.operand, Value) and c.operand.quoted for c in clauses(query))
    assert [(k.field.lower(), k.descending) for k in query.order_by] == [("updated", True)]


@given(values | attacks)
def test_a_text_filter_is_one_phrase_of_the_text(text: str) -> None:
    (clause,) = clauses(parse(eligible_jql(EligibleSearch(text=text))))
    assert (clause.field, clause.operator) == ("text", "~")
    assert isinstance(clause.operand, Value)
    assert clause.operand.quoted


def test_raw_jql_alone_keeps_its_order_and_is_refused_with_filters_when_it_has_one() -> None:
    assert (
        eligible_jql(EligibleSearch(jql="project = OPS ORDER BY created")) == "project = OPS ORDER BY created"
    )
    assert eligible_jql(EligibleSearch(jql="project = OPS")) == "project = OPS ORDER BY updated DESC"
    combined = eligible_jql(EligibleSearch(jql="priority = High OR priority = Highest", not_done=True))
    assert (
        combined
        == '(priority = High OR priority = Highest) AND statusCategory != "done" ORDER BY updated DESC'
    )
    with pytest.raises(ValueError, match="ORDER BY"):
        eligible_jql(EligibleSearch(jql="project = OPS order  by key", project="NET"))
