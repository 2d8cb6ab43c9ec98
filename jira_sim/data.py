"""In-memory state: the catalog (users, projects, types, priorities, fields, workflow) and the issues."""

from __future__ import annotations

import hashlib
import itertools
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jira_sim.clock import SYSTEM_CLOCK, Clock
from jira_sim.settings import SimSettings, UserSpec


@dataclass(frozen=True)
class User:
    name: str
    key: str
    account_id: str
    display_name: str
    email: str
    password: str
    tokens: frozenset[str]
    no_create: frozenset[str]
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    lead: str


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str
    icon: str


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str
    rank: int  # larger is more urgent, so ORDER BY priority DESC lists Highest first


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color: str


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: StatusCategory


@dataclass(frozen=True)
class Resolution:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Transition:
    """One move of a workflow: from `sources` (empty: a global transition, from any other status) to `to`.

    `resolution` says how its screen treats the resolution field: "required" (the classic Resolve
    Issue screen), "optional", or "absent" (the field cannot be set, Jira's "not on the appropriate
    screen"). A transition has a screen when its resolution is on one; `screen` says otherwise. Jira
    applies a comment sent with a transition (`update.comment`) only when it has a screen: without one
    it answers 204 and drops the comment.
    """

    id: str
    name: str
    to: Status
    sources: frozenset[str] = frozenset()
    resolution: Literal["required", "optional", "absent"] = "absent"
    screen: bool | None = None
    keeps_resolution: bool = False
    """Leaving a done status by this transition keeps the resolution: a workflow whose reopen lacks
    Jira's "clear resolution" post function (the issue then counts as resolved in filters)."""

    @property
    def has_screen(self) -> bool:
        """Whether the transition shows a screen (Cloud's `hasScreen`)."""
        return self.resolution != "absent" if self.screen is None else self.screen

    @property
    def is_global(self) -> bool:
        return not self.sources

    def available_from(self, status: Status) -> bool:
        """Whether an issue in `status` can take this transition (a global one never leads to itself)."""
        if self.is_global:
            return self.to != status
        return status.id in self.sources


@dataclass(frozen=True)
class Workflow:
    """A named workflow: its statuses (the first is the initial one) and transitions, in ops-bar order."""

    name: str
    statuses: tuple[Status, ...]
    transitions: tuple[Transition, ...]

    @property
    def initial(self) -> Status:
        return self.statuses[0]

    def transition(self, transition_id: str) -> Transition | None:
        """The transition with this id, if the workflow has one."""
        for transition in self.transitions:
            if transition.id == transition_id:
                return transition
        return None

    def available(self, status: Status) -> list[Transition]:
        """The transitions an issue in `status` offers, in order."""
        return [t for t in self.transitions if t.available_from(status)]


@dataclass(frozen=True)
class Option:
    id: str
    value: str


@dataclass(frozen=True)
class FieldDef:
    """A field as GET /field lists it, plus how the simulator reads and writes it."""

    id: str
    name: str
    kind: str  # internal value kind: string, richtext, number, option, options, user, date, labels, ...
    schema: dict[str, Any]
    custom: bool = False
    settable: bool = True
    required: bool = False
    options: tuple[Option, ...] = ()
    clause_names: tuple[str, ...] = ()
    operations: tuple[str, ...] = ("set",)

    def option(self, value: str | None = None, option_id: str | None = None) -> Option | None:
        """The option with this value or id, if any."""
        for option in self.options:
            if (value is not None and option.value == value) or (
                option_id is not None and option.id == option_id
            ):
                return option
        return None


