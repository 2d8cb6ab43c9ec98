"""One failed login per credential change: after a 401, no request with those credentials leaves.

Data Center locks an account behind a CAPTCHA after a few failed logins. Reproduction from the
report: a wrong password with 8 CREATEs queued made 10-12 failed logins within 2 s, and the
background field-list refresh kept trying (about 576 a day). Now the first wave sends one request
with unproven credentials (a canary), and a 401 stops the engine's sending, the field-list
refresh and the stamp probes alike until the credentials change; each change costs at most one.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.fixtures.driver import DriverProcess
from tests.fixtures.sim import SimProcess

RETRY_LINE = "asking Jira for its metadata again"


def failed_logins(sim: SimProcess) -> int:
    return int(sim.counters()["statuses"].get("401", 0))


def wait_for_log(driver: DriverProcess, text: str, count: int, timeout: float = 20.0) -> None:
    """Until `text` stands `count` times in the driver's stderr (its retries went round)."""
    driver.wait_rows(lambda _: driver.stderr_path.read_text(encoding="utf-8").count(text) >= count, timeout)


def test_a_wrong_password_costs_one_failed_login_per_change(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    driver = driver_factory(sim.url, ini={"jira": {"password": "wrong"}})
    assert driver.send(*(f"LOGIN-{n}|CREATE|summary;alarm {n}|" for n in range(8))).status_code == 202
    driver.wait_rows(lambda _: driver.status()["jira_state"] == "auth_failed")
    # The field-list refresh has gone round several times since (its backoff starts at 0.05 s here):
    # none of those rounds asked Jira with the refused password.
    wait_for_log(driver, RETRY_LINE, 5)
    assert failed_logins(sim) == 1
    assert driver.status()["pending"] == 8

    with driver.client() as api:
        # Another wrong password: one canary, one more failed login, nothing else.
        assert api.put(
            "/api/settings/auth", json={"mode": "basic", "username": "admin", "secret": "bad"}
        ).is_success
        driver.wait_rows(lambda _: failed_logins(sim) >= 2)
        wait_for_log(driver, RETRY_LINE, 7)
        assert failed_logins(sim) == 2
        assert driver.status()["jira_state"] == "auth_failed"
        # The right one: everything goes, and no further failed login.
        assert api.put(
            "/api/settings/auth", json={"mode": "basic", "username": "admin", "secret": "admin"}
        ).is_success
    rows = driver.wait_rows(lambda rows: all(r["status"] == "Ok" for r in rows), timeout=20)
    assert len(rows) == 8
    assert len(sim.issues()) == 8
    assert failed_logins(sim) == 2


def test_an_account_locked_behind_a_captcha_stops_sending_and_fails_nothing(
    driver_factory: Callable[..., DriverProcess], sim: SimProcess
) -> None:
    # Data Center answers 403 with X-Seraph-LoginReason: AUTHENTICATION_DENIED to every request of
    # an account it locked behind a CAPTCHA, the right password too (issue 17): a refusal of the
    # credentials, like a 401, not of one request (before, each row was Failed with a 403).
    sim.config(captcha_after=1)
    driver = driver_factory(sim.url, api_token="tok", ini={"jira": {"password": "wrong"}})
    driver.wait_rows(lambda _: driver.status()["jira_state"] == "auth_failed")  # the one failed login
    with driver.client() as client:  # the right password now: the account is still locked
        right = {"mode": "basic", "username": "admin", "secret": "admin"}
        assert client.put("/api/settings/auth", json=right).status_code == 200
    assert driver.send(*(f"LOCK-{n}|CREATE|summary;alarm {n}|" for n in range(3))).status_code == 202
    driver.wait_rows(lambda _: "CAPTCHA" in driver.status()["jira_message"])
    status = driver.status()
    assert status["jira_state"] == "auth_failed"
    assert (status["pending"], status["failed_today"]) == (3, 0)
    assert int(sim.counters()["statuses"].get("403", 0)) == 1  # one refusal, then nothing more is sent
