"""GUID stamps: injective in both modes and over a GUID's ticket generations, within Jira's rules,
found by the simulator's search.

The search half runs the JQL the driver builds through the simulator's JQL engine (its `~`
tokenizes like Jira's index: words, stop words dropped, escapes, phrases, wildcards).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.model.answers import FoundIssue
from driver.model.limits import MAX_LABEL, MAX_TEXT_FIELD
from driver.model.shaping import utf16_len
from driver.model.stamps import (
    STAMP_BATCH,
    legacy_stamp_label,
    stamp_jql,
    stamp_key,
    stamp_label,
    stamp_value,
    stamps_jql,
)
from driver.sending.exactly_once import exact_match
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


# --- generations: a GUID's later tickets (issue 11) -------------------------------------------

# Small generations, so that pairs share one often; and a few large ones.
generations = st.integers(min_value=1, max_value=4) | st.integers(min_value=1, max_value=10**9)
tickets = st.tuples(any_guid, generations)
DECOY = "some other label"  # a label beside the stamp; holding spaces, it is no GUID's stamp


@st.composite
def ticket_pairs(draw: st.DrawFn) -> tuple[tuple[str, int], tuple[str, int]]:
    """Two (GUID, generation) pairs; half the time of the same GUID, to make near misses likely."""
    one = draw(tickets)
    two = (one[0], draw(generations)) if draw(st.booleans()) else draw(tickets)
    return one, two


def _takes_labels(guid: str, generation: int, prefix: str, labels: list[str]) -> bool:
    """Whether exact_match takes a hit carrying these labels for the GUID's ticket `generation`."""
    hit = FoundIssue("1", "OPS-1", "", {"labels": labels})
    return exact_match(guid, [hit], "", prefix, generation=generation) is hit


def _takes_value(guid: str, generation: int, value: str) -> bool:
    """Whether exact_match takes a hit whose guid_field holds this value."""
    hit = FoundIssue("1", "OPS-1", "", {FIELD: value})
    return exact_match(guid, [hit], FIELD, "alarm-", generation=generation) is hit


def _every_stamp(guid: str, generation: int, prefix: str) -> tuple[list[str], list[str]]:
    """Every label and value a ticket of this generation may carry, legacy forms included."""
    labels = [stamp_label(guid, prefix, generation)]
    values = [stamp_value(guid, generation)]
    if generation == 1:
        labels.append(legacy_stamp_label(guid, prefix))
        values.append(guid)
    return labels, values


@settings(max_examples=500, deadline=None)
@given(ticket_pairs(), prefixes)
def test_distinct_tickets_get_distinct_stamps(
    pair: tuple[tuple[str, int], tuple[str, int]], prefix: str
) -> None:
    (guid, generation), (other, other_generation) = pair
    label, value = stamp_label(guid, prefix, generation), stamp_value(guid, generation)
    their_label, their_value = (
        stamp_label(other, prefix, other_generation),
        stamp_value(other, other_generation),
    )
    if (guid, generation) == (other, other_generation):
        assert (label, value) == (their_label, their_value)
        return
    assert label != their_label
    assert value != their_value
    # exact_match takes a ticket's own stamp and never the other ticket's.
    assert _takes_labels(guid, generation, prefix, [DECOY, label])
    assert _takes_value(guid, generation, value)
    assert not _takes_labels(guid, generation, prefix, [DECOY, their_label])
    assert not _takes_value(guid, generation, their_value)
    if generation > 1:
        # A later ticket accepts no legacy form at all, not even of its own GUID's first ticket.
        # (Between first tickets a legacy form may be another GUID's: see test_old_* above.)
        their_labels, their_values = _every_stamp(other, other_generation, prefix)
        assert not _takes_labels(guid, generation, prefix, their_labels)
        assert not any(_takes_value(guid, generation, v) for v in their_values)


@settings(max_examples=300, deadline=None)
@given(
    any_guid, st.integers(min_value=2, max_value=10**9), st.integers(min_value=1, max_value=10**9), prefixes
)
def test_a_later_generation_never_takes_another_generations_stamp(
    guid: str, generation: int, other: int, prefix: str
) -> None:
    if other == generation:
        return
    labels, values = _every_stamp(guid, other, prefix)
    # Not one at a time and not all together (a ticket may carry several labels).
    assert not _takes_labels(guid, generation, prefix, labels)
    assert not any(_takes_labels(guid, generation, prefix, [x]) for x in labels)
    assert not any(_takes_value(guid, generation, v) for v in values)
    # Nor does the first generation take a later one's.
    later_labels, later_values = _every_stamp(guid, generation, prefix)
    assert not _takes_labels(guid, 1, prefix, later_labels)
    assert not any(_takes_value(guid, 1, v) for v in later_values)


@settings(max_examples=300, deadline=None)
@given(any_guid, st.integers(min_value=2, max_value=10**9), prefixes)
def test_later_stamps_keep_jiras_rules_and_their_shape(guid: str, generation: int, prefix: str) -> None:
    key = stamp_key(guid, generation)
    assert key != stamp_key(guid)
    label = stamp_label(guid, prefix, generation)
    assert utf16_len(label) <= MAX_LABEL
    assert not any(ch.isspace() for ch in label)
    assert label.endswith("_" + key)
    value = stamp_value(guid, generation)
    assert utf16_len(value) <= MAX_TEXT_FIELD
    assert value == key or value.endswith(" " + key)
    assert (stamp_label(guid, prefix, generation), stamp_value(guid, generation)) == (label, value)