CATEGORY_NEW = StatusCategory(2, "new", "To Do", "blue-gray")
CATEGORY_IN_PROGRESS = StatusCategory(4, "indeterminate", "In Progress", "yellow")
CATEGORY_DONE = StatusCategory(3, "done", "Done", "green")
STATUS_TODO = Status("10000", "To Do", CATEGORY_NEW)
STATUS_IN_PROGRESS = Status("3", "In Progress", CATEGORY_IN_PROGRESS)
STATUS_DONE = Status("10001", "Done", CATEGORY_DONE)
# Jira's own ids for the classic statuses; Reopened is in the To Do (new) category, as in Jira.
STATUS_REOPENED = Status("4", "Reopened", CATEGORY_NEW)
STATUS_RESOLVED = Status("5", "Resolved", CATEGORY_DONE)
STATUSES = (STATUS_TODO, STATUS_IN_PROGRESS, STATUS_DONE, STATUS_REOPENED, STATUS_RESOLVED)

_TODO, _PROGRESS, _DONE, _REOPENED, _RESOLVED = (s.id for s in STATUSES)

# Jira's simplified workflow (company-managed "Software Simplified Workflow"): one global transition into
# each status, named after it; Done sets a resolution (Done unless the request names another).
SIMPLIFIED_WORKFLOW = Workflow(
    "Software Simplified Workflow for Project OPS",
    (STATUS_TODO, STATUS_IN_PROGRESS, STATUS_DONE),
    (
        Transition("11", "To Do", STATUS_TODO),
        Transition("21", "In Progress", STATUS_IN_PROGRESS),
        Transition("31", "Done", STATUS_DONE, resolution="optional"),
    ),
)
# A classic workflow with a resolve screen (resolution required) and a Reopened status.
CLASSIC_WORKFLOW = Workflow(
    "NET: Incident and Task workflow",
    (STATUS_TODO, STATUS_IN_PROGRESS, STATUS_DONE, STATUS_REOPENED),
    (
        Transition("11", "Start Progress", STATUS_IN_PROGRESS, frozenset({_TODO, _REOPENED})),
        Transition("21", "Stop Progress", STATUS_TODO, frozenset({_PROGRESS})),
        Transition("31", "Resolve Issue", STATUS_DONE, frozenset({_TODO, _PROGRESS, _REOPENED}), "required"),
        Transition("41", "Reopen Issue", STATUS_REOPENED, frozenset({_DONE})),
    ),
)
# After Jira's classic default workflow ("jira"), with its transition ids (4, 301, 5, 2, 701, 3) and an
# extra done status, Resolved (Done plays the classic Closed): the same names as CLASSIC_WORKFLOW under
# other ids, so a client that caches transition ids per project and issue type is put to the test.
RESOLVED_WORKFLOW = Workflow(
    "NET: Bug workflow",
    (STATUS_TODO, STATUS_IN_PROGRESS, STATUS_RESOLVED, STATUS_DONE, STATUS_REOPENED),
    (
        Transition("4", "Start Progress", STATUS_IN_PROGRESS, frozenset({_TODO, _REOPENED})),
        Transition("301", "Stop Progress", STATUS_TODO, frozenset({_PROGRESS})),
        Transition(
            "5", "Resolve Issue", STATUS_RESOLVED, frozenset({_TODO, _PROGRESS, _REOPENED}), "required"
        ),
        Transition("2", "Close Issue", STATUS_DONE, frozenset({_TODO, _PROGRESS, _REOPENED}), "required"),
        Transition("701", "Close Issue", STATUS_DONE, frozenset({_RESOLVED})),
        # this workflow's reopen lacks the "clear resolution" post function (a common oversight)
        Transition(
            "3", "Reopen Issue", STATUS_REOPENED, frozenset({_RESOLVED, _DONE}), keeps_resolution=True
        ),
    ),
)
WORKFLOWS = (SIMPLIFIED_WORKFLOW, CLASSIC_WORKFLOW, RESOLVED_WORKFLOW)
# Jira's defaults: the classic resolutions (ids 1-5) and Cloud's newer ones (10000+).
RESOLUTIONS = (
    Resolution("1", "Fixed", "A fix for this issue is checked into the tree and tested."),
    Resolution("2", "Won't Fix", "The problem described is an issue which will never be fixed."),
    Resolution("4", "Incomplete", "The problem is not completely described."),
    Resolution("5", "Cannot Reproduce", "All attempts at reproducing this issue failed."),
    Resolution("10000", "Done", "Work has been completed on this issue."),
    Resolution("10001", "Won't Do", "This issue won't be actioned."),
    Resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
)
DEFAULT_RESOLUTION = RESOLUTIONS[4]
PRIORITIES = (
    Priority("1", "Highest", "#d04437", 5),
    Priority("2", "High", "#f15C75", 4),
    Priority("3", "Medium", "#f79232", 3),
    Priority("4", "Low", "#707070", 2),
    Priority("5", "Lowest", "#999999", 1),
)
DEFAULT_PRIORITY = PRIORITIES[2]
ISSUE_TYPES = (
    IssueType("10001", "Task", "A task that needs to be done.", "task"),
    IssueType("10002", "Bug", "A problem which impairs or prevents the functions of the product.", "bug"),
    IssueType("10003", "Incident", "A system incident, raised from an alarm.", "incident"),
)
PROJECTS = (
    Project("10000", "OPS", "Operations", "admin"),
    Project("10001", "NET", "Network", "admin"),
)

