"""The alarm's ticket over its life (pure): what a command does with the ticket the GUID has now.

    CREATE   no ticket, or its ticket was deleted in Jira      -> a new ticket
             an open ticket                                    -> an update of it (as before)
             a ticket the driver resolved within the reopen window -> reopen it, then update it
             a ticket the driver resolved longer ago          -> a new ticket (generation + 1)
             a ticket a person resolved in Jira                -> [sync] when_resolved_in_jira:
                                                                  keep (update), reopen, new_ticket
    UPDATE   an open ticket                                    -> an update
             a ticket a person resolved                       -> when_resolved_in_jira, as for CREATE
             a ticket the driver resolved                     -> an update of it as it is
             a deleted ticket                                  -> Failed: deleted in Jira
    RESOLVE  waits resolve_hold_seconds; a later CREATE, UPDATE or REOPEN of the GUID cancels it;
             then the transition to resolve_target (a no-op when the ticket is already there)
    REOPEN   the transition to reopen_target (a no-op when the ticket is already there)

docs/lifecycle.md draws the same as a state diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from driver.model.answers import IssueState
from driver.model.commands import Action
from driver.model.jobs import TicketRecord
from driver.model.transitions import Target

WhenResolvedInJira = Literal["keep", "reopen", "new_ticket"]


@dataclass(frozen=True)
class LifecycleSettings:
    """[lifecycle] and the part of [sync] that decides what commands do (see driver.config)."""

    resolve_target: Target = Target("category", "done")
    reopen_target: Target = Target("category", "new")
    resolution: str = "Done"
    reopen_window: timedelta = timedelta(minutes=60)
    resolve_hold: timedelta = timedelta(0)
    when_resolved_in_jira: WhenResolvedInJira = "keep"

    def target(self, action: Action) -> Target:
        """Where a RESOLVE or a REOPEN goes."""
        return self.resolve_target if action == Action.RESOLVE else self.reopen_target


class Course(StrEnum):
    """What a CREATE or UPDATE does with the GUID's ticket."""

    NEW_TICKET = "new_ticket"
    """Create a ticket (the GUID's first, or the next generation)."""
    UPDATE = "update"
    """Update the ticket the GUID has (a CREATE only refreshes its fields)."""
    REOPEN_THEN_UPDATE = "reopen"
    """Reopen the resolved ticket, then update it."""


def course(action: Action, ticket: TicketRecord | None, settings: LifecycleSettings, now: datetime) -> Course:
    """What a CREATE or UPDATE does, given the GUID's ticket record (see the module docstring).

    For an UPDATE whose GUID has no live ticket this answers NEW_TICKET only for a ticket a person
    resolved under `new_ticket`; the caller refuses an UPDATE without a ticket.
    """
    if ticket is None or not ticket.live:
        return Course.NEW_TICKET
    if not ticket.resolved:
        return Course.UPDATE
    if ticket.resolved_by_driver is False:
        rule = settings.when_resolved_in_jira
        if rule == "keep":
            return Course.UPDATE
        return Course.REOPEN_THEN_UPDATE if rule == "reopen" else Course.NEW_TICKET
    if action == Action.UPDATE:
        return Course.UPDATE
    resolved_at = ticket.resolved_at
    if resolved_at is not None and now - resolved_at <= settings.reopen_window and settings.reopen_window:
        return Course.REOPEN_THEN_UPDATE
    return Course.NEW_TICKET


def hold_until(queued_at: datetime, settings: LifecycleSettings) -> datetime | None:
    """When a RESOLVE queued at `queued_at` may go (None: no hold configured)."""
    if not settings.resolve_hold:
        return None
    return queued_at + settings.resolve_hold


CANCELS_RESOLVE = (Action.CREATE, Action.UPDATE, Action.REOPEN)
"""A later row of these actions, of the same GUID, takes back a RESOLVE in its hold (the alarm came back)."""


def after_transition(
    ticket: TicketRecord, issue: IssueState, action: Action, *, transitioned: bool, now: datetime
) -> TicketRecord:
    """The GUID's ticket record after a RESOLVE or REOPEN (or a reopen before an update): `issue` is
    the ticket as the transition left it, or as it was found (`transitioned` False: already there).

    A RESOLVE of a ticket a person had resolved makes that resolve the driver's own from now: the
    reopen window runs from this RESOLVE, and when_resolved_in_jira (about still-active alarms) no
    longer applies. `resolved_at` is kept while the ticket stays done, else set to `now`. A ticket
    Jira names by another key (moved by a person) is recorded under that key.
    """
    done = issue.status_category == "done"
    was_done = ticket.status_category == "done"
    by_driver = transitioned or (ticket.resolved_by_driver if was_done else None)
    if done and action == Action.RESOLVE and not transitioned:
        by_driver, was_done = True, False
    return replace(
        ticket.moved_to(issue.key, issue.project),
        project=issue.project or ticket.project,
        issuetype=issue.issuetype or ticket.issuetype,
        jira_status=issue.status or None,
        status_category=issue.status_category or None,
        resolution=issue.resolution,
        assignee=issue.assignee,
        changed_by_driver=True if transitioned else ticket.changed_by_driver,
        resolved_at=(ticket.resolved_at if was_done and ticket.resolved_at else now) if done else None,
        resolved_by_driver=(by_driver if by_driver is not None else True) if done else None,
        jira_updated=issue.updated or ticket.jira_updated,
    )
