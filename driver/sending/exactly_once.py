"""Exactly once under ambiguity: the rules the engine applies when Jira's answer is unknown.

The engine (driver.sending.engine) owns the journals and the requests; this module holds the decisions,
as pure functions over what Jira and the store returned.

Creates
    Before a create goes out its intent is committed (tickets.state = creating). If the outcome is
    unknown (timeout, lost connection, 5xx, or the driver died), the GUID is in doubt and the next
    attempt first searches Jira for the GUID's stamp. Search may lag (Jira Cloud), so a miss is
    only trusted after a second probe `probe_delay` seconds later (PROBE_MISSES_TRUSTED); then the
    create is sent again.
    A hit counts only if it carries the stamp exactly (`exact_match`).
    A 429 or 401 proves nothing was created, so no probe follows those; nor does a failure to
    connect (refused, DNS, TLS, proxy), which proves nothing was sent (`never_sent`). A
    502/503/504 does not: a gateway may answer so after Jira got the request.

Comments
    Each comment's POST is journaled (store.comment_sends): 'sending' before, 'sent' with Jira's
    id after the 201. A refusal, or a request that never left, drops the entry (`comment_not_added`).
    An entry still 'sending' when its row comes round again is in doubt and is looked up on the
    ticket: a comment by the driver's Jira user, created at or after the row's intake (less
    COMMENT_CLOCK_SKEW), with the same text, and not one the driver already knows it posted
    (`our_comments`, `find_comment`). Reading comments is consistent: one miss is proof.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from driver.errors import JiraAuthError, JiraNotReached, JiraRateLimited, JiraRejected
from driver.model.answers import JiraComment, JiraUser
from driver.model.shaping import adf_to_text
from driver.model.stamps import (
    legacy_label_trusted,
    legacy_stamp_label,
    legacy_value_trusted,
    stamp_label,
    stamp_value,
)

# Jira's clock and ours may differ: an in-doubt comment may carry a creation time a little before
# its row's intake as our clock saw it.
COMMENT_CLOCK_SKEW = timedelta(minutes=2)
# Search may lag behind creates (Jira Cloud): a probe's miss is proof only once this many probes,
# `probe_delay` apart, have all missed.
PROBE_MISSES_TRUSTED = 2
# How long the ids of posted comments are kept to tell a repeated comment text from an in-doubt one.
COMMENT_JOURNAL_KEEP = timedelta(days=7)


def never_sent(error: BaseException) -> bool:
    """An outage that proves the request never reached Jira: no connection was made.

    driver.jira.client raises JiraNotReached for a failed connect, and a plain JiraUnavailable
    for a 502/503/504 (something answered, so the request may have arrived).
    """
    return isinstance(error, JiraNotReached)


def comment_not_added(error: BaseException) -> bool:
    """A comment POST that failed so that the comment is surely not on the ticket.

    Jira refused it (401, 429, other 4xx), or it never left: no lookup is needed.
    """
    return isinstance(error, JiraAuthError | JiraRateLimited | JiraRejected) or never_sent(error)


def exact_match(
    guid: str, found: Sequence[Any], guid_field: str, guid_label_prefix: str, *, generation: int = 1
) -> Any:
    """The probe hit that carries exactly the stamp of this GUID's ticket `generation`, if any.

    found holds search hits with a `fields` mapping (driver.model.answers.FoundIssue); the first
    that matches is returned, else None.
    A custom-field stamp is found by a full-text search (`cf[N] ~`), which also matches longer
    texts containing the GUID (another alarm's "X-1 east" for "X-1"): only the field's exact
    value (driver.model.stamps.stamp_value, or, for generation 1, the bare GUID earlier versions
    wrote, see legacy_value_trusted) proves it.
    Labels are matched by `=`, but Jira compares them case-insensitively, so the label must be
    among the hit's labels as written: the generation's stamp_label, or, for generation 1, the
    GUID's legacy label when that is trusted (driver.model.stamps.legacy_label_trusted: never for a
    GUID holding a space or `_`). No other generation's stamp is ever accepted.
    ValueError for a generation below 1.
    """
    if guid_field:
        wanted = {stamp_value(guid, generation).strip()}
        if generation == 1 and legacy_value_trusted(guid):
            wanted.add(guid.strip())
    else:
        wanted = {stamp_label(guid, guid_label_prefix, generation)}
        if generation == 1 and legacy_label_trusted(guid):
            wanted.add(legacy_stamp_label(guid, guid_label_prefix))
    for hit in found:
        values = getattr(hit, "fields", None) or {}
        if guid_field:
            value = values.get(guid_field)
            if isinstance(value, dict):
                value = adf_to_text(value)
            if isinstance(value, str) and value.strip() in wanted:
                return hit
        else:
            labels = values.get("labels")
            if not isinstance(labels, list) or wanted & {x for x in labels if isinstance(x, str)}:
                return hit
    return None


def comment_text(body: Any) -> str:
    """A comment body's text as compared: ADF reduced to its text, line ends and edges normalized."""
    text = adf_to_text(body) if isinstance(body, Mapping) else str(body or "")
    return text.replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class PostedComment:
    """A comment on the ticket that may be one of ours: Jira's id, creation time and text."""

    id: str
    created: datetime | None
    text: str


def our_comments(posted: Sequence[JiraComment], me: JiraUser, known: Collection[str]) -> list[PostedComment]:
    """The ticket's comments that could be an in-doubt one of ours.

    Written by the driver's Jira user (`me`, by any id it is known by) and not among the ids the
    driver already knows it posted (a flapping alarm repeats the same comment text).
    """
    candidates: list[PostedComment] = []
    for item in posted:
        if item.id in known or not (item.author.ids & me.ids):
            continue
        candidates.append(PostedComment(item.id, item.created, comment_text(item.body)))
    return candidates


def find_comment(candidates: Sequence[PostedComment], body: Any, since: datetime) -> PostedComment | None:
    """The first candidate with this body's text created at or after `since` (or of unknown time)."""
    text = comment_text(body)
    return next(
        (c for c in candidates if c.text == text and (c.created is None or c.created >= since)),
        None,
    )
