"""Link an alarm to a ticket a person opened (Alarms table, Get Eligible Ticket's attach): the
GUID's later commands update that ticket.

Exactly once rests on the stamp, as for a create (docs/wire-facts.md §10): the driver journals the
link's intent (the GUID's next generation, state 'creating') before it edits the ticket to carry
the GUID's stamp, and records the ticket after Jira took the edit. A crash, a timeout or a lost
answer between the two leaves the intent: the GUID is in doubt, and the engine searches for the
stamp before anything else of the GUID goes (at start, or with its next command), so it finds the
linked ticket: one link, one stamp. A refusal Jira states (the ticket's edit screen has no labels)
forgets the intent; nothing was linked.

Refused (AlarmActionRefused): a GUID that has a ticket (unlink it first), has rows Pending or
Deferred, or is being linked; a key Jira does not know; a ticket another GUID holds, or that
carries another alarm's stamp.
"""

from __future__ import annotations

from typing import Protocol

from driver.app.alarm_actions import AlarmActionRefused
from driver.errors import JiraError, JiraRejected
from driver.jira.client import JiraClient
from driver.model.jobs import TicketRecord, TicketState
from driver.model.request_setup import RequestSetup
from driver.model.stamps import foreign_stamp, stamp_edit_body, stamp_label, stamp_value
from driver.sending.engine import Engine
from driver.store import Store


class LinkInDoubt(JiraError):
    """Jira did not say whether it took the stamp edit: the GUID's stamp is searched for before its
    next command (the API answers 503)."""


class Driver(Protocol):
    """What linking needs of the driver (driver.app.driver.Driver has it)."""

    store: Store
    engine: Engine
    jira: JiraClient

    @property
    def setup(self) -> RequestSetup: ...


async def link(driver: Driver, guid: str, key: str) -> TicketRecord:
    """Make `key` the GUID's ticket (see the module docstring); the ticket record made.

    Raises AlarmActionRefused, LinkInDoubt, or JiraError when Jira could not be asked at all.
    """
    store, engine = driver.store, driver.engine
    if store.ticket(guid) is not None:
        raise AlarmActionRefused("conflict", f"GUID {guid!r} has a ticket: unlink it first")
    if engine.queues.holds(guid):
        raise AlarmActionRefused("conflict", f"GUID {guid!r} has open rows: link it once they are settled")
    holder = store.ticket_by_key(key)
    if holder is not None:
        raise AlarmActionRefused("conflict", f"{key} is the ticket of GUID {holder.guid!r}")
    if not engine.queues.reserve(guid):
        raise AlarmActionRefused("conflict", f"GUID {guid!r} is busy (a link under way)")
    try:
        return await _link(driver, guid, key)
    finally:
        engine.queues.release(guid, engine.timer())
        engine.wake()


async def _link(driver: Driver, guid: str, key: str) -> TicketRecord:
    store, engine, jira = driver.store, driver.engine, driver.jira
    settings = driver.setup.settings
    generation = store.max_generation(guid) + 1
    own = (
        stamp_value(guid, generation)
        if settings.guid_field
        else stamp_label(guid, settings.guid_label_prefix, generation)
    )
    fields = ("labels", settings.guid_field) if settings.guid_field else ("labels",)
    try:
        issue = await jira.get_issue(
            key, fields=("status", "resolution", "assignee", "project", "issuetype", *fields)
        )
    except JiraRejected as exc:
        if exc.status == 404:
            raise AlarmActionRefused(
                "not_found", f"Jira has no ticket {key} (or the driver may not see it)"
            ) from None
        raise
    other = foreign_stamp(issue.fields, settings.guid_field, settings.guid_label_prefix, own)
    if other is not None:
        raise AlarmActionRefused("conflict", f"{issue.key} carries another alarm's stamp ({other})")
    with store.transaction():
        store.journal_intent(guid, 0, generation)
    body = stamp_edit_body(guid, settings.guid_field, settings.guid_label_prefix, generation)
    try:
        await jira.edit_issue(issue.key, body)
    except JiraRejected:
        with store.transaction():
            store.forget_ticket(guid)
        raise
    except JiraError as exc:
        engine.tickets.doubt(
            guid, TicketRecord(guid, TicketState.IN_DOUBT, create_log_id=0, generation=generation)
        )
        with store.transaction():
            store.set_ticket_state(guid, TicketState.IN_DOUBT)
        raise LinkInDoubt(
            f"Jira did not answer the stamp edit of {issue.key} ({exc}): the driver searches for"
            f" GUID {guid!r}'s stamp before its next command"
        ) from exc
    record = TicketRecord(
        guid,
        TicketState.CREATED,
        issue.id,
        issue.key,
        jira.browse_url(issue.key),
        0,
        generation=generation,
        project=issue.project or None,
        issuetype=issue.issuetype or None,
        jira_status=issue.status or None,
        status_category=issue.status_category or None,
    )
    with store.transaction():
        store.ticket_created(record)
        store.note_linked(guid)
    engine.ticket_changed(record)
    return record
