"""The simulator's JQL: parser errors in Jira's words, and evaluation over real simulator issues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jira_sim.clock import ManualClock
from jira_sim.data import (
    DEFAULT_PRIORITY,
    STATUS_DONE,
    STATUS_IN_PROGRESS,
    Catalog,
    Comment,
    Issue,
    Store,
    now,
)
from jira_sim.jql import And, Clause, JqlError, Not, Or, Query, Value, compile_query, parse
from jira_sim.search import build_fields, functions_for, lookup, sort_default
from jira_sim.settings import SimSettings


def _store() -> tuple[Catalog, Store]:
    catalog = Catalog(SimSettings())
    store = Store()
    admin = catalog.users[0]
    rows = [
        (
            "OPS",
            "Task",
            "Disk full on host-1",
            ["alarm-a1", "disk"],
            "High",
            None,
            {"customfield_10100": "Major"},
        ),
        (
            "OPS",
            "Incident",
            "Link down core-2",
            ["alarm-b2"],
            "Highest",
            STATUS_DONE,
            {"customfield_10100": "Critical"},
        ),
        (
            "NET",
            "Bug",
            "Port errors on sw-3",
            [],
            "Low",
            STATUS_IN_PROGRESS,
            {"customfield_10101": "guid-77-x"},
        ),
        (
            "NET",
            "Task",
            "Firmware upgrade",
            ["planned"],
            "Medium",
            None,
            {"description": "Upgrade to 9.1 tonight"},
        ),
    ]
    for project_key, type_name, summary, labels, priority, status, values in rows:
        project = catalog.project_by_key[project_key]
        issue_id, key, number = store.next_key(project)
        stamp = now()
        issue = Issue(
            id=issue_id,
            key=key,
            number=number,
            project=project,
            issuetype=catalog.issue_type_by_name[type_name.lower()],
            summary=summary,
            priority=catalog.priority_by_name.get(priority.lower(), DEFAULT_PRIORITY),
            reporter=admin,
            creator=admin,
            created=stamp,
            updated=stamp,
            labels=list(labels),
        )
        for fid, value in values.items():
            fdef = catalog.field_by_id[fid]
            issue.values[fid] = fdef.option(value=value) if fdef.options else value
        if status is not None:
            issue.status = status
            if status is STATUS_DONE:
                issue.resolution = catalog.resolutions[0]
                issue.resolutiondate = stamp
        store.add(issue, 0)
    store.by_key["NET-2"].comments.append(Comment("1", admin, "rebooted the switch", now(), now()))
    return catalog, store


CATALOG, STORE = _store()
FIELDS = lookup(build_fields(CATALOG, STORE))


def run(jql: str) -> list[str]:
    compiled = compile_query(jql, FIELDS, functions_for(CATALOG.users[0]))
    found = [i for i in STORE.by_key.values() if compiled.matches(i)]
    if compiled.order_by:
        compiled.sort(found)
    else:
        sort_default(found)
    return [i.key for i in found]


@pytest.mark.parametrize(
    ("jql", "keys"),
    [
        ("project = OPS ORDER BY key ASC", ["OPS-1", "OPS-2"]),
        ("project in (OPS, NET) ORDER BY key DESC", ["OPS-2", "OPS-1", "NET-2", "NET-1"]),
        ("project != OPS ORDER BY key", ["NET-1", "NET-2"]),
        ("key = OPS-2", ["OPS-2"]),
        ('labels = "alarm-a1"', ["OPS-1"]),
        ("labels in (alarm-a1, planned) ORDER BY key", ["NET-2", "OPS-1"]),
        ("labels not in (disk) ORDER BY key", ["NET-2", "OPS-2"]),
        ("labels is EMPTY", ["NET-1"]),
        ("labels is not EMPTY AND project = NET", ["NET-2"]),
        ('status = "In Progress"', ["NET-1"]),
        ("status != Done ORDER BY key", ["NET-1", "NET-2", "OPS-1"]),
        ("statusCategory = Done", ["OPS-2"]),
        ("statusCategory in (new, indeterminate) ORDER BY key", ["NET-1", "NET-2", "OPS-1"]),
        ("resolution is EMPTY ORDER BY key", ["NET-1", "NET-2", "OPS-1"]),
        ("resolution is not EMPTY", ["OPS-2"]),
        ("resolution = Unresolved AND project = OPS", ["OPS-1"]),
        ('summary ~ "disk"', ["OPS-1"]),
        ("summary ~ 'firm*'", ["NET-2"]),
        ('text ~ "tonight"', ["NET-2"]),
        ('text ~ "rebooted switch"', ["NET-2"]),
        ('summary !~ "disk" AND project = OPS', ["OPS-2"]),
        ("NOT project = OPS ORDER BY key", ["NET-1", "NET-2"]),
        ("!(project = OPS) && labels is EMPTY", ["NET-1"]),
        ("project = NET OR labels = disk ORDER BY key", ["NET-1", "NET-2", "OPS-1"]),
        ("(project = NET OR priority = Highest) AND status != Done ORDER BY key", ["NET-1", "NET-2"]),
        ("ORDER BY priority DESC", ["OPS-2", "OPS-1", "NET-2", "NET-1"]),
        ("project = OPS ORDER BY priority ASC", ["OPS-1", "OPS-2"]),
        ("issuetype = Task ORDER BY key", ["NET-2", "OPS-1"]),
        ("type in (Bug, Incident) ORDER BY key ASC", ["NET-1", "OPS-2"]),
        ("cf[10100] = Critical", ["OPS-2"]),
        ('customfield_10100 in ("Major", "Critical") ORDER BY key', ["OPS-1", "OPS-2"]),
        ('"Alarm Severity" != Major', ["OPS-2"]),
        ('cf[10101] ~ "guid-77-x"', ["NET-1"]),
        ("reporter = currentUser() AND project = OPS ORDER BY key", ["OPS-1", "OPS-2"]),
        ("created >= -1d AND project = NET ORDER BY updated DESC, key DESC", ["NET-2", "NET-1"]),
        ("created < 2000-01-01", []),
        ("PROJECT = ops AND Labels = ALARM-A1", ["OPS-1"]),
    ],
)
def test_queries_select_the_issues_jira_would(jql: str, keys: list[str]) -> None:
    assert run(jql) == keys


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = ", "Error in the JQL Query: Expecting either a value, list or function before the end"),
        ("project OPS", "Error in the JQL Query: Expecting operator but got 'OPS'."),
        ("project = OPS AND", "Error in the JQL Query: Expecting a field name before the end of the query."),
        ('summary ~ "open', "Error in the JQL Query: The quoted string 'open' has not been completed."),
        ("(project = OPS", "Error in the JQL Query: Expecting ')' before the end of the query."),
        (
            "project = OPS labels = x",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'labels'.",
        ),
        ("status was Done", "Error in the JQL Query: The operator 'WAS' is not supported"),
        ("project = OPS ORDER key", "Error in the JQL Query: Expecting 'BY' but got 'key'."),
        ("labels = and", "Error in the JQL Query: Expecting either a value, list or function but got 'and'."),
        ("labels = empty(", "Error in the JQL Query: Expecting either 'OR' or 'AND' but got '('."),
        ("order = x", "Error in the JQL Query: Expecting 'BY' but got '='."),
        ("is = x", "Error in the JQL Query: 'is' is a reserved JQL word."),
        ("labels in alarm", "Error in the JQL Query: Expecting '(' but got 'alarm'."),
        ("project = nosuch()", "Error in the JQL Query: Unable to find JQL function 'nosuch()'."),
        ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("status = Closed", "The value 'Closed' does not exist for the field 'status'."),
        ("key = OPS-999", "An issue with key 'OPS-999' does not exist for field 'key'."),
        ("summary = disk", "The operator '=' is not supported by the 'summary' field."),
        ("labels ~ disk", "The operator '~' is not supported by the 'labels' field."),
        ("labels > disk", "The operator '>' is not supported by the 'labels' field."),
        ("cf[10100] = Blocker", "The option 'Blocker' for field 'Alarm Severity' does not exist."),
        ("created > yesterday", "Date value 'yesterday' for field 'created' is invalid."),
    ],
)
def test_bad_queries_fail_with_jiras_message(jql: str, message: str) -> None:
    with pytest.raises(JqlError) as error:
        run(jql)
    assert error.value.message.startswith(message), error.value.message


def test_syntax_errors_name_line_and_character() -> None:
    with pytest.raises(JqlError) as error:
        parse("project = OPS\nAND ) ")
    assert error.value.message.endswith("(line 2, character 5)")


def test_the_tree_keeps_precedence_and_quoting() -> None:
    query = parse('a = 1 OR b = "x y" AND NOT c = 2 ORDER BY key DESC, created')
    assert isinstance(query, Query)
    where = query.where
    assert isinstance(where, Or)
    assert where.children[0] == Clause("a", "=", Value("1", False), 0)
    second = where.children[1]
    assert isinstance(second, And)
    assert second.children[0] == Clause("b", "=", Value("x y", True), 9)
    assert isinstance(second.children[1], Not)
    assert [(k.field, k.descending) for k in query.order_by] == [("key", True), ("created", False)]


def test_an_empty_query_matches_everything_but_is_unbounded() -> None:
    compiled = compile_query("ORDER BY key", FIELDS)
    assert not compiled.bounded
    assert compile_query("project = OPS", FIELDS).bounded
    assert len(run("")) == len(STORE.by_key)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcOPS =!~<>()\",'&|-*[]10 ANDORNOTINISEMPTY\n")), max_size=40))
def test_any_text_is_a_query_or_a_jql_error(text: str) -> None:
    try:
        compiled = compile_query(text, FIELDS, functions_for(CATALOG.users[0]))
    except JqlError as error:
        message = error.message
        assert message
        return
    for issue in STORE.by_key.values():
        assert compiled.matches(issue) in {True, False}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_escapes_the_parser(text: str) -> None:
    try:
        query = parse(text)
    except JqlError as error:
        message = error.message
        assert message.startswith("Error in the JQL Query: ")
        return
    assert isinstance(query, Query)


# --- `updated >= ...` polls, with a manual clock ----------------------------------------------


def _updated_store() -> tuple[Store, Callable[[str], list[str]]]:
    """Three NET issues updated 10, 5 and 1 minutes before the clock's now (12:00 UTC on 2026-03-10)."""
    clock = ManualClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    catalog = Catalog(SimSettings())
    store = Store(clock)
    admin = catalog.users[0]
    for minutes in (10, 1, 5):
        issue_id, key, number = store.next_key(catalog.project_by_key["NET"])
        stamp = clock.now() - timedelta(minutes=minutes)
        store.add(
            Issue(
                issue_id,
                key,
                number,
                catalog.project_by_key["NET"],
                catalog.issue_type_by_name["incident"],
                f"updated {minutes} min ago",
                DEFAULT_PRIORITY,
                admin,
                admin,
                stamp,
                stamp,
            ),
            0,
        )
    fields = lookup(build_fields(catalog, store, clock))

    def poll(jql: str) -> list[str]:
        compiled = compile_query(jql, fields, functions_for(admin, clock))
        found = [i for i in store.by_key.values() if compiled.matches(i)]
        return [i.key for i in (compiled.sort(found) if compiled.order_by else sort_default(found))]

    return store, poll


