"""The status line says when the driver's own database or its sending workers are in trouble."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from driver.contract.schemas import DriverStatus, JiraState, PairStatus
from ui.widgets.status_bar import describe


def status(**changes: object) -> DriverStatus:
    base = DriverStatus(
        version="x",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        jira_state=JiraState.OK,
        queue_depth=3,
        pending=3,
        deferred=0,
    )
    return base.model_copy(update=changes)


def test_a_locked_database_is_named_with_its_reason_while_jira_is_fine() -> None:
    text, state = describe(
        status(database="unavailable", database_message="database unavailable: database is locked"), "", "u"
    )
    assert "database unavailable: database is locked" in text.plain
    assert "queue 3" in text.plain
    assert state == "-jira-down"


def test_stopped_workers_are_said() -> None:
    text, state = describe(status(engine_running=False), "", "u")
    assert "sending stopped" in text.plain
    assert state == "-jira-down"


def test_all_well_says_nothing_of_either() -> None:
    text, state = describe(status(), "", "u")
    assert "database" not in text.plain
    assert "stopped" not in text.plain
    assert state == "-ok"


def test_a_credential_about_to_expire_is_said_before_the_counts_but_is_no_failure() -> None:
    warning = "the Jira token expires on 2026-12-08 (in 3 days, [jira] token_expires): make a new one"
    text, state = describe(status(credential_warning=warning), "", "u")
    # it needs the operator (within days), so a narrow bar must not push it off behind the counts
    assert text.plain.index("⚠ the Jira token expires on 2026-12-08") < text.plain.index("queue 3")
    assert state == "-ok"  # a warning, not a failure


def test_a_pairs_standby_names_the_leader_and_is_not_a_stopped_sender() -> None:
    standby = PairStatus(node="driver-b", role="standby", leader="driver-a", term=3, lease_seconds=10)
    text, state = describe(status(engine_running=False, pair=standby), "", "u")
    assert "standby: driver-a leads" in text.plain
    assert "sending stopped" not in text.plain
    assert state == "-ok"


def test_a_standby_whose_lease_renewals_fail_says_why() -> None:
    standby = PairStatus(
        node="driver-b",
        role="standby",
        lease_seconds=10,
        lease_problem="the database did not renew the lease (connection refused)",
    )
    text, state = describe(status(engine_running=False, pair=standby), "", "u")
    assert "standby: no node leads" in text.plain
    assert "lease: the database did not renew the lease (connection refused)" in text.plain
    assert state == "-jira-down"


def test_a_third_node_on_the_pairs_database_is_a_warning() -> None:
    crowd = "3 nodes use this database (a, b, c): a pair is two, stop the one started by mistake"
    leader = PairStatus(
        node="a",
        role="leader",
        leader="a",
        term=1,
        lease_seconds=10,
        nodes=["a", "b", "c"],
        nodes_problem=crowd,
    )
    text, state = describe(status(pair=leader), "", "u")
    assert f"⚠ nodes: {crowd}" in text.plain
    assert state == "-ok"  # one node leads and sends: a mistake to mend, not a failure


def test_a_pairs_leader_says_its_term_and_a_dead_worker_still_shows() -> None:
    leader = PairStatus(node="driver-a", role="leader", leader="driver-a", term=3, lease_seconds=10)
    text, _ = describe(status(pair=leader), "", "u")
    assert "leader driver-a (term 3)" in text.plain
    text, state = describe(status(pair=leader, engine_running=False), "", "u")
    assert "sending stopped" in text.plain
    assert state == "-jira-down"


# --- an 80-column terminal: the bar has 78 cells (padding 0 1) ---------------------------------

BAR = 78
ALERTS: dict[str, tuple[dict[str, object], str]] = {
    "auth failed": (
        {
            "jira_state": JiraState.AUTH_FAILED,
            "jira_message": "Jira answered 401 Unauthorized: check [jira] username",
        },
        "Jira auth failed: Jira answered 401",
    ),
    "paused": (
        {
            "jira_state": JiraState.PAUSED,
            "paused_until": datetime(2026, 1, 1, 10, 17, 47, tzinfo=UTC),
            "pause_reason": "429 Too Many Requests, Retry-After 120",
        },
        "⏸ paused by Jira until 10:17:47",
    ),
    "unreachable": (
        {"jira_state": JiraState.UNREACHABLE, "jira_message": "connection refused (jira.example:443)"},
        "Jira unreachable: connection refused",
    ),
    "database": (
        {"database": "unavailable", "database_message": "database unavailable: database is locked"},
        "database unavailable: database is locked",
    ),
    "stopped": ({"engine_running": False}, "sending stopped"),
    "lease": (
        {
            "engine_running": False,
            "pair": PairStatus(
                node="b",
                role="standby",
                lease_seconds=10,
                lease_problem="the database did not renew the lease",
            ),
        },
        "lease: the database did not renew",
    ),
}


def shown(text: str, width: int = BAR) -> str:
    """What a bar `width` cells wide shows of the line (no_wrap, ellipsis)."""
    return text if len(text) <= width else text[: width - 1] + "…"


@pytest.mark.parametrize("name", list(ALERTS))
def test_at_80_columns_what_needs_the_operator_comes_first_and_stays_in_view(name: str) -> None:
    changes, must_show = ALERTS[name]
    text, _ = describe(status(failed_today=2, **changes), "", "u", BAR)
    assert must_show in shown(text.plain), text.plain


def test_at_80_columns_the_counts_shorten_before_they_are_dropped() -> None:
    text, _ = describe(status(jira_state=JiraState.AUTH_FAILED, failed_today=2), "", "u", BAR)
    assert text.plain == "● connected │ Jira auth failed: check the credentials │ queue 3 │ failed 2"


def test_at_80_columns_all_well_keeps_the_whole_counts() -> None:
    text, _ = describe(status(failed_today=2), "", "u", BAR)
    assert text.plain == "● connected │ queue 3 (pending 3, deferred 0) │ failed today 2 │ Jira ok"
    assert describe(status(failed_today=2), "", "u")[0].plain == text.plain  # no width: the same