_CF = "com.atlassian.jira.plugin.system.customfieldtypes:"


def _system(fid: str, name: str, kind: str, schema_type: str, **extra: Any) -> FieldDef:
    schema: dict[str, Any] = {"type": schema_type, "system": fid}
    if "items" in extra:
        schema["items"] = extra.pop("items")
    return FieldDef(fid, name, kind, schema, clause_names=extra.pop("clauses", (fid,)), **extra)


def _custom(num: int, name: str, kind: str, schema_type: str, custom: str, **extra: Any) -> FieldDef:
    schema: dict[str, Any] = {"type": schema_type, "custom": _CF + custom, "customId": num}
    if "items" in extra:
        schema["items"] = extra.pop("items")
    return FieldDef(
        f"customfield_{num}", name, kind, schema, custom=True, clause_names=(f"cf[{num}]", name), **extra
    )


FIELDS: tuple[FieldDef, ...] = (
    _system("summary", "Summary", "string", "string", required=True),
    _system("description", "Description", "richtext", "string"),
    _system("environment", "Environment", "richtext", "string"),
    _system("project", "Project", "project", "project", required=True),
    _system(
        "issuetype", "Issue Type", "issuetype", "issuetype", required=True, clauses=("issuetype", "type")
    ),
    _system("priority", "Priority", "priority", "priority"),
    _system("labels", "Labels", "labels", "array", items="string", operations=("add", "set", "remove")),
    _system("assignee", "Assignee", "user", "user"),
    _system("reporter", "Reporter", "user", "user"),
    _system("duedate", "Due date", "date", "date", clauses=("due", "duedate")),
    _system("status", "Status", "status", "status", settable=False),
    _system("resolution", "Resolution", "resolution", "resolution", settable=False),
    _system("resolutiondate", "Resolved", "datetime", "datetime", settable=False, clauses=("resolved",)),
    _system("created", "Created", "datetime", "datetime", settable=False, clauses=("created", "createdDate")),
    _system("updated", "Updated", "datetime", "datetime", settable=False, clauses=("updated", "updatedDate")),
    _system("creator", "Creator", "user", "user", settable=False),
    _system(
        "comment",
        "Comment",
        "comments",
        "comments-page",
        settable=False,
        operations=("add", "edit", "remove"),
    ),
    _system("issuekey", "Key", "key", "string", settable=False, clauses=("id", "issue", "issuekey", "key")),
    _custom(
        10100,
        "Alarm Severity",
        "option",
        "option",
        "select",
        options=(
            Option("10200", "Critical"),
            Option("10201", "Major"),
            Option("10202", "Minor"),
            Option("10203", "Warning"),
        ),
    ),
    _custom(10101, "Alarm GUID", "string", "string", "textfield"),
    _custom(10102, "Alarm Count", "number", "number", "float"),
    _custom(
        10103,
        "Affected Services",
        "options",
        "array",
        "multiselect",
        items="option",
        options=(
            Option("10210", "Network"),
            Option("10211", "Storage"),
            Option("10212", "Compute"),
            Option("10213", "Database"),
        ),
        operations=("add", "set", "remove"),
    ),
    _custom(10104, "On-call Engineer", "user", "user", "userpicker"),
    _custom(10105, "Detected On", "date", "date", "datepicker"),
    _custom(10106, "Alarm Details", "richtext", "string", "textarea"),
)


