"""Jira's answers as typed values (pure): what the Jira client returns and the engine reads.

Each is built by driver.jira.client from one response; the wire shapes are those of the spec
operations named on each class (Atlassian's OpenAPI descriptions, vendored in tests/specs/jira-openapi;
docs/wire-facts.md §1 and §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Answer:
    """Jira's answer to one request: status and body (never headers), for the log."""

    status: int
    body: Any

    def as_dict(self) -> dict[str, Any]:
        """The answer as the log stores it: `{"status", "body"}`."""
        return {"status": self.status, "body": self.body}


@dataclass(frozen=True)
class CreatedIssue:
    """A 201 to `createIssue` (POST /issue): the new ticket's id, key and browse URL."""

    id: str
    key: str
    url: str
    answer: Answer


@dataclass(frozen=True)
class FoundIssue:
    """One hit of a JQL search (`searchForIssuesUsingJql*`), with the fields the search asked for."""

    id: str
    key: str
    url: str
    fields: dict[str, Any] = field(default_factory=dict)
    changelog: dict[str, Any] = field(default_factory=dict, compare=False)
    """The issue's `changelog` (`{histories: [{author, created, items}]}`) when the search expanded it."""


@dataclass(frozen=True)
class JiraUser:
    """A user as Jira names one (`getCurrentUser`, a comment's author): every id it is known by.

    `ids` holds `accountId:<id>` (Cloud) and `name:<n>` / `key:<k>` (Data Center).
    """

    ids: frozenset[str] = frozenset()
    display_name: str = ""

    @classmethod
    def from_json(cls, user: Any) -> JiraUser:
        """From Jira's user JSON (any shape; missing parts give an empty user)."""
        if not isinstance(user, dict):
            return cls()
        ids = frozenset(
            f"{name}:{user[name]}"
            for name in ("accountId", "name", "key")
            if isinstance(user.get(name), str) and user[name]
        )
        shown = user.get("displayName")
        return cls(ids, shown if isinstance(shown, str) else "")


@dataclass(frozen=True)
class JiraComment:
    """One comment of `getComments` (GET /issue/{key}/comment): id, author, creation time, body."""

    id: str
    author: JiraUser
    created: datetime | None
    body: Any
    """A string (v2) or an ADF document (v3)."""

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> JiraComment:
        """From one element of the `comments` list."""
        return cls(
            str(item.get("id", "")),
            JiraUser.from_json(item.get("author")),
            jira_time(item.get("created")),
            item.get("body"),
        )


def _part(mapping: dict[str, Any], name: str) -> dict[str, Any]:
    value = mapping.get(name)
    return value if isinstance(value, dict) else {}


STATUS_CATEGORIES = ("new", "indeterminate", "done")
"""The keys of Jira's status categories (StatusDetails.statusCategory.key; docs/wire-facts.md §4)."""


@dataclass(frozen=True)
class IssueState:
    """Where an issue stands: its status and category, resolution, assignee, project and type.

    Read from an IssueBean's `fields` (getIssue, a search hit, a webhook's `issue`): `status`
    (StatusDetails: name, statusCategory.key), `resolution` (name, or null), `assignee` (a user, or
    null), `project.key`, `issuetype.name`, `updated` (docs/wire-facts.md §4, §12).
    """

    key: str
    id: str = ""
    status: str = ""
    status_category: str = ""
    """new, indeterminate or done ('' when Jira did not say)."""
    resolution: str | None = None
    assignee: str | None = None
    """The assignee's display name (or id when Jira gives no name); None when unassigned."""
    project: str = ""
    issuetype: str = ""
    updated: datetime | None = None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)
    """The fields as Jira sent them (a stamp is looked for in them)."""
    properties: dict[str, Any] = field(default_factory=dict, compare=False)
    """The issue properties asked for (`getIssue` with `properties=`: IssueBean.properties, {key: value})."""

    @classmethod
    def from_issue(cls, issue: Any) -> IssueState | None:
        """From an IssueBean (`{id, key, fields}`); None when it has no key."""
        if not isinstance(issue, dict) or not isinstance(issue.get("key"), str):
            return None

        fields = _part(issue, "fields")
        status = _part(fields, "status")
        category = _part(status, "statusCategory")
        resolution = fields.get("resolution")
        assignee = fields.get("assignee")
        project = _part(fields, "project")
        issuetype = _part(fields, "issuetype")
        key = category.get("key")
        who: str | None = None
        if isinstance(assignee, dict):
            user = JiraUser.from_json(assignee)
            who = user.display_name or next(iter(sorted(user.ids)), None)
        return cls(
            key=issue["key"],
            id=str(issue.get("id", "")),
            status=str(status.get("name") or ""),
            status_category=key if key in STATUS_CATEGORIES else "",
            resolution=str(resolution["name"])
            if isinstance(resolution, dict) and resolution.get("name")
            else None,
            assignee=who,
            project=str(project.get("key") or ""),
            issuetype=str(issuetype.get("name") or ""),
            updated=jira_time(fields.get("updated")),
            fields=dict(fields),
            properties=dict(_part(issue, "properties")),
        )


@dataclass(frozen=True)
class ScreenField:
    """A field of a transition's screen (`IssueTransition.fields[id]`, under expand=transitions.fields)."""

    id: str
    name: str
    required: bool
    allowed: tuple[str, ...] = ()
    """The names (or values) of its allowedValues, e.g. the resolutions a resolve screen offers."""


@dataclass(frozen=True)
class IssueTransition:
    """One transition an issue offers now (`getTransitions`; docs/wire-facts.md §4): where it
    leads, its screen."""

    id: str
    name: str
    to_status: str
    to_category: str
    """new, indeterminate or done ('' when Jira did not say)."""
    fields: dict[str, ScreenField] = field(default_factory=dict)
    has_screen: bool = True
    """Whether the transition shows a screen: Jira applies a comment sent with it (`update.comment`)
    only then, and drops it silently otherwise (docs/wire-facts.md §4)."""

    @classmethod
    def from_json(cls, item: Any) -> IssueTransition | None:
        """From one element of `transitions`; None when it has no id."""
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            return None
        to = _part(item, "to")
        category = _part(to, "statusCategory")
        screen: dict[str, ScreenField] = {}
        raw_fields = item.get("fields")
        if isinstance(raw_fields, dict):
            for fid, meta in raw_fields.items():
                if not isinstance(meta, dict):
                    continue
                allowed = []
                for value in meta.get("allowedValues") or []:
                    if isinstance(value, dict):
                        shown = value.get("name") or value.get("value")
                        if isinstance(shown, str):
                            allowed.append(shown)
                screen[str(fid)] = ScreenField(
                    str(fid), str(meta.get("name") or fid), bool(meta.get("required")), tuple(allowed)
                )
        key = category.get("key")
        # Cloud says `hasScreen`; Data Center's TransitionBean does not, and lists a screen's fields
        # under expand=transitions.fields (none: no screen).
        has_screen = item.get("hasScreen")
        return cls(
            str(item["id"]),
            str(item.get("name") or ""),
            str(to.get("name") or ""),
            key if key in STATUS_CATEGORIES else "",
            screen,
            has_screen if isinstance(has_screen, bool) else bool(screen),
        )


def jira_time(value: Any) -> datetime | None:
    """A timestamp as Jira writes it, made aware (UTC if it has no zone); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
