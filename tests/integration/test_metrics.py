"""GET /metrics against a driver process and the simulator (real HTTP, real SQLite): protected like
the API unless [metrics] public, and the figures move as tickets are made, a 429 is answered and a
webhook delivery is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.alerts import TOKEN as ALERTS_TOKEN
from tests.fixtures.alerts import alert, notification, post
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for

TOKEN = "metrics-token"


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(
    driver: DriverProcess, token: str | None = TOKEN
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(f"{driver.url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_protected_by_the_api_token_unless_public(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    url = sim.url
    guarded = driver_factory(url, api_token=TOKEN)
    assert httpx.get(f"{guarded.url}/metrics", timeout=10).status_code == 401
    assert scrape(guarded)
    public = driver_factory(url, api_token=TOKEN, ini={"metrics": {"public": "true"}})
    samples = scrape(public, token=None)
    assert [v for (name, _), v in samples.items() if name == "jira_driver_build_info"] == [1.0]
    text = httpx.get(f"{public.url}/metrics", timeout=10).text
    assert TOKEN not in text
    assert "admin" not in text  # the Jira credentials appear nowhere


def test_the_figures_follow_tickets_429s_and_refused_webhooks(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    s = sim
    driver = driver_factory(
        s.url,
        api_token=TOKEN,
        ini={"sync": {"mode": "webhook", "webhook_secret": "hook-secret"}},
    )
    before = scrape(driver)
    assert value(before, "jira_driver_jira_state", jira_driver_jira_state="ok") in (0.0, 1.0)
    assert value(before, "jira_driver_queue_rows", status="pending") == 0
    s.faults(kind=429, count=1, method="POST", path="/rest/api/latest/issue", retry_after=0.2)
    assert driver.send("m/1|CREATE|summary;One|", "m/2|CREATE|summary;Two|").status_code == 202
    driver.wait_settled()
    assert driver.send("m/1|RESOLVE|").status_code == 202
    driver.wait_settled()
    refused = httpx.post(
        f"{driver.url}/api/jira/webhook", content=b"{}", headers={"X-Hub-Signature": "sha256=00"}
    )
    assert refused.status_code in (400, 401, 403)

    def counted() -> Samples | None:
        samples = scrape(driver)
        return samples if value(samples, "jira_driver_webhook_deliveries_total", result="refused") else None

    after = wait_for(counted, "the refused delivery counted")
    assert value(after, "jira_driver_commands_accepted_total") == 3
    assert (
        value(after, "jira_driver_jira_requests_total", kind="create", outcome="ok", status_class="2xx") == 2
    )
    assert (
        value(after, "jira_driver_jira_requests_total", kind="create", outcome="error", status_class="4xx")
        == 1
    )
    assert value(after, "jira_driver_jira_rate_limited_total", reason="jira-burst-based") == 1
    assert value(after, "jira_driver_tickets_total", event="created") == 2
    assert value(after, "jira_driver_jira_request_duration_seconds_count", kind="create") == 3
    assert value(after, "jira_driver_rows_settled_total", event="resolved") == 1
    assert value(after, "jira_driver_rows_settled_total", event="reopened") == 0
    assert value(after, "jira_driver_oauth_token_requests_total") == 0  # Basic auth: none
    assert value(after, "jira_driver_queue_rows", status="pending") == 0
    assert value(after, "jira_driver_queue_oldest_age_seconds") == 0
    assert value(after, "jira_driver_database_state", jira_driver_database_state="ok") == 1
    bad = httpx.post(
        f"{driver.url}/api/advanced",
        content="no pipes here",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
    )
    assert bad.status_code == 400
    assert value(scrape(driver), "jira_driver_intake_refused_total", reason="bad_input") == 1


def test_every_refused_alert_notification_is_counted_once(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """A notification refused for its type (415), size (413), body (400) or signature (401) is
    counted as refused, once each; one taken is counted as taken."""
    driver = driver_factory(
        sim.url,
        api_token=ALERTS_TOKEN,
        ini={"driver": {"max_request_bytes": "4096"}, "grafana": {"secret": "s3cret-grafana"}},
    )
    refusals = [
        ("/api/alertmanager", b"{}", {"Content-Type": "text/plain"}, 415),
        ("/api/alertmanager", b"[" + b" " * 5000 + b"]", {}, 413),
        ("/api/alertmanager", b"{not json", {}, 400),
        ("/api/alertmanager", notification(alert("m1"), alert("m1")) | {"status": 7}, {}, 400),
        ("/api/grafana", notification(alert("g1")), {"X-Grafana-Alerting-Signature": "00"}, 401),
    ]
    for path, body, headers, status in refusals:
        assert post(driver, path, body, headers).status_code == status, (path, headers)
    assert post(driver, "/api/alertmanager", notification(alert("m2"))).status_code == 200
    samples = scrape(driver, ALERTS_TOKEN)
    name = "jira_driver_alert_notifications_total"
    assert value(samples, name, sender="alertmanager", result="refused") == 4
    assert value(samples, name, sender="grafana", result="refused") == 1
    assert value(samples, name, sender="alertmanager", result="taken") == 1
