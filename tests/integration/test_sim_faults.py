"""Injected faults and Cloud-style rate limits, seen by a real HTTP client."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fixtures.sim import SimProcess, SpecChecker, checked_client
from tests.fixtures.waiting import wait_for

ISSUE = "/rest/api/2/issue"
RESET_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NEW: dict[str, Any] = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}


@pytest.fixture
def client(sim: SimProcess, spec_check: SpecChecker) -> Iterator[httpx.Client]:
    with checked_client(sim, spec_check) as c:
        yield c


def test_injected_429_has_cloud_headers_then_clears(sim: SimProcess, client: httpx.Client) -> None:
    sim.faults(kind=429, count=2, retry_after=7, method="POST", path=ISSUE)
    assert client.get("/rest/api/2/myself").status_code == 200
    for _ in range(2):
        limited = client.post(ISSUE, json=NEW)
        assert limited.status_code == 429
        headers = limited.headers
        assert headers["Retry-After"] == "7"
        assert headers["RateLimit-Reason"] == "jira-burst-based"
        assert headers["X-RateLimit-Remaining"] == "0"
        assert RESET_FORMAT.match(headers["X-RateLimit-Reset"])
        reset = datetime.strptime(headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert 0 <= (reset - datetime.now(UTC)).total_seconds() <= 8
    assert client.post(ISSUE, json=NEW).status_code == 201
    assert sim.counters()["created"] == 1
    assert [e["fault"] for e in sim.journal()] == [None, "429", "429", None]


def test_injected_5xx_some_with_retry_after(sim: SimProcess, client: httpx.Client) -> None:
    sim.admin("faults", {"rules": [{"kind": 503, "retry_after": 3}, {"kind": "status", "status": 500}]})
    unavailable = client.get("/rest/api/2/myself")
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "3"
    failed = client.get("/rest/api/2/myself")
    assert failed.status_code == 500
    assert "Retry-After" not in failed.headers
    assert client.get("/rest/api/2/myself").status_code == 200


@contextmanager
def connection_dropped() -> Iterator[None]:
    """The request fails as a dropped connection does: a transport error, not a timeout.

    Which one depends on when the client sees the close: no response at all (RemoteProtocolError),
    or a reset while it reads or writes (ReadError, WriteError).
    """
    with pytest.raises(httpx.TransportError) as caught:
        yield
    assert not isinstance(caught.value, httpx.TimeoutException), repr(caught.value)


def test_dropped_connection_is_a_transport_error(sim: SimProcess) -> None:
    sim.faults(kind="drop")
    with httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=5) as client:
        with connection_dropped():
            client.post(ISSUE, json=NEW)
        assert client.get("/rest/api/2/myself").status_code == 200
    assert sim.issues() == []
    assert sim.journal()[0]["status"] is None
    assert sim.counters()["dropped"] == 1


def test_drop_after_processing_creates_the_issue_unanswered(sim: SimProcess) -> None:
    sim.faults(kind="drop_after", method="POST")
    client = httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=5)
    with client, connection_dropped():
        client.post(ISSUE, json=NEW)
    assert [i["key"] for i in sim.issues()] == ["OPS-1"]
    assert sim.journal()[0]["status"] is None


def test_slow_after_processing_times_out_the_client_but_creates(sim: SimProcess) -> None:
    sim.faults(kind="slow_after", seconds=1.5)
    client = httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=0.4)
    with client, pytest.raises(httpx.ReadTimeout):
        client.post(ISSUE, json={**NEW, "fields": {**NEW["fields"], "labels": ["ambiguous"]}})
    [issue] = sim.issues()
    assert issue["fields"]["labels"] == ["ambiguous"]


def test_latency_is_added(sim: SimProcess, client: httpx.Client) -> None:
    sim.faults(latency_ms=150)
    started = time.monotonic()
    client.get("/rest/api/2/myself")
    assert time.monotonic() - started >= 0.15
    sim.admin("faults", method="DELETE")
    assert sim.admin("faults") == {"latency_ms": 0.0, "rules": []}


@pytest.fixture
def manual_client(manual_sim: SimProcess, spec_check: SpecChecker) -> Iterator[httpx.Client]:
    with checked_client(manual_sim, spec_check) as c:
        yield c


def test_burst_limit_answers_429_with_headers(manual_sim: SimProcess, manual_client: httpx.Client) -> None:
    sim, client = manual_sim, manual_client
    sim.config(burst_limit=5)
    answers = [client.get("/rest/api/2/myself") for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert answers[0].headers["X-RateLimit-Limit"] == "5"
    assert answers[0].headers["X-RateLimit-Remaining"] == "4"
    assert "X-RateLimit-NearLimit" not in answers[0].headers
    assert answers[4].headers["X-RateLimit-NearLimit"] == "true"
    limited = answers[5].headers
    assert limited["RateLimit-Reason"] == "jira-burst-based"
    assert limited["Retry-After"] == "1"
    assert RESET_FORMAT.match(limited["X-RateLimit-Reset"])
    # the clock stood still, so the window reopens exactly one second after the first request
    assert limited["X-RateLimit-Reset"] == _reset_after(sim, 1.0)
    sim.advance(1.05)
    assert client.get("/rest/api/2/myself").status_code == 200
    assert sim.counters()["rate_limited"] == 2


def test_a_data_center_token_bucket_states_itself_on_every_answer(
    manual_sim: SimProcess, manual_client: httpx.Client
) -> None:
    """Data Center's rate limit: FILL tokens every SECONDS up to CAPACITY, starting full; its header
    family on every answer, `retry-after` 0 while tokens remain (docs/wire-facts.md §8)."""
    sim, client = manual_sim, manual_client
    sim.config(bucket_capacity=3, bucket_fill_rate=2, bucket_interval=1)
    answers = [client.get("/rest/api/2/myself") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    first = answers[0].headers
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("3", "2")
    assert (first["X-RateLimit-FillRate"], first["X-RateLimit-Interval-Seconds"]) == ("2", "1")
    assert first["Retry-After"] == "0"
    assert (answers[3].headers["X-RateLimit-Remaining"], answers[3].headers["Retry-After"]) == ("0", "1")
    sim.advance(0.5)  # one token back
    assert [client.get("/rest/api/2/myself").status_code for _ in range(2)] == [200, 429]
    sim.config(bucket_fill_rate=0)


def test_burst_window_reopens_a_second_after_its_first_request(
    manual_sim: SimProcess, manual_client: httpx.Client
) -> None:
    manual_sim.config(burst_limit=2)
    assert [manual_client.get("/rest/api/2/myself").status_code for _ in range(3)] == [200, 200, 429]
    manual_sim.advance(0.99)
    assert manual_client.get("/rest/api/2/myself").status_code == 429
    manual_sim.advance(0.02)
    assert manual_client.get("/rest/api/2/myself").status_code == 200


def _reset_after(sim: SimProcess, seconds: float) -> str:
    """X-RateLimit-Reset for `seconds` after the manual clock's current time."""
    now = datetime.strptime(sim.clock()["now"], "%Y-%m-%dT%H:%M:%S.%f%z")
    return (now + timedelta(seconds=seconds)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_per_issue_write_window_reopens_when_the_clock_passes_it(
    manual_sim: SimProcess, manual_client: httpx.Client
) -> None:
    manual_sim.config(issue_write_limit=2, issue_write_window=30)
    key = manual_client.post(ISSUE, json=NEW).json()["key"]
    edit = {"fields": {"summary": "again"}}
    assert [manual_client.put(f"{ISSUE}/{key}", json=edit).status_code for _ in range(3)] == [204, 204, 429]
    manual_sim.advance(29.5)
    limited = manual_client.put(f"{ISSUE}/{key}", json=edit)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    manual_sim.advance(0.51)
    assert manual_client.put(f"{ISSUE}/{key}", json=edit).status_code == 204


def test_the_clock_moves_only_on_a_manual_clock(sim: SimProcess, manual_sim: SimProcess) -> None:
    refused = httpx.post(f"{sim.url}/_sim/clock", json={"advance": 1})
    assert refused.status_code == 409
    assert sim.clock()["manual"] is False
    before = manual_sim.clock()
    assert before["manual"] is True
    after = manual_sim.advance(90)
    assert after["monotonic"] == before["monotonic"] + 90
    moved = datetime.strptime(after["now"], "%Y-%m-%dT%H:%M:%S.%f%z") - datetime.strptime(
        before["now"], "%Y-%m-%dT%H:%M:%S.%f%z"
    )
    assert moved == timedelta(seconds=90)
    for bad in ({"advance": -1}, {"advance": "1"}, {"back": 1}):
        assert httpx.post(f"{manual_sim.url}/_sim/clock", json=bad).status_code == 400
    assert manual_sim.clock() == after


def test_per_issue_write_limit(sim: SimProcess, client: httpx.Client) -> None:
    sim.config(issue_write_limit=3, issue_write_window=30)
    first = client.post(ISSUE, json=NEW).json()["key"]
    second = client.post(ISSUE, json=NEW).json()["key"]
    writes = [client.put(f"{ISSUE}/{first}", json={"fields": {"summary": f"s{n}"}}) for n in range(3)]
    assert [w.status_code for w in writes] == [204, 204, 204]
    assert writes[2].headers["X-RateLimit-NearLimit"] == "true"
    limited = client.post(f"{ISSUE}/{first}/comment", json={"body": "one too many"})
    assert limited.status_code == 429
    assert limited.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert int(limited.headers["Retry-After"]) >= 29
    assert client.get(f"{ISSUE}/{first}").status_code == 200
    assert client.put(f"{ISSUE}/{second}", json={"fields": {"summary": "other issue"}}).status_code == 204
    sim.reset()
    assert sim.admin("config")["issue_write_limit"] == 0


def test_cli_flags_arm_faults_and_limits(sim_factory: Any) -> None:
    sim = sim_factory("--fault", "503:1,retry_after=2", "--burst-limit", "50", "--latency-ms", "1")
    response = httpx.get(f"{sim.url}/rest/api/2/myself", auth=("admin", "admin"))
    assert (response.status_code, response.headers["Retry-After"]) == (503, "2")
    ok = httpx.get(f"{sim.url}/rest/api/2/myself", auth=("admin", "admin"))
    assert ok.headers["X-RateLimit-Limit"] == "50"
    assert sim.admin("config")["latency_ms"] == 1.0


def test_bad_fault_requests_are_refused(sim: SimProcess) -> None:
    response = httpx.post(f"{sim.url}/_sim/faults", json={"kind": 302})
    assert response.status_code == 400
    assert httpx.post(f"{sim.url}/_sim/config", json={"nope": 1}).status_code == 400


@pytest.mark.parametrize(
    "arm",
    [
        pytest.param({"kind": "slow_after", "seconds": 1.0}, id="answer held after processing"),
        pytest.param({"latency_ms": 1000}, id="latency before processing"),
    ],
)
def test_a_request_from_before_a_reset_leaves_no_trace_after_it(
    sim_factory: Any, arm: dict[str, Any]
) -> None:
    sim: SimProcess = sim_factory()
    sim.admin("faults", arm)
    with (
        httpx.Client(base_url=sim.url, auth=("admin", "admin"), timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(ISSUE, json=NEW)
    sim.reset()
    # the held answer (or the delayed request) runs out in the reset simulator
    wait_for(
        lambda: sim.counters()["disowned"] >= 1,
        "the request from before the reset ended",
        10,
        every=0.02,
    )
    assert sim.journal() == []
    assert sim.issues() == []
    assert sim.counters()["requests"] == 0
