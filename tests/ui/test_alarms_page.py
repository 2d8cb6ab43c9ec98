"""The Alarms page against the real driver (in-process, real SQLite, the simulator over HTTP):
it lists each GUID once, filters, and its actions reach the driver."""

from __future__ import annotations

from textual.widgets import Input, Select

from tests.ui.conftest import settle
from tests.ui.test_pages import Session, ui  # noqa: F401  (the fixture)
from ui.widgets.alarms_table import AlarmsTable


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
