"""The sender's lease rules (driver.model.lease), without a database: a leader always stops before
its lease can have lapsed for anyone else, whatever the delays; terms and `since` follow the
database's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.model.lease import Leadership, Lease, LeaseTerms, Roll, crowd, shown

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TERMS = LeaseTerms(lease_seconds=10.0, margin=1.0)
ROUNDING = 1e-6
"""Seconds: the clocks' offset added and taken away again is exact only to a float's precision."""


def answer(holder: str, term: int, db_at: float, seconds: float = 10.0) -> Lease:
    """The lease as the database answers a claim run at `db_at` seconds past T0."""
    now = T0 + timedelta(seconds=db_at)
    return Lease(holder, term, now + timedelta(seconds=seconds), now)


@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 5.0),  # the node's wait before it sends the renewal
            st.floats(0.0, 3.0),  # the request's time to reach the database
            st.floats(0.0, 20.0),  # the answer's time to come back (may outlive the lease)
        ),
        min_size=1,
        max_size=20,
    ),
    st.floats(-1e6, 1e6),  # the database clock's offset from the node's monotonic clock
)
def test_a_leader_stops_before_its_lease_can_have_lapsed(
    renewals: list[tuple[float, float, float]], offset: float
) -> None:
    state = Leadership("a")
    node_now = 0.0
    expiry_on_node_clock = float("-inf")
    for wait, there, back in renewals:
        sent = node_now + wait
        db_at = sent + there + offset  # the database runs the claim after the node sent it
        lease = answer("a", 1, db_at)
        # the lease's end, on the node's clock: never earlier than sent + lease_seconds
        expiry_on_node_clock = (db_at - offset) + TERMS.lease_seconds
        node_now = sent + there + back
        state = state.answered(lease, sent, TERMS)
        assert state.leader
        assert state.stop_by <= expiry_on_node_clock - TERMS.margin + ROUNDING
        # whenever the node looks, sending is allowed only while the lease surely holds
        for later in (node_now, state.stop_by - 1e-6, state.stop_by, expiry_on_node_clock):
            if state.may_send(later):
                assert later < expiry_on_node_clock - TERMS.margin + ROUNDING


def test_terms_and_since_follow_the_database() -> None:
    state = Leadership("a").answered(answer("a", 1, 0.0), 0.0, TERMS)
    assert (state.leader, state.term, state.since, state.holder) == (True, 1, T0, "a")
    renewed = state.answered(answer("a", 1, 3.0), 3.0, TERMS)
    assert renewed.since == T0  # leading since the term began, not since the last renewal
    assert renewed.stop_by == 3.0 + 10.0 - 1.0
    lost = renewed.answered(answer("b", 2, 20.0), 20.0, TERMS)
    assert (lost.leader, lost.term, lost.holder, lost.since) == (False, 2, "b", None)
    again = lost.answered(answer("a", 3, 40.0), 40.0, TERMS)
    assert (again.leader, again.term, again.since) == (True, 3, T0 + timedelta(seconds=40))


def test_a_failed_renewal_keeps_a_leader_only_until_its_stop_by() -> None:
    state = Leadership("a").answered(answer("a", 1, 0.0), 0.0, TERMS)
    assert state.unanswered(8.9).leader
    dropped = state.unanswered(9.0)
    assert (dropped.leader, dropped.holder) == (False, "")  # who leads now is not known
    standby = Leadership("b").answered(answer("a", 1, 0.0), 0.0, TERMS)
    assert standby.unanswered(100.0) == standby  # a standby stays one


def test_a_lapsed_lease_held_by_nobody_names_no_holder() -> None:
    lapsed = Lease("a", 4, T0, T0 + timedelta(seconds=1))
    state = Leadership("b").answered(lapsed, 0.0, TERMS)
    assert (state.leader, state.holder, state.term) == (False, "", 4)


@pytest.mark.parametrize(("seconds", "margin"), [(2.0, 0.5), (301.0, 1.0), (10.0, 0.0), (10.0, 4.0)])
def test_lease_terms_out_of_bounds_are_refused(seconds: float, margin: float) -> None:
    with pytest.raises(ValueError, match="lease_seconds|margin"):
        LeaseTerms(seconds, margin)


def test_a_pair_is_no_crowd_and_a_third_node_or_a_name_twice_is() -> None:
    assert crowd("a#1", []) == ""
    assert crowd("a#1", ["b#2"]) == ""
    assert crowd("a#1", ["b#2", "c#3"]) == (
        "3 nodes use this database (a, b, c): a pair is two, stop the one started by mistake"
    )
    assert crowd("a#1", ["a#2"]) == (
        "more than one process is named a ([ha] node): give each node its own name"
    )
    assert crowd("b#1", ["a#2", "b#3"]).split("; ") == [
        "more than one process is named b ([ha] node): give each node its own name",
        "3 nodes use this database (a, b, b): a pair is two, stop the one started by mistake",
    ]


names = st.text("ab", min_size=1, max_size=2)
holders = st.tuples(names, st.integers(0, 9)).map(lambda h: f"{h[0]}#{h[1]}")


@given(holders, st.lists(holders, max_size=4))
def test_a_crowd_is_reported_exactly_when_the_names_are_not_a_pair(node: str, others: list[str]) -> None:
    every = [shown(node), *map(shown, others)]
    assert (crowd(node, others) == "") == (len(every) <= 2 and len(set(every)) == len(every))


def test_a_crowd_is_reported_once_it_has_lasted_a_lease_and_cleared_at_once() -> None:
    """A node killed and restarted at once is heard twice for half a lease (its old row ages
    out): not reported. A third node that stays is, after a lease; gone, it is cleared."""
    roll = Roll().heard("a#1", ["b#1"], 0.0, 10.0)
    assert roll == Roll(("b#1",))
    roll = roll.heard("a#1", ["b#1", "b#2"], 1.0, 10.0)  # b restarted: b#1's row not aged out yet
    assert (roll.since, roll.problem) == (1.0, "")
    roll = roll.heard("a#1", ["b#1", "b#2"], 4.0, 10.0)
    assert (roll.since, roll.problem) == (1.0, "")
    roll = roll.heard("a#1", ["b#2"], 7.0, 10.0)
    assert roll == Roll(("b#2",))
    for now in (20.0, 23.0, 26.0, 30.0):
        roll = roll.heard("a#1", ["b#2", "c#1"], now, 10.0)
    assert roll.since == 20.0
    assert roll.problem.startswith("3 nodes use this database (a, b, c)")
    assert roll.heard("a#1", ["b#2"], 32.0, 10.0) == Roll(("b#2",))
