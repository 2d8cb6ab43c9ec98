"""Workflow transitions (pure): which transition reaches a target, and the body that does it.

Jira moves an issue between statuses only by a transition of its workflow (docs/wire-facts.md §4): the
issue lists what it offers now (`getTransitions` with expand=transitions.fields: each transition's
id, name, target status and category, and its screen's fields), and `doTransition` takes
`{"transition": {"id"}, "fields": {...screen fields}, "update": {"comment": [{"add": {...}}]}}`.
Transition ids belong to a workflow, so the driver caches them per project, issue type and the
status the issue is in (`TransitionCache`), and drops an entry Jira refuses.

A target (`[lifecycle] resolve_target`, `reopen_target`) is a status category (`done`, `new`,
`indeterminate`, or `category:done`) or a status name (`status:Resolved`, or any other name),
compared case-insensitively. The first transition in Jira's order that leads there is taken.

Each POST carries a marker of its own attempt, an issue property (`MARKER_PROPERTY`) set by the
transition itself (doTransition's body is IssueUpdateDetails, whose `properties` Jira sets with
it). When the answer is lost, reading the property back tells whether that very attempt went
through: a move to the same status made earlier (a flapping alarm) is no evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from driver.model.answers import STATUS_CATEGORIES, IssueTransition

RESOLUTION_FIELD = "resolution"
MARKER_PROPERTY = "jira-driver.transition"
"""The issue property a transition POST sets to name its attempt (docs/wire-facts.md §10: key <= 255
characters, a JSON value)."""


def marker(log_id: int, attempt: str) -> dict[str, Any]:
    """The `properties` entry of a transition body naming this attempt of log row `log_id`."""
    return {"key": MARKER_PROPERTY, "value": {"log": log_id, "attempt": attempt}}


def marked_by(properties: Mapping[str, Any], attempt: str) -> bool:
    """Whether an issue's properties (IssueBean.properties) carry this attempt's marker; never for
    an empty attempt (a journal entry older than markers)."""
    value = properties.get(MARKER_PROPERTY)
    return bool(attempt) and isinstance(value, dict) and value.get("attempt") == attempt


@dataclass(frozen=True)
class Target:
    """Where a transition should lead: a status category key or a status name."""

    kind: Literal["category", "status"]
    value: str

    @classmethod
    def parse(cls, text: str) -> Target:
        """From the config's form: `done`/`new`/`indeterminate`, `category:<key>`, `status:<name>`, a name.

        Raises ValueError for an empty text or an unknown category.
        """
        text = text.strip()
        lowered = text.lower()
        if lowered.startswith("category:"):
            key = lowered[len("category:") :].strip()
            if key not in STATUS_CATEGORIES:
                raise ValueError(f"unknown status category {key!r} (known: {', '.join(STATUS_CATEGORIES)})")
            return cls("category", key)
        if lowered.startswith("status:"):
            name = text[len("status:") :].strip()
            if not name:
                raise ValueError("empty status name")
            return cls("status", name)
        if lowered in STATUS_CATEGORIES:
            return cls("category", lowered)
        prefix, colon, _ = text.partition(":")
        if colon and prefix.strip().isalpha():
            raise ValueError(f"unknown prefix {prefix.strip() + ':'!r} (write status:NAME or category:KEY)")
        if not text:
            raise ValueError("empty target")
        return cls("status", text)

    def reached(self, status: str, category: str) -> bool:
        """An issue in `status` (of `category`) is already there."""
        if self.kind == "category":
            return category == self.value
        return status.casefold() == self.value.casefold()

    def leads_there(self, transition: IssueTransition) -> bool:
        """The transition ends in the target."""
        return self.reached(transition.to_status, transition.to_category)

    def __str__(self) -> str:
        if self.kind == "category":
            return f"a status of category {self.value!r}"
        return f"status {self.value!r}"


def choose(offered: Sequence[IssueTransition], target: Target) -> IssueTransition | None:
    """The first offered transition that leads to the target (Jira lists them in ops-bar order)."""
    return next((t for t in offered if target.leads_there(t)), None)


def offered_text(offered: Sequence[IssueTransition]) -> str:
    """The offered transitions as `name -> status (category)`, for an operator fixing the config."""
    if not offered:
        return "none"
    return ", ".join(
        f"{t.name} -> {t.to_status}" + (f" ({t.to_category})" if t.to_category else "") for t in offered
    )


def no_transition_reason(key: str, status: str, target: Target, offered: Sequence[IssueTransition]) -> str:
    """Why no request can move the issue: what it offers instead (name -> status)."""
    return (
        f"no transition of {key} (status {status!r}) leads to {target}; it offers: {offered_text(offered)}"
        " (set [lifecycle] resolve_target / reopen_target to one of these statuses or categories)"
    )


class TransitionRefused(Exception):
    """The transition cannot be asked for as the command says (an unknown resolution): Failed."""


@dataclass(frozen=True)
class TransitionRequest:
    """A doTransition body and what the command named that the screen does not take."""

    body: dict[str, Any]
    edit: dict[str, Any] | None
    """Fields not on the transition's screen, set by an edit (PUT) before the transition; None if none."""
    notes: tuple[str, ...] = ()
    comments_apart: bool = False
    """The comments are not in the body: the transition has no screen, so Jira would drop them;
    they go as comments of their own (POST .../comment) before it."""