@pytest.mark.parametrize(
    ("jql", "keys"),
    [
        ('updated >= "2026/03/10 11:54" ORDER BY updated DESC', ["NET-2", "NET-3"]),
        ('updated >= "2026-03-10 11:55" ORDER BY updated ASC', ["NET-3", "NET-2"]),
        ("updated >= 2026-03-10 ORDER BY updated", ["NET-1", "NET-3", "NET-2"]),
        ("updated >= -6m ORDER BY updated DESC", ["NET-2", "NET-3"]),
        ('updated > "2026/03/10 11:58" ORDER BY key', ["NET-2"]),
        ('updated > "2026/03/10 11:59"', []),
        ('updated >= "2026/03/10 11:59"', ["NET-2"]),
        ('updated < "2026/03/10 11:51"', ["NET-1"]),
        ('project = NET AND updated >= "2026/03/10 12:00"', []),
    ],
)
def test_updated_since_polls_select_and_order_by_update_time(jql: str, keys: list[str]) -> None:
    _, poll = _updated_store()
    assert poll(jql) == keys


def test_an_update_moves_an_issue_into_the_poll_window() -> None:
    store, poll = _updated_store()
    since = 'updated >= "2026/03/10 11:58" ORDER BY updated DESC'
    assert poll(since) == ["NET-2"]
    store.by_key["NET-1"].updated = store.clock.now()
    assert poll(since) == ["NET-1", "NET-2"]
