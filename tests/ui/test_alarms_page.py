"""The Alarms and Get Eligible Ticket pages against the real driver (in-process, real SQLite, the
simulator over HTTP): each GUID listed once, the filters, and the actions reaching the driver."""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console
from textual.widgets import HelpPanel, Input, Label, Select

from tests.ui.conftest import settle
from tests.ui.fake_driver import FakeDriver
from tests.ui.test_pages import InProcessFactory, Session, running, ui  # noqa: F401  (the fixture)
from ui.app import JiraDriverApp
from ui.modals.call_endpoint import CallEndpointModal
from ui.widgets.alarms_table import AlarmsTable
from ui.widgets.issues_table import IssuesTable
from ui.widgets.responses_table import ResponsesTable


async def test_alarms_are_listed_filtered_and_resolved_from_the_page(ui: Session) -> None:  # noqa: F811
    await ui.send("UI-1|CREATE|summary;Disk full on db-1|", "UI-2|CREATE|summary;Fan failure|")
    await ui.wait(ui.settled)
    await ui.send("UI-2|RESOLVE|")
    await ui.wait(ui.settled)
    await ui.pilot.press("f6")
    await settle(ui.pilot)
    table = ui.app.screen.query_one(AlarmsTable)
    await ui.wait(lambda: table.row_count == 2)
    assert [table.alarms[g].state for g in ("UI-2", "UI-1")] == ["cleared", "active"]
    assert table.current is not None
    assert table.current.guid == "UI-2"  # newest activity first
    assert "UI-2" in ui.text("#alarms-detail")

    ui.app.screen.query_one("#alarms-state", Select).value = "active"
    await ui.wait(lambda: list(table.alarms) == ["UI-1"])
    ui.app.screen.query_one("#alarms-state", Select).clear()
    search = ui.app.screen.query_one("#alarms-text", Input)
    search.value = "fan"
    await ui.wait(lambda: list(table.alarms) == ["UI-2"])
    search.value = ""
    await ui.wait(lambda: table.row_count == 2)

    # resolve now on UI-1: a Manual RESOLVE row that reaches Jira
    table.focus()
    table.move_cursor(row=table.get_row_index("UI-1"))
    await settle(ui.pilot)
    await ui.pilot.press("r")
    await ui.wait(ui.settled)

    async def resolved() -> bool:
        rows = (await ui.get("/api/log"))["rows"]
        return any(r["type"] == "Manual" and r["action"] == "RESOLVE" and r["status"] == "Ok" for r in rows)

    await ui.wait(resolved)


async def test_a_persons_ticket_is_found_and_attached_to_an_alarm(ui: Session, sim: Any) -> None:  # noqa: F811
    answer = httpx.post(  # noqa: ASYNC210  (a person's ticket, made before the page is used)
        f"{sim.url}/rest/api/2/issue",
        json={
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Chiller alarm"}
        },
        auth=("admin", "admin"),
        timeout=10,
    )
    key = str(answer.json()["key"])
    await ui.pilot.press("f7")
    await settle(ui.pilot)
    ui.app.screen.query_one("#eligible-text", Input).value = "chiller"
    await ui.pilot.click("#eligible-search")
    table = ui.app.screen.query_one(IssuesTable)
    await ui.wait(lambda: list(table.issues) == [key])
    assert "text ~" in ui.text("#eligible-sent")
    table.focus()
    await ui.pilot.press("a")
    await settle(ui.pilot)
    await ui.pilot.press(*"CH-1", "enter")

    async def linked() -> bool:
        alarms = (await ui.get("/api/alarms"))["rows"]
        return [(a["guid"], a["ticket_key"]) for a in alarms] == [("CH-1", key)]

    await ui.wait(linked)


async def test_keys_the_bottom_line_cannot_show_are_in_the_command_palette() -> None:
    app = JiraDriverApp(FakeDriver(), poll_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"keys", "enter")
        await settle(pilot)
        panel = app.screen.query_one(HelpPanel)
        console = Console(width=80, record=True)
        for widget in panel.query("*"):
            console.print(widget.render())
        shown = console.export_text()
        assert "Unlink" in shown
        assert "Retry failed" in shown


async def test_the_responses_page_shows_what_jira_answered(ui: Session) -> None:  # noqa: F811
    await ui.send("RS-1|CREATE|summary;Pump stopped|")
    await ui.wait(ui.settled)
    await ui.pilot.press("f5")
    await settle(ui.pilot)
    table = ui.app.screen.query_one(ResponsesTable)
    await ui.wait(lambda: any(e.kind == "create" for e in table.entries.values()))
    ui.app.screen.query_one("#responses-kind", Select).value = "create"
    await ui.wait(lambda: {e.kind for e in table.entries.values()} == {"create"})
    (created,) = table.entries.values()
    assert created.status == 201
    table.focus()
    table.move_cursor(row=0)
    await settle(ui.pilot)
    shown = ui.text("#responses-detail")
    assert f"Jira request id: {created.request_id}" in shown
    assert '"key"' in shown


async def test_an_endpoint_is_called_for_an_alarm_from_the_page(
    inprocess_driver: InProcessFactory, sim: Any
) -> None:
    watch = {"path": "rest/api/2/issue/{key}/watchers", "body": '"{user}"', "expect": [204]}
    drv = await inprocess_driver(sim.url, ini={"endpoints": {"watch": watch}})
    async with running(drv.client(), drv) as session:
        await session.send("CE-1|CREATE|summary;Disk full on db-1|")
        await session.wait(session.settled)
        await session.pilot.press("f6")
        await settle(session.pilot)
        table = session.app.screen.query_one(AlarmsTable)
        await session.wait(lambda: table.row_count == 1)
        table.focus()
        await session.pilot.press("c")
        await settle(session.pilot)
        modal = session.app.screen
        assert isinstance(modal, CallEndpointModal)
        assert "POST rest/api/2/issue/{key}/watchers" in str(modal.query_one("#call-request", Label).render())
        modal.query_one("#call-var-user", Input).focus()
        await session.pilot.press(*"jsmith", "enter")
        await session.wait(session.settled)

        async def called() -> bool:
            rows = (await session.get("/api/log"))["rows"]
            return any(r["action"] == "CALL watch" and r["status"] == "Ok" for r in rows)

        await session.wait(called)
    (issue,) = sim.issues()
    assert issue["watchers"] == ["jsmith"]