def transition_request(
    transition: IssueTransition,
    fields: Mapping[str, Any],
    comments: Sequence[Mapping[str, Any]],
    resolution: str | None,
    default_resolution: str,
    updates: Mapping[str, Any] | None = None,
) -> TransitionRequest:
    """The body that takes `transition`, with the screen's fields and the comments in one request.

    fields: the command's shaped fields (field id -> JSON); those on the screen go in the body's
    `fields`, the rest into an edit made first. comments: comment bodies as POST /comment takes
    them (`{"body": ...}`, plain or ADF), added by `update.comment` when the transition has a
    screen, else marked `comments_apart` (Jira answers 204 to a screenless transition and drops
    its comments: docs/wire-facts.md §4). resolution: the command's
    `resolution;name`, else `default_resolution` when the screen has a resolution field.
    updates: add/remove verbs of multi-value fields (driver.model.multi_values), sent in the edit.
    Raises TransitionRefused for a resolution the screen does not offer (naming those it does).
    """
    notes: list[str] = []
    screen = transition.fields
    body_fields: dict[str, Any] = {}
    edit: dict[str, Any] = {}
    for fid, value in fields.items():
        if fid in screen:
            body_fields[fid] = value
        else:
            edit[fid] = value
    meta = screen.get(RESOLUTION_FIELD)
    if meta is not None:
        wanted = resolution or default_resolution
        if wanted:
            chosen = wanted
            if meta.allowed:
                match = next((name for name in meta.allowed if name.casefold() == wanted.casefold()), None)
                if match is None:
                    raise TransitionRefused(
                        f"unknown resolution {wanted!r} for transition {transition.name!r}"
                        f" (resolutions: {', '.join(meta.allowed)})"
                    )
                chosen = match
            body_fields[RESOLUTION_FIELD] = {"name": chosen}
    elif resolution:
        notes.append(
            f"transition {transition.name!r} has no resolution on its screen:"
            f" resolution {resolution!r} not set"
        )
    body: dict[str, Any] = {"transition": {"id": transition.id}}
    if body_fields:
        body["fields"] = body_fields
    apart = bool(comments) and not transition.has_screen
    if comments and not apart:
        body["update"] = {"comment": [{"add": dict(comment)} for comment in comments]}
    before: dict[str, Any] = {}
    if edit:
        before["fields"] = edit
    if updates:
        before["update"] = dict(updates)
    return TransitionRequest(body, before or None, tuple(notes), apart)


@dataclass
class TransitionCache:
    """Transitions found before, by (project, issue type, current status, target).

    Ids are per workflow (docs/wire-facts.md §4) and what is offered depends on the status, so the key holds
    all three; an entry Jira refuses (400, 409, DC's 500 for a wrong id) is dropped and looked up again.
    """

    entries: dict[tuple[str, str, str, Target], IssueTransition] = field(default_factory=dict)
    limit: int = 1024

    def get(self, project: str, issuetype: str, status: str, target: Target) -> IssueTransition | None:
        """The cached transition, if any (an issue with no project or type is never cached)."""
        if not project or not issuetype:
            return None
        return self.entries.get((project, issuetype, status.casefold(), target))

    def put(
        self, project: str, issuetype: str, status: str, target: Target, transition: IssueTransition
    ) -> None:
        """Remember a transition (the cache is bounded: the oldest entry goes first)."""
        if not project or not issuetype:
            return
        if len(self.entries) >= self.limit:
            self.entries.pop(next(iter(self.entries)))
        self.entries[(project, issuetype, status.casefold(), target)] = transition

    def drop(self, project: str, issuetype: str, status: str, target: Target) -> None:
        """Forget an entry Jira refused."""
        self.entries.pop((project, issuetype, status.casefold(), target), None)
