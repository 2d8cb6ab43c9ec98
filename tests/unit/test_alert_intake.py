"""Alert notifications as commands, without a server (driver.model.alert_intake): a notification
taken twice makes nothing the second time, whatever it holds; a resolve needs a firing before it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driver.model.alert_intake import AlertSettings, Notice, Notification, plan
from driver.model.commands import parse

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
alerts = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["firing", "resolved"]),
            "fingerprint": st.sampled_from(["a", "b", "c|d", "e\\f"]),
            "labels": st.dictionaries(
                st.sampled_from(["alertname", "instance", "severity"]), text, max_size=3
            ),
            "annotations": st.dictionaries(st.sampled_from(["summary", "runbook"]), text, max_size=2),
        }
    ),
    max_size=6,
)


def render(name: str, context: Mapping[str, Any]) -> str:
    return f"{name}: {context['labels'].get('alertname', '')} {sorted(context['annotations'].items())}"


@given(alerts, st.sampled_from(["alert", "group"]))
def test_a_notification_taken_again_makes_nothing(items: list[dict[str, Any]], per: str) -> None:
    settings = AlertSettings(ticket_per=per, priorities={"critical": "Highest"})  # type: ignore[arg-type]
    status = "firing" if any(a["status"] == "firing" for a in items) else "resolved"
    notification = Notification.model_validate({"status": status, "alerts": items, "groupKey": "g"})
    known: dict[str, Notice] = {}
    first = plan("alertmanager", notification, settings, render, known)
    for command in first:
        parsed = parse(command.line)  # every line is a valid Advanced command, values intact
        assert parsed.guid == command.notice.guid
        assert parsed.action.value in ("CREATE", "UPDATE", "RESOLVE")
        assert parsed.action.value != "RESOLVE" or command.notice.guid in known
        known[command.notice.guid] = command.notice
    assert plan("alertmanager", notification, settings, render, known) == []


def test_resolved_then_firing_again_creates() -> None:
    settings = AlertSettings()
    firing = Notification.model_validate(
        {"status": "firing", "alerts": [{"status": "firing", "fingerprint": "x"}]}
    )
    resolved = Notification.model_validate(
        {"status": "resolved", "alerts": [{"status": "resolved", "fingerprint": "x"}]}
    )
    known: dict[str, Notice] = {}
    assert plan("grafana", resolved, settings, render, known) == []  # never seen firing
    (create,) = plan("grafana", firing, settings, render, known)
    known[create.notice.guid] = create.notice
    (resolve,) = plan("grafana", resolved, settings, render, known)
    assert resolve.line == "grafana/x|RESOLVE|"
    known[resolve.notice.guid] = resolve.notice
    (again,) = plan("grafana", firing, settings, render, known)
    assert again.line.startswith("grafana/x|CREATE|")
