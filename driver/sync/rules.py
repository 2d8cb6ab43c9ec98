"""Hearing back from Jira (pure, no I/O): what a webhook or a poll says happened to a ticket, and what
the driver then records of it.

Jira's changes reach the driver two ways (driver.sync.service does the I/O, `[sync] mode` picks them):

    webhook   Jira's admin webhook POSTs each event to /api/jira/webhook (docs/wire-facts.md §12): the body
              is signed (`X-Hub-Signature: sha256=<hex>`, HMAC-SHA256 of the raw body keyed on the
              webhook's secret; `signature_valid`), parsed into `WebhookBody`, and turned into one
              `JiraChange` by `webhook_change`.
    poll      JQL searches (driver.sync.poll_search) for the driver's tickets updated since the
              last poll; each hit, with its changelog and comments, becomes a `JiraChange`
              (`poll_change`).

Either way the change goes through one rule, `apply_change(record, change, me, now)`: the ticket's
status and category, resolution and assignee as Jira sent them (a field the event did not carry is
kept), who changed it last (`changed_by`, and whether that was the driver's own Jira account `me`),
when it entered a done status and whether the driver put it there, and whether it was deleted. A
change older than what the record already holds (its `jira_updated` is newer) changes nothing, so
a late retry or an overlapping poll never rolls a ticket back; nor does anything after a deletion.

Whose issue is it: the driver's when its key (or id) is a ticket key in the store, current or
earlier; a ticket whose create is still in doubt has no key yet and is recognised by its GUID stamp
(`stamp_owner`, the rule of driver.sending.exactly_once.exact_match). Everything else is not the driver's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from driver.model.answers import IssueState, JiraUser, jira_time
from driver.model.jobs import TicketRecord
from driver.sending.exactly_once import exact_match

SIGNATURE_SCHEME = "sha256"

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated")
DELETE_EVENT = "jira:issue_deleted"
COMMENT_EVENTS = ("comment_created", "comment_updated")
SYNC_EVENTS = (*ISSUE_EVENTS, DELETE_EVENT, *COMMENT_EVENTS)
"""The `webhookEvent`s sync acts on (docs/wire-facts.md §12); any other event is answered and ignored."""

EVENT_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the driver's clock an event's time may be and still count as it is: Jira's clock
and the driver's differ a little. A later time (a sender's bad clock, an event signed with a leaked
secret) is taken as the driver's clock when it arrives, or every later event would look older and
the record would freeze."""


# --- the signature ------------------------------------------------------------------------------


def signature(secret: str, raw: bytes) -> str:
    """The `X-Hub-Signature` value Jira sends for `raw` under `secret`: `sha256=<hex HMAC-SHA256>`."""
    return f"{SIGNATURE_SCHEME}=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signature_valid(secret: str, raw: bytes, header: str | None) -> bool:
    """Whether `header` (X-Hub-Signature) signs exactly these bytes with `secret` (docs/wire-facts.md §12).

    Compared in constant time (hmac.compare_digest), so the answer's timing tells nothing of how
    much of a guess was right. False without a secret, without a header, or for another scheme.
    """
    if not secret:
        return False
    return digest_matches(hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(), header)


def digest_matches(expected: str, header: str | None) -> bool:
    """Whether X-Hub-Signature `header` (`sha256=<hex>`) carries the hex digest `expected`, compared
    in constant time; False without a header or for another scheme."""
    if not header:
        return False
    scheme, sep, digest = header.strip().partition("=")
    if not sep or scheme.strip().lower() != SIGNATURE_SCHEME:
        return False
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode("utf-8", "replace"))


# --- the webhook body -----------------------------------------------------------------------------


class _Part(BaseModel):
    # Jira adds fields over time; what sync does not read is ignored, never refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


def _text_id(value: Any) -> Any:
    # Jira writes ids as strings, some versions and some events as numbers.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


TextId = Annotated[str, BeforeValidator(_text_id), Field(max_length=64)]


class WebhookIssue(_Part):
    """The `issue` of an event: an IssueBean (id, key, fields), as REST v2 renders it."""

    id: TextId = ""
    key: str = Field(min_length=1, max_length=255)
    fields: dict[str, Any] = {}


class WebhookComment(_Part):
    """The `comment` of a comment event: its id, author and times."""

    id: TextId = ""
    author: dict[str, Any] | None = None
    updateAuthor: dict[str, Any] | None = None
    created: str | None = Field(default=None, max_length=64)
    updated: str | None = Field(default=None, max_length=64)


class WebhookChangeItem(_Part):
    """One item of a changelog: which field changed (`field`: e.g. status, resolution, assignee)."""

    field: str = Field(default="", max_length=255)
    fieldId: str | None = Field(default=None, max_length=255)


class WebhookChangelog(_Part):
    """The `changelog` of jira:issue_updated: the change group this event is about."""

    id: TextId = ""
    items: list[WebhookChangeItem] = Field(default=[], max_length=10_000)


