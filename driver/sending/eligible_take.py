"""Choosing the open ticket that [eligible] jql finds, for a CREATE to take instead of creating one
(Get Eligible Ticket on a CREATE, docs/operations.md), each ticket for one alarm only (I/O: the
search; driver.sending.delivery makes the taking edit).

Why claims: two alarms whose CREATEs match one ticket are sent at once by two workers, and both
searches see it free: neither stamp is on it yet, and Jira's search index lags an edit anyway. A
ticket found is free for a GUID only when no other alarm's stamp is on it, no other GUID's ticket
record holds it (the store: takes committed, by this process or an earlier one) and no other GUID's
take of it is under way here (the claims: from just before its edit until its row is settled). The
check and the claim run with no await between them, on the event loop, so two workers never both
pass it; a claim whose edit fails is given back (`release`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from driver.errors import JiraRejected
from driver.model.answers import FoundIssue
from driver.model.requests import RequestSettings
from driver.model.stamps import foreign_stamp, stamp_label, stamp_value
from driver.sending.work import Work

ELIGIBLE_HITS = 50
"""Open tickets one [eligible] search reads (one page): the first no other alarm holds is taken."""


class EligibleJira(Protocol):
    """What choosing a ticket needs of Jira (driver.jira.client.JiraClient)."""

    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = ..., limit: int = ...
    ) -> tuple[list[FoundIssue], str | None]: ...


class EligibleTakes:
    """The takes of one engine, and the claims of those under way.

    holder: the GUID whose ticket record has this key (or id), None when none has
        (driver.store.tickets.TicketTables.ticket_by_key).
    """

    def __init__(self, jira: EligibleJira, holder: Callable[[str], str | None]) -> None:
        self.jira = jira
        self.holder = holder
        self._claims: dict[str, tuple[str, int]] = {}
        """Ticket key -> (GUID, head row id) of each take under way."""

    async def choose(self, work: Work, settings: RequestSettings) -> tuple[FoundIssue | None, str]:
        """Search [eligible] jql and claim, for the work's GUID, the first open ticket that is
        free for it; (that ticket, None when none is) and a note for its row saying why none.
        The caller edits the ticket (the CREATE's fields and the GUID's stamp) and gives the
        claim back (`release`) when the edit fails.

        Raises JiraError as a create would, a refused jql with Jira's reason named
        (driver.model.eligible_create: never created blind)."""
        assert work.eligible is not None
        stamp_field = settings.guid_field or "labels"
        try:
            found, _ = await self.jira.search_page(work.eligible.jql, [stamp_field], limit=ELIGIBLE_HITS)
        except JiraRejected as exc:
            messages = [f"Jira refused the [eligible] jql: {m}" for m in exc.error_messages or ["no details"]]
            raise JiraRejected(exc.status, messages, exc.errors) from None
        own = (
            stamp_value(work.guid, work.generation)
            if settings.guid_field
            else stamp_label(work.guid, settings.guid_label_prefix, work.generation)
        )
        unstamped = [
            hit
            for hit in found
            if not foreign_stamp(hit.fields, settings.guid_field, settings.guid_label_prefix, own)
        ]
        # the search is ordered by creation as [eligible] pick says: the first free one
        hit = next((hit for hit in unstamped if self._claim(hit, work)), None)
        if hit is not None:
            return hit, ""
        held = ", ".join(h.key for h in unstamped)
        if held:
            return None, f"the open tickets [eligible] jql found are other alarms' ({held}): created one"
        return None, "no open ticket matched [eligible] jql: created one"

    def release(self, key: str) -> None:
        """Give back the claim of a ticket whose taking edit failed."""
        self._claims.pop(key, None)

    def settled(self, job_id: int) -> None:
        """A row is settled: its take, if any, is in the store now (or came to nothing)."""
        for key in [key for key, (_, head) in self._claims.items() if head == job_id]:
            del self._claims[key]

    def _claim(self, hit: FoundIssue, work: Work) -> bool:
        """Claim the ticket for the work's GUID when it is free for it; whether it was."""
        claimed = self._claims.get(hit.key)
        if claimed is not None and claimed[0] != work.guid:
            return False
        holder = self.holder(hit.key)
        if holder is not None and holder != work.guid:
            return False
        self._claims[hit.key] = (work.guid, work.head.id)
        return True