def _account_id(name: str) -> str:
    return "5b10ac8d82e05b22cc7d" + hashlib.sha1(name.encode()).hexdigest()[:4]


def make_user(spec: UserSpec) -> User:
    """The runtime account for a configured user."""
    return User(
        name=spec.name,
        key=f"JIRAUSER{10000 + int(hashlib.sha1(spec.name.encode()).hexdigest()[:4], 16)}",
        account_id=_account_id(spec.name),
        display_name=spec.display_name or spec.name.capitalize(),
        email=spec.email or f"{spec.name}@example.com",
        password=spec.password,
        tokens=frozenset(spec.tokens),
        no_create=frozenset(spec.no_create),
        time_zone=spec.time_zone,
    )


class Catalog:
    """Every lookup the handlers need, by name (case-insensitive) and by id, as dicts."""

    def __init__(self, settings: SimSettings) -> None:
        self.users = [make_user(spec) for spec in settings.users]
        self.user_by_name = {u.name.lower(): u for u in self.users}
        self.user_by_email = {u.email.lower(): u for u in self.users}
        self.user_by_account = {u.account_id: u for u in self.users}
        self.user_by_key = {u.key: u for u in self.users}
        self.user_by_token = {token: u for u in self.users for token in u.tokens}
        self.user_by_scoped_token = {
            token: self.user_by_name[spec.name.lower()]
            for spec in settings.users
            for token in spec.scoped_tokens
        }
        self.projects = PROJECTS
        self.project_by_key = {p.key: p for p in PROJECTS}
        self.project_by_id = {p.id: p for p in PROJECTS}
        self.issue_types = ISSUE_TYPES
        self.issue_type_by_name = {t.name.lower(): t for t in ISSUE_TYPES}
        self.issue_type_by_id = {t.id: t for t in ISSUE_TYPES}
        self.priorities = PRIORITIES
        self.priority_by_name = {p.name.lower(): p for p in PRIORITIES}
        self.priority_by_id = {p.id: p for p in PRIORITIES}
        self.statuses = STATUSES
        self.status_by_name = {s.name.lower(): s for s in STATUSES}
        self.status_by_id = {s.id: s for s in STATUSES}
        self.workflows = WORKFLOWS
        self.resolutions = RESOLUTIONS
        self.resolution_by_name = {r.name.lower(): r for r in RESOLUTIONS}
        self.resolution_by_id = {r.id: r for r in RESOLUTIONS}
        self.fields = FIELDS
        self.field_by_id = {f.id: f for f in FIELDS}

    def workflow(self, project: Project, issuetype: IssueType) -> Workflow:
        """The workflow of a project and issue type: OPS has the simplified one for every type; NET Bug
        the classic one with Resolved; other NET types the classic one with a required resolution."""
        if project.key != "NET":
            return SIMPLIFIED_WORKFLOW
        return RESOLVED_WORKFLOW if issuetype.name == "Bug" else CLASSIC_WORKFLOW

    def project(self, key_or_id: str) -> Project | None:
        """A project by key (case-insensitive) or id."""
        return self.project_by_key.get(key_or_id.upper()) or self.project_by_id.get(key_or_id)