class WebhookBody(_Part):
    """An admin webhook's JSON body (docs/wire-facts.md §12): the event, when, who, the issue, what changed.

    `timestamp` is milliseconds since the epoch; `user` is the actor (absent on comment events,
    whose actor is the comment's author). Raises pydantic.ValidationError for another shape.
    """

    webhookEvent: str = Field(min_length=1, max_length=100)
    timestamp: int | None = Field(default=None, ge=0, le=253_402_300_799_999)
    issue_event_type_name: str | None = Field(default=None, max_length=100)
    user: dict[str, Any] | None = None
    issue: WebhookIssue | None = None
    changelog: WebhookChangelog | None = None
    comment: WebhookComment | None = None

    @property
    def moment(self) -> datetime | None:
        """The event's `timestamp` as an aware datetime."""
        if self.timestamp is None:
            return None
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)


# --- a change, from either source ---------------------------------------------------------------


@dataclass(frozen=True)
class JiraChange:
    """One thing Jira says happened to an issue: its state now (or its deletion), by whom, when.

    `state.fields` holds what Jira sent: a field it did not send is left as the record has it.
    `actor` did the change (None: not known); `status_actor` moved the issue to its present status
    (None: not known, or this change did not move it); `moment` is when (the issue's `updated`, or
    the event's time).
    """

    state: IssueState
    deleted: bool = False
    actor: JiraUser | None = None
    status_actor: JiraUser | None = None
    moment: datetime | None = None

    @property
    def key(self) -> str:
        return self.state.key

    @property
    def id(self) -> str:
        return self.state.id


def _user(value: Any) -> JiraUser | None:
    user = JiraUser.from_json(value)
    return user if user.ids or user.display_name else None


def webhook_change(body: WebhookBody) -> JiraChange | None:
    """The change a webhook event reports; None for an event sync does not use (or one without issue).

    jira:issue_created / jira:issue_updated: the issue as it is now, by `user`; its changelog
    tells whether the status moved. jira:issue_deleted: the issue is gone. comment_created /
    comment_updated: the comment's author (or its last editor) changed the issue, then.
    """
    if body.webhookEvent not in SYNC_EVENTS or body.issue is None:
        return None
    state = IssueState.from_issue(body.issue.model_dump())
    if state is None:  # pragma: no cover - WebhookIssue always has a key
        return None
    if body.webhookEvent == DELETE_EVENT:
        return JiraChange(state, deleted=True, actor=_user(body.user), moment=body.moment)
    if body.webhookEvent in COMMENT_EVENTS:
        comment = body.comment
        actor = _user(body.user)
        written: datetime | None = None
        if comment is not None:
            author = comment.updateAuthor if body.webhookEvent == "comment_updated" else comment.author
            actor = _user(author) or actor
            written = jira_time(comment.updated) or jira_time(comment.created)
        return JiraChange(state, actor=actor, moment=state.updated or written or body.moment)
    actor = _user(body.user)
    moved = body.changelog is not None and any(
        (item.fieldId or item.field) == "status" for item in body.changelog.items
    )
    return JiraChange(
        state, actor=actor, status_actor=actor if moved else None, moment=state.updated or body.moment
    )


def poll_change(
    issue_id: str, key: str, fields: Mapping[str, Any], changelog: Mapping[str, Any] | None = None
) -> JiraChange | None:
    """The change a poll's search hit reports (fields, and the changelog of `expand=changelog`).

    Who changed it last: the author of the latest change group or comment (Jira keeps comments out
    of the changelog); who moved its status: the author of the latest change group with a status
    item. None for a hit without a key.
    """
    state = IssueState.from_issue({"id": issue_id, "key": key, "fields": dict(fields)})
    if state is None:
        return None
    latest: tuple[datetime, JiraUser] | None = None
    moved: tuple[datetime, JiraUser] | None = None
    histories = (changelog or {}).get("histories")
    for group in histories if isinstance(histories, list) else []:
        if not isinstance(group, dict):
            continue
        when, who = jira_time(group.get("created")), _user(group.get("author"))
        if when is None or who is None:
            continue
        if latest is None or when >= latest[0]:
            latest = (when, who)
        items = group.get("items")
        status_moved = isinstance(items, list) and any(
            isinstance(i, dict) and (i.get("fieldId") or i.get("field")) == "status" for i in items
        )
        if status_moved and (moved is None or when >= moved[0]):
            moved = (when, who)
    page = fields.get("comment")
    comments = page.get("comments") if isinstance(page, dict) else None
    for comment in comments if isinstance(comments, list) else []:
        if not isinstance(comment, dict):
            continue
        when = jira_time(comment.get("updated")) or jira_time(comment.get("created"))
        who = _user(comment.get("updateAuthor")) or _user(comment.get("author"))
        if when is not None and who is not None and (latest is None or when >= latest[0]):
            latest = (when, who)
    return JiraChange(
        state,
        actor=None if latest is None else latest[1],
        status_actor=None if moved is None else moved[1],
        moment=state.updated,
    )


# --- the rule -----------------------------------------------------------------------------------