@settings(max_examples=200, deadline=None)
@given(any_guid, prefixes)
def test_generation_one_is_the_stamp_tickets_always_had(guid: str, prefix: str) -> None:
    assert stamp_key(guid, 1) == stamp_key(guid)
    assert stamp_label(guid, prefix, generation=1) == stamp_label(guid, prefix)
    assert stamp_value(guid, generation=1) == stamp_value(guid)
    for field in ("", FIELD):
        assert stamp_jql(guid, field, prefix, generation=1) == stamp_jql(guid, field, prefix)


def test_later_stamps_pinned() -> None:
    # Written to Jira, so they must never change: the key is over `<guid>\x1f<n>`.
    key = "jd" + hashlib.sha256(b"A1\x1f2").hexdigest()[:32]
    assert stamp_key("A1", 2) == key
    assert stamp_label("A1", generation=2) == "alarm-A1_" + key
    assert stamp_value("A1", generation=2) == "A1 " + key
    # The example in docs/advanced-commands.md, as a literal.
    assert stamp_label("ALARM-1", generation=2) == "alarm-ALARM-1_jdba35bc0f935e04f28c4aebb6b6e65a86"
    assert stamp_jql("A1", generation=2) == f'labels = "alarm-A1_{key}"'
    assert stamp_jql("A1", FIELD, generation=2) == f'cf[10101] ~ "{key}"'
    # The legacy label is searched for the first ticket only.
    assert "labels in" in stamp_jql("G" * 256)
    assert stamp_jql("G" * 256, generation=2) == f'labels = "{stamp_label("G" * 256, generation=2)}"'
    for bad in (0, -1):
        for make in (stamp_key, stamp_value):
            with pytest.raises(ValueError, match="generation"):
                make("A1", bad)
        with pytest.raises(ValueError, match="generation"):
            stamp_label("A1", generation=bad)


@settings(max_examples=100, deadline=None)
@given(any_guid, any_guid)
def test_each_generation_is_found_by_its_search_and_only_its_ticket_matches(guid: str, other: str) -> None:
    store = Store()
    made: dict[tuple[str, int], tuple[Issue, Issue]] = {}
    for g in {guid, other}:
        for n in (1, 2, 3):
            made[(g, n)] = (
                _issue(store, labels=["x", stamp_label(g, generation=n)]),
                _issue(store, value=stamp_value(g, n)),
            )
    for (g, n), (labelled, valued) in made.items():
        by_label = _search(store, stamp_jql(g, project="OPS", generation=n))
        assert exact_match(g, by_label, "", "alarm-", generation=n).key == labelled.key
        by_value = _search(store, stamp_jql(g, FIELD, generation=n))
        assert exact_match(g, by_value, FIELD, "alarm-", generation=n).key == valued.key


# --- one search for many GUIDs (a new database's probes, issue 15 item 7) ---------------------


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(any_guid, generations), min_size=1, max_size=STAMP_BATCH, unique_by=lambda t: t[0]),
    st.lists(any_guid, max_size=5),
)
def test_one_batched_search_finds_each_guids_ticket_and_nothing_else_matches(
    stamps: list[tuple[str, int]], others: list[str]
) -> None:
    store = Store()
    by_label = {g: _issue(store, labels=[stamp_label(g, "alarm-", n)]).key for g, n in stamps}
    by_value = {g: _issue(store, value=stamp_value(g, n)).key for g, n in stamps}
    strangers = [o for o in others if o not in by_label]
    for other in strangers:
        _issue(store, labels=[stamp_label(other, "alarm-", 1)])
        _issue(store, value=stamp_value(other, 1))
    found_labels = _search(store, stamps_jql(stamps, "", "alarm-"))
    found_values = _search(store, stamps_jql(stamps, FIELD, "alarm-"))
    for guid, generation in stamps:
        assert exact_match(guid, found_labels, "", "alarm-", generation=generation).key == by_label[guid]
        assert exact_match(guid, found_values, FIELD, "alarm-", generation=generation).key == by_value[guid]
        # each hit matches back to its own GUID only
        mine = [h for h in found_labels if exact_match(guid, [h], "", "alarm-", generation=generation)]
        assert [h.key for h in mine] == [by_label[guid]]
    # the search brings no stranger's ticket but one whose label differs only in case (JQL
    # matches labels ignoring case, as the simulator does), which exact_match above never takes
    wanted = {stamp_label(g, "alarm-", n).lower() for g, n in stamps}
    assert {h.key for h in found_labels} >= set(by_label.values())
    assert all({label.lower() for label in h.fields["labels"]} & wanted for h in found_labels)


def test_a_batched_search_takes_one_to_fifty_guids() -> None:
    with pytest.raises(ValueError, match="1 to 50"):
        stamps_jql([])
    with pytest.raises(ValueError, match="1 to 50"):
        stamps_jql([(f"G-{n}", 1) for n in range(STAMP_BATCH + 1)])
    assert stamps_jql([("A-1", 1), ("A-1", 1)]) == 'labels in ("alarm-A-1")'