def now(clock: Clock = SYSTEM_CLOCK) -> datetime:
    """The clock's time in UTC, to the millisecond as Jira keeps it."""
    current = clock.now().astimezone(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


RENDER_ZONE: ContextVar[str] = ContextVar("render_zone", default="UTC")
"""The zone the answer being rendered is in: the requesting user's (set by the auth middleware),
UTC for webhook deliveries and the admin API. Jira renders timestamps in the user's profile zone."""


def jira_time(value: datetime) -> str:
    """Jira's timestamp format, e.g. 2021-01-17T12:34:00.000+0000 (not RFC 3339: no colon in the
    offset), in RENDER_ZONE (e.g. 2021-01-17T18:04:00.000+0530 for Asia/Kolkata)."""
    zone = RENDER_ZONE.get()
    if zone != "UTC":
        value = value.replace(tzinfo=value.tzinfo or UTC).astimezone(ZoneInfo(zone))
    offset = value.strftime("%z") or "+0000"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}{offset}"


RichText = str | dict[str, Any]  # plain text (v2, DC) or an ADF document (Cloud v3) as it came in


@dataclass
class Comment:
    id: str
    author: User
    body: RichText
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class ChangeItem:
    """One changed field of a change group, as Jira's changelog and webhooks show it (docs/wire-facts.md §12):
    `source`/`target` are ids or keys (a status id, a user's name or accountId), the strings what a
    person reads."""

    field: str
    field_id: str
    custom: bool
    source: str | None
    source_string: str | None
    target: str | None
    target_string: str | None


@dataclass(frozen=True)
class ChangeGroup:
    """One history entry of an issue: who changed which fields when."""

    id: str
    author: User
    created: datetime
    items: tuple[ChangeItem, ...]


@dataclass
class Issue:
    id: str
    key: str
    number: int
    project: Project
    issuetype: IssueType
    summary: str
    priority: Priority
    reporter: User
    creator: User
    created: datetime
    updated: datetime
    status: Status = STATUS_TODO
    resolution: Resolution | None = None
    resolutiondate: datetime | None = None
    assignee: User | None = None
    labels: list[str] = field(default_factory=list)
    # Every other field by id: richtext (str or ADF), option, tuple of options, user, str date, float.
    values: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    watchers: list[User] = field(default_factory=list)
    changelog: list[ChangeGroup] = field(default_factory=list)
    # the clock's monotonic time after which JQL search sees the issue (Cloud's eventual consistency)
    searchable_at: float = 0.0


class Store:
    """The issues, by key and by id; create and lookup are dict operations. A moved issue is under
    its old keys too (`by_key`); `by_id` holds each issue once."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every issue; keys start again at 1."""
        self.by_key: dict[str, Issue] = {}
        self.by_id: dict[str, Issue] = {}
        self._ids = itertools.count(10000)
        self._comment_ids = itertools.count(10000)
        self._history_ids = itertools.count(10000)
        self._numbers: dict[str, itertools.count[int]] = {}

    def next_key(self, project: Project) -> tuple[str, str, int]:
        """A fresh (id, key, number) for an issue of this project."""
        counter = self._numbers.setdefault(project.key, itertools.count(1))
        number = next(counter)
        return str(next(self._ids)), f"{project.key}-{number}", number

    def next_comment_id(self) -> str:
        """A fresh comment id."""
        return str(next(self._comment_ids))

    def next_history_id(self) -> str:
        """A fresh changelog (change group) id."""
        return str(next(self._history_ids))

    def remove(self, issue: Issue) -> None:
        """Delete an issue: its keys (a moved issue's old ones too) and id no longer find it (keys
        are not reused)."""
        for key in [k for k, found in self.by_key.items() if found is issue]:
            del self.by_key[key]
        self.by_id.pop(issue.id, None)

    def add(self, issue: Issue, search_lag: float) -> None:
        """Store a new issue; search sees it only after search_lag seconds of the store's clock."""
        issue.searchable_at = self.clock.monotonic() + search_lag if search_lag > 0 else 0.0
        self.by_key[issue.key] = issue
        self.by_id[issue.id] = issue

    def get(self, key_or_id: str) -> Issue | None:
        """An issue by key (case-insensitive) or id."""
        return self.by_key.get(key_or_id.upper()) or self.by_id.get(key_or_id)