def shown_name(user: JiraUser) -> str:
    """How a user is named in the record: the display name, else the id Jira knows it by."""
    if user.display_name:
        return user.display_name
    first = min(user.ids) if user.ids else ""
    return first.partition(":")[2] or first


def is_driver(user: JiraUser | None, me: JiraUser | None) -> bool | None:
    """Whether `user` is the driver's own Jira account `me` (by any id); None when either is unknown."""
    if user is None or me is None or not me.ids:
        return None
    return bool(user.ids & me.ids)


def _beyond(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment > now + EVENT_CLOCK_SKEW


def from_the_future(change: JiraChange, now: datetime) -> bool:
    """Whether the change's time is beyond now + EVENT_CLOCK_SKEW (apply_change takes it as now)."""
    return _beyond(change.moment, now)


def apply_change(
    record: TicketRecord, change: JiraChange, me: JiraUser | None, now: datetime
) -> TicketRecord | None:
    """The record once `change` is known; None when it changes nothing.

    A change dated beyond now + EVENT_CLOCK_SKEW counts as made now; a record's `jira_updated` beyond
    it (written by a driver that did not clamp) counts as unknown, so the record takes changes again.
    None for a change older than the record's `jira_updated` (a late retry, an overlapping poll),
    and for anything but a deletion once the ticket is known deleted. A deletion sets `deleted_at`
    (now: when the driver learnt it). Entering a done status sets `resolved_at` (the change's
    moment) and `resolved_by_driver` (whether the status was moved by `me`); both are kept while it
    stays done and cleared when it leaves. `synced_at` is now.
    """
    actor = change.actor
    by_driver = is_driver(actor, me)
    if change.deleted:
        if record.deleted_at is not None:
            return None
        return replace(
            record,
            deleted_at=now,
            changed_by=shown_name(actor) if actor is not None else record.changed_by,
            changed_by_driver=by_driver if actor is not None else record.changed_by_driver,
            synced_at=now,
        )
    if record.deleted_at is not None:
        return None
    moment = now if _beyond(change.moment, now) else change.moment
    known = None if _beyond(record.jira_updated, now) else record.jira_updated
    if moment is not None and known is not None and moment < known:
        return None
    state, sent = change.state, change.state.fields
    # the record follows the issue id: a ticket a person moved is named by its new key from now
    new = replace(record.moved_to(state.key, state.project), synced_at=now)
    if "status" in sent and state.status:
        new.jira_status = state.status
        new.status_category = state.status_category or None
    if "resolution" in sent:
        new.resolution = state.resolution
    if "assignee" in sent:
        new.assignee = state.assignee
    if state.project:
        new.project = state.project
    if state.issuetype:
        new.issuetype = state.issuetype
    if actor is not None:
        new.changed_by = shown_name(actor)
        new.changed_by_driver = by_driver
    if moment is not None:
        new.jira_updated = moment
    was_done = record.status_category == "done"
    if new.status_category == "done" and not was_done:
        new.resolved_at = moment or now
        # Who moved it is what counts, never who touched it last: an edit's actor after a missed
        # status webhook is not the resolver. Unknown means not the driver, whose own transitions
        # are recorded by the engine itself (driver.sending.recording) when they are answered.
        new.resolved_by_driver = (
            is_driver(change.status_actor, me) if change.status_actor is not None else False
        )
    elif new.status_category != "done":
        new.resolved_at = None
        new.resolved_by_driver = None
    return new


def changed(old: TicketRecord, new: TicketRecord) -> bool:
    """Whether the record says anything new, apart from when sync last heard of the ticket."""
    return replace(old, synced_at=None) != replace(new, synced_at=None)


def stamp_owner(
    state: IssueState, guids: Iterable[tuple[str, int]], guid_field: str, label_prefix: str
) -> str | None:
    """Which of these (GUID, generation) pairs (creates in doubt) the issue is stamped for, if any.

    The stamp is the guid_field's exact value, or else the GUID's label among `labels`
    (driver.sending.exactly_once.exact_match). An issue whose fields do not include the stamp's field
    matches none.
    """
    fields = state.fields
    if guid_field and guid_field not in fields:
        return None
    if not guid_field and not isinstance(fields.get("labels"), list):
        return None
    hit = [state]
    for guid, generation in guids:
        if exact_match(guid, hit, guid_field, label_prefix, generation=generation) is not None:
            return guid
    return None


# --- polling ------------------------------------------------------------------------------------


HandledResult = Literal["applied", "unchanged", "duplicate", "ignored"]


@dataclass(frozen=True)
class Handled:
    """What handling one change did.

    applied    the driver's ticket; its record changed
    unchanged  the driver's ticket, nothing new to record (older than the record, after its
               deletion, an earlier ticket of the GUID, or a create still in doubt)
    duplicate  a webhook delivery already handled (Jira's retry)
    ignored    not the driver's issue, or an event sync does not use
    """

    result: HandledResult
    key: str = ""
    reason: str = ""


WEBHOOK_IDS_KEEP = timedelta(days=7)
"""How long delivery identifiers are kept to tell Jira's retries (which come within hours)."""
