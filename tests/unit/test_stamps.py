"""GUID stamps: injective in both modes, within Jira's rules, found by the simulator's search.

The search half runs the JQL the driver builds through the simulator's JQL engine (its `~`
tokenizes like Jira's index: words, stop words dropped, escapes, phrases, wildcards).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from driver.exactly_once import exact_match
from driver.jira_answers import FoundIssue
from driver.shaping import utf16_len
from driver.ticket_requests import (
    MAX_LABEL,
    MAX_TEXT_FIELD,
    legacy_stamp_label,
    stamp_jql,
    stamp_key,
    stamp_label,
    stamp_value,
)
from jira_sim.data import DEFAULT_PRIORITY, Catalog, Issue, Store, now
from jira_sim.jql import compile_query
from jira_sim.search import build_fields, functions_for, lookup
from jira_sim.settings import SimSettings

FIELD = "customfield_10101"  # the simulator's "Alarm GUID" text field
# GUIDs as the parser lets them through: printable, no surrounding spaces, 1 to 256 characters.
guids = (
    st.text(
        alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"], blacklist_characters="\t\n\r"),
        min_size=1,
        max_size=256,
    )
    .map(str.strip)
    .filter(lambda g: bool(g) and g.isprintable())
)
# Characters that collide under the old scheme or trouble full-text search, to make pairs likely.
tricky = st.text(alphabet=' _-?*"\\()[]aA1jd0f', min_size=1, max_size=40).map(str.strip).filter(bool)
any_guid = guids | tricky
prefixes = st.sampled_from(["alarm-", "dm-", "", "x" * 240])

CATALOG = Catalog(SimSettings())


def _issue(store: Store, labels: list[str] | None = None, value: str | None = None) -> Issue:
    project = CATALOG.projects[0]
    issue_id, key, number = store.next_key(project)
    admin = CATALOG.users[0]
    issue = Issue(
        issue_id,
        key,
        number,
        project,
        CATALOG.issue_types[0],
        "s",
        DEFAULT_PRIORITY,
        admin,
        admin,
        now(),
        now(),
        labels=list(labels or []),
        values={} if value is None else {FIELD: value},
    )
    store.add(issue, 0)
    return issue


def _search(store: Store, jql: str) -> list[FoundIssue]:
    fields = build_fields(CATALOG, store)
    query = compile_query(jql, lookup(fields), functions_for(CATALOG.users[0]))
    return [
        FoundIssue(i.id, i.key, "", {"labels": list(i.labels), FIELD: i.values.get(FIELD)})
        for i in store.by_key.values()
        if query.matches(i)
    ]


@settings(max_examples=400, deadline=None)
@given(any_guid, any_guid, prefixes)
def test_distinct_guids_get_distinct_stamps(one: str, two: str, prefix: str) -> None:
    if one == two:
        assert stamp_label(one, prefix) == stamp_label(two, prefix)
        return
    assert stamp_label(one, prefix) != stamp_label(two, prefix)
    assert stamp_value(one) != stamp_value(two)


def test_the_reported_collision_is_gone() -> None:
    assert legacy_stamp_label("env TEST") == legacy_stamp_label("env_TEST") == "alarm-env_TEST"
    assert len({stamp_label("env TEST"), stamp_label("env_TEST"), stamp_label("env\u3000TEST")}) == 3


@settings(max_examples=300, deadline=None)
@given(any_guid, prefixes)
def test_stamps_keep_jiras_rules(guid: str, prefix: str) -> None:
    label = stamp_label(guid, prefix)
    assert utf16_len(label) <= MAX_LABEL
    assert not any(ch.isspace() for ch in label)
    assert utf16_len(stamp_value(guid)) <= MAX_TEXT_FIELD
    # The same GUID always gives the same stamp (it must be found again after a restart).
    assert stamp_label(guid, prefix) == label
    assert stamp_value(guid) == stamp_value(guid)


def test_plain_guids_keep_the_stamp_they_had() -> None:
    for guid in ("ALARM-1", "12/345/6789", "9f1c2d3e-0b6a-4c1e-9d7f-0123456789ab"):
        assert stamp_label(guid) == legacy_stamp_label(guid) == "alarm-" + guid
        assert stamp_value(guid) == guid
    assert stamp_value("---") == "--- " + stamp_key("---")
    assert stamp_value("a-is-the") == "a-is-the " + stamp_key("a-is-the")


@settings(max_examples=200, deadline=None)
@given(any_guid, any_guid)
def test_every_guid_is_found_by_its_search_and_only_its_ticket_matches(guid: str, other: str) -> None:
    store = Store()
    mine_label = _issue(store, labels=["x", stamp_label(guid)])
    mine_value = _issue(store, value=stamp_value(guid))
    if other != guid:
        _issue(store, labels=[stamp_label(other)])
        _issue(store, value=stamp_value(other))
    by_label = _search(store, stamp_jql(guid, project="OPS"))
    assert exact_match(guid, by_label, "", "alarm-").key == mine_label.key
    by_value = _search(store, stamp_jql(guid, FIELD))
    assert exact_match(guid, by_value, FIELD, "alarm-").key == mine_value.key
    if other != guid:
        assert exact_match(other, [h for h in by_label if h.key == mine_label.key], "", "alarm-") is None
        assert exact_match(other, [h for h in by_value if h.key == mine_value.key], FIELD, "alarm-") is None


def test_reported_guids_are_found_in_both_modes() -> None:
    store = Store()
    guids_seen = ["---", "x-1 (east) [ok]?*", "X-1", "X-1 east", "a-is-the", "***"]
    made = {
        g: (_issue(store, labels=[stamp_label(g)]), _issue(store, value=stamp_value(g))) for g in guids_seen
    }
    for guid, (labelled, valued) in made.items():
        assert exact_match(guid, _search(store, stamp_jql(guid)), "", "alarm-").key == labelled.key
        assert exact_match(guid, _search(store, stamp_jql(guid, FIELD)), FIELD, "alarm-").key == valued.key


def test_old_tickets_are_found_when_their_label_is_unambiguous() -> None:
    store = Store()
    long_guid = "G" * 256
    old_long = _issue(store, labels=[legacy_stamp_label(long_guid)])
    old_spaced = _issue(store, labels=[legacy_stamp_label("env TEST")])  # alarm-env_TEST
    found = _search(store, stamp_jql(long_guid))
    assert exact_match(long_guid, found, "", "alarm-").key == old_long.key
    # `alarm-env_TEST` was written for `env TEST` and for `env_TEST` alike: neither adopts it.
    for guid in ("env TEST", "env_TEST"):
        hits: list[Any] = [FoundIssue(old_spaced.id, old_spaced.key, "", {"labels": list(old_spaced.labels)})]
        assert exact_match(guid, hits, "", "alarm-") is None


def test_old_guid_field_values_are_still_accepted() -> None:
    store = Store()
    old = _issue(store, value="X-1")
    assert exact_match("X-1", _search(store, stamp_jql("X-1", FIELD)), FIELD, "alarm-").key == old.key
    # A GUID that ends like a key is not trusted bare: its text could be another GUID's stamp.
    lookalike = stamp_value("---")
    hit = FoundIssue("1", "OPS-9", "", {FIELD: lookalike})
    assert exact_match(lookalike, [hit], FIELD, "alarm-") is None
    assert exact_match("---", [hit], FIELD, "alarm-") is hit
