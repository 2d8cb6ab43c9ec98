"""The driver's own log as JSON lines ([driver] log_format = json), read by a test as a log store
would: every line parses, carries time, level, event and message, a Failed row's line the fields
people filter on, and no secret anywhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from driver.service.logging_setup import MASK, SecretFilter
from tests.fixtures.driver import DriverProcess
from tests.fixtures.waiting import wait_for


def test_json_lines_carry_the_fields_a_log_store_filters_on(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    driver = driver_factory(
        sim.url,
        api_token="json-logs-token",
        ini={"driver": {"log_format": "json"}, "jira": {"max_retries": "0"}},
    )
    # Jira refuses the priority: the row is Failed with Jira's reason
    assert driver.send("jl/1|CREATE|summary;Disk|priority;NoSuchPriority|").status_code == 202
    driver.wait_settled()

    def lines() -> list[dict[str, Any]] | None:
        parsed = [json.loads(x) for x in driver.stderr_path.read_text().splitlines() if x.strip()]
        return parsed if any(p.get("event") == "row_failed" for p in parsed) else None

    parsed = wait_for(lines, "the Failed row's line")
    for line in parsed:
        assert {"time", "level", "logger", "event", "message"} <= set(line), line
    (failed,) = [p for p in parsed if p["event"] == "row_failed"]
    assert failed["guid"] == "jl/1"
    assert failed["action"] == "CREATE"
    assert failed["outcome"] == "failed"
    assert failed["jira_status"] == 400
    assert isinstance(failed["log_id"], int)
    assert failed["duration_ms"] >= 0
    assert failed["level"] == "warning"
    text = driver.stderr_path.read_text()
    assert "json-logs-token" not in text


def test_configured_secrets_are_masked_in_every_message_and_field() -> None:
    record = logging.LogRecord(
        "driver", logging.WARNING, __file__, 1, "token %s refused", ("abcd-secret",), None
    )
    setattr(record, "reason", "sent abcd-secret-long")  # noqa: B010 (an extra field, as logging sets one)
    SecretFilter(["abcd-secret", "abcd-secret-long", "ab"]).filter(record)
    assert record.getMessage() == f"token {MASK} refused"
    assert getattr(record, "reason") == f"sent {MASK}"  # noqa: B009  # the longer secret masked whole


def test_a_short_secret_is_masked_where_it_stands_alone_not_inside_a_word() -> None:
    """A password such as `admin` masked inside "administrator" ("[secret]istrator") tells a reader
    the password (helper-15); a long token is masked wherever it appears."""
    long_token = "Zq8xLm3Pw9Rt5Yv2Bn7K"
    record = logging.LogRecord(
        "driver",
        logging.WARNING,
        __file__,
        1,
        "administrator https://admin:admin@jira/ %s, token=%s, t%sx, _admin_",
        ("admin", long_token, long_token),
        None,
    )
    SecretFilter(["admin", long_token]).filter(record)
    assert record.getMessage() == (
        f"administrator https://{MASK}:{MASK}@jira/ {MASK}, token={MASK}, t{MASK}x, _{MASK}_"
    )


def test_a_short_secret_with_a_symbol_on_its_edge_is_masked_even_against_a_word() -> None:
    """`!abc1` inside `x!abc1` is the whole secret in plain sight: only a letter or digit edge of
    the secret itself asks for a boundary."""
    record = logging.LogRecord("driver", logging.WARNING, __file__, 1, "x!abc1 y!abc1z abc1", (), None)
    SecretFilter(["!abc1", "abc1"]).filter(record)
    assert record.getMessage() == f"x{MASK} y!abc1z {MASK}"


def test_a_secret_that_is_a_plain_word_is_warned_of_at_start(
    driver_factory: Callable[..., DriverProcess], sim: Any
) -> None:
    """An API token `pair` masks every "pair" of the log (a pair's own lines read "a [secret] is
    two"): the driver says which setting does it, and why it matters, without its value."""
    driver = driver_factory(sim.url, api_token="sentinel")
    wanted = "[driver] api_token is a short plain word: every such word in this log is shown as [secret]"
    text = driver.stderr_path.read_text()  # written before the API answered
    assert wanted in text
    assert "sentinel" not in text
    assert "[jira] password is a short plain word" in text  # the fixture's Jira password: admin
