"""What happens to an issue, whoever does it (a REST client or a person through /_sim/act): transitions,
edits, comments and deletion, each recorded in the issue's changelog and sent to the admin webhooks.

The REST routes validate a request in Jira's words and then call these; /_sim/act calls them as a
named user. Payload shapes follow docs/wire-facts.md §12 (webhookEvent, timestamp,
issue_event_type_name, user, issue, changelog, comment); issues and comments in payloads are
rendered as REST v2 renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jira_sim import issues as shapes
from jira_sim.data import (
    DEFAULT_RESOLUTION,
    RENDER_ZONE,
    ChangeGroup,
    ChangeItem,
    Comment,
    Issue,
    Option,
    Project,
    Resolution,
    RichText,
    Transition,
    User,
    jira_time,
    now,
)
from jira_sim.issues import Api, Changes
from jira_sim.jql import JqlError, compile_query
from jira_sim.search import functions_for
from jira_sim.state import SimState

_SYSTEM_TRACKED = ("summary", "issuetype", "priority", "labels", "assignee", "reporter")
Snapshot = dict[str, tuple[str | None, str | None]]
"""Field id -> (raw value, display string), the two halves of a changelog item."""


def _user_pair(api: Api, user: User | None) -> tuple[str | None, str | None]:
    if user is None:
        return None, None
    return (user.account_id if api.cloud else user.name), user.display_name


def _value_pair(api: Api, value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, Option):
        return value.id, value.value
    if isinstance(value, tuple):
        return (
            "[" + ", ".join(o.id for o in value) + "]",
            ",".join(o.value for o in value),
        )
    if isinstance(value, User):
        return _user_pair(api, value)
    if isinstance(value, float):
        return None, f"{value:g}"
    if isinstance(value, dict):
        return None, shapes.rich_text(value)
    return None, str(value)


def snapshot(api: Api, issue: Issue) -> Snapshot:
    """The fields an edit can change, in the form their changelog items take."""
    taken: Snapshot = {
        "summary": (None, issue.summary),
        "issuetype": (issue.issuetype.id, issue.issuetype.name),
        "priority": (issue.priority.id, issue.priority.name),
        "labels": (None, " ".join(issue.labels) or None),
        "assignee": _user_pair(api, issue.assignee),
        "reporter": _user_pair(api, issue.reporter),
    }
    for fid, value in issue.values.items():
        taken[fid] = _value_pair(api, value)
    return taken


def diff(state: SimState, before: Snapshot, after: Snapshot) -> list[ChangeItem]:
    """Changelog items for every field whose value differs, system fields first."""
    items: list[ChangeItem] = []
    order = [*_SYSTEM_TRACKED, *sorted((set(before) | set(after)) - set(_SYSTEM_TRACKED))]
    for fid in order:
        old, new = before.get(fid, (None, None)), after.get(fid, (None, None))
        if old == new:
            continue
        fdef = state.catalog.field_by_id[fid]
        name = fdef.name if fdef.custom else fid
        items.append(ChangeItem(name, fid, fdef.custom, old[0], old[1], new[0], new[1]))
    return items


def record(
    state: SimState, issue: Issue, actor: User, items: Sequence[ChangeItem], stamp: datetime
) -> ChangeGroup:
    """Add a change group to the issue's history."""
    group = ChangeGroup(state.store.next_history_id(), actor, stamp, tuple(items))
    issue.changelog.append(group)
    return group


def add_comment(state: SimState, issue: Issue, user: User, body: RichText, stamp: datetime) -> Comment:
    """Append a comment (plain text or ADF, as it came) written at `stamp`; the issue is updated then too."""
    comment = Comment(state.store.next_comment_id(), user, body, stamp, stamp)
    issue.comments.append(comment)
    issue.updated = stamp
    state.journal.counters.comments += 1
    return comment


def enter_status(
    state: SimState, issue: Issue, transition: Transition, resolution: Resolution | None
) -> list[ChangeItem]:
    """Put the issue in the transition's target status, as Jira's post functions do: a done status gets
    the resolution given (or keeps its own, or gets Done) and a resolution date; any other status clears
    both, unless the transition keeps the resolution. Returns the changelog items (status, resolution)."""
    old_status, old_resolution = issue.status, issue.resolution
    target = transition.to
    issue.status = target
    if target.category.key == "done":
        chosen = resolution or issue.resolution or DEFAULT_RESOLUTION
        if chosen != issue.resolution or issue.resolutiondate is None:
            issue.resolutiondate = now(state.clock)
        issue.resolution = chosen
    elif not transition.keeps_resolution:
        issue.resolution = None
        issue.resolutiondate = None
    items = [ChangeItem("status", "status", False, old_status.id, old_status.name, target.id, target.name)]
    if issue.resolution != old_resolution:
        items.insert(
            0,
            ChangeItem(
                "resolution",
                "resolution",
                False,
                None if old_resolution is None else old_resolution.id,
                None if old_resolution is None else old_resolution.name,
                None if issue.resolution is None else issue.resolution.id,
                None if issue.resolution is None else issue.resolution.name,
            ),
        )
    return items


def transition(
    state: SimState,
    api: Api,
    issue: Issue,
    chosen: Transition,
    resolution: Resolution | None,
    comments: Sequence[RichText],
    actor: User,
) -> None:
    """Do a (validated) transition with its screen's resolution and comments, as `actor`."""
    was_done = issue.status.category.key == "done"
    stamp = now(state.clock)
    items = enter_status(state, issue, chosen, resolution)
    added = [add_comment(state, issue, actor, body, stamp) for body in comments]
    issue.updated = stamp
    group = record(state, issue, actor, items, stamp)
    state.journal.counters.transitions += 1
    is_done = issue.status.category.key == "done"
    kind = (
        "issue_resolved"
        if is_done and not was_done
        else "issue_reopened"
        if was_done and not is_done
        else "issue_generic"
    )
    notify_updated(state, api, issue, actor, group, kind, added[-1] if added else None)
    for comment in added:
        notify_comment(state, api, issue, actor, comment)


def edit(state: SimState, api: Api, issue: Issue, changes: Changes, actor: User) -> None:
    """Apply validated field changes and comments as `actor`; history and webhooks when anything changed."""
    before = snapshot(api, issue)
    shapes.apply_changes(issue, changes)
    items = diff(state, before, snapshot(api, issue))
    stamp = now(state.clock)
    added = [add_comment(state, issue, actor, body, stamp) for body in changes.comments]
    issue.updated = stamp
    state.journal.counters.edits += 1
    if not items and not added:
        return
    group = record(state, issue, actor, items, stamp) if items else None
    if items:
        kind = "issue_assigned" if [i.field_id for i in items] == ["assignee"] else "issue_updated"
    else:
        kind = "issue_commented"
    notify_updated(state, api, issue, actor, group, kind, added[-1] if added else None)
    for comment in added:
        notify_comment(state, api, issue, actor, comment)


def move(state: SimState, api: Api, issue: Issue, project: Project, actor: User) -> str:
    """Move the issue to another project as `actor`, as Jira's Move does: the same id, a new key of
    that project; the old key keeps finding the issue (GET, JQL `key =`), and its status is kept
    where the new workflow has it (else the workflow's first). A change group with `Key` and
    `project` items, and jira:issue_updated (`issue_moved`) with the new key. Returns the old key."""
    old_key, old_project = issue.key, issue.project
    _, key, number = state.store.next_key(project)
    issue.key, issue.number, issue.project = key, number, project
    state.store.by_key[key] = issue  # the old key stays in the store's index: it still answers
    workflow = state.catalog.workflow(project, issue.issuetype)
    items = [
        ChangeItem("Key", "issuekey", False, None, old_key, None, key),
        ChangeItem("project", "project", False, old_project.id, old_project.name, project.id, project.name),
    ]
    if issue.status not in workflow.statuses:
        first = workflow.initial
        items.append(
            ChangeItem("status", "status", False, issue.status.id, issue.status.name, first.id, first.name)
        )
        issue.status = first
    stamp = now(state.clock)
    issue.updated = stamp
    group = record(state, issue, actor, items, stamp)
    notify_updated(state, api, issue, actor, group, "issue_moved", None)
    return old_key


def comment(state: SimState, api: Api, issue: Issue, actor: User, body: RichText) -> Comment:
    """Add one comment as `actor` (POST .../comment): comment_created and an issue_commented update."""
    added = add_comment(state, issue, actor, body, now(state.clock))
    notify_updated(state, api, issue, actor, None, "issue_commented", added)
    notify_comment(state, api, issue, actor, added)
    return added


def created(state: SimState, api: Api, issue: Issue, actor: User) -> None:
    """A new issue: jira:issue_created."""
    _send(
        state,
        api,
        issue,
        "jira:issue_created",
        {
            "user": shapes.user_json(_v2(api), actor),
            "issue_event_type_name": "issue_created",
        },
    )


def delete(state: SimState, api: Api, issue: Issue, actor: User) -> None:
    """Delete the issue as `actor`; jira:issue_deleted carries it as it was."""
    _send(
        state,
        api,
        issue,
        "jira:issue_deleted",
        {
            "user": shapes.user_json(_v2(api), actor),
            "issue_event_type_name": "issue_deleted",
        },
    )
    state.store.remove(issue)


def _v2(api: Api) -> Api:
    # Webhook payloads render issues and comments as REST v2 does (strings, not ADF), on both flavours.
    return Api(api.flavor, "2", api.base)


def change_item_json(api: Api, item: ChangeItem) -> dict[str, Any]:
    """A changelog item: `{field, fieldtype, from, fromString, to, toString}` (+ `fieldId` on Cloud)."""
    body: dict[str, Any] = {"field": item.field, "fieldtype": "custom" if item.custom else "jira"}
    if api.cloud:
        body["fieldId"] = item.field_id
    body.update(
        {
            "from": item.source,
            "fromString": item.source_string,
            "to": item.target,
            "toString": item.target_string,
        }
    )
    return body


def history_json(api: Api, group: ChangeGroup) -> dict[str, Any]:
    """One entry of an issue's changelog (GET issue ?expand=changelog)."""
    return {
        "id": group.id,
        "author": shapes.user_json(api, group.author),
        "created": jira_time(group.created),
        "items": [change_item_json(api, i) for i in group.items],
    }


def changelog_json(api: Api, issue: Issue, newest: int | None = None) -> dict[str, Any]:
    """The `changelog` of an issue expanded with `expand=changelog`: every history entry, oldest first,
    or only the `newest` ones (`startAt` where they begin, `total` all of them)."""
    groups = issue.changelog if newest is None else issue.changelog[-newest:]
    histories = [history_json(api, g) for g in groups]
    total = len(issue.changelog)
    return {
        "startAt": total - len(histories),
        "maxResults": len(histories),
        "total": total,
        "histories": histories,
    }


def notify_updated(
    state: SimState,
    api: Api,
    issue: Issue,
    actor: User,
    group: ChangeGroup | None,
    kind: str,
    added: Comment | None,
) -> None:
    """jira:issue_updated, with the change group as `changelog` and the comment it added, if any."""
    v2 = _v2(api)
    extra: dict[str, Any] = {"user": shapes.user_json(v2, actor), "issue_event_type_name": kind}
    if group is not None:
        extra["changelog"] = {"id": group.id, "items": [change_item_json(api, i) for i in group.items]}
    if added is not None:
        extra["comment"] = shapes.comment_json(v2, issue, added)
    _send(state, api, issue, "jira:issue_updated", extra)


def notify_comment(state: SimState, api: Api, issue: Issue, actor: User, added: Comment) -> None:
    """comment_created."""
    v2 = _v2(api)
    _send(
        state,
        api,
        issue,
        "comment_created",
        {
            "comment": shapes.comment_json(v2, issue, added),
            "issue_event_type_name": "issue_commented",
        },
    )


def _matches(state: SimState, jql: str | None, issue: Issue, actor: User) -> bool:
    if not jql:
        return True
    try:
        compiled = compile_query(jql, state.jql, functions_for(actor, state.clock))
    except JqlError:
        return False
    return compiled.matches(issue)


def _send(state: SimState, api: Api, issue: Issue, event: str, extra: dict[str, Any]) -> None:
    webhooks = state.webhooks.subscribed(event)
    if not webhooks:
        return
    # a delivery is rendered in the server's zone, whoever made the change
    zone = RENDER_ZONE.set("UTC")
    try:
        _deliver(state, api, issue, event, extra, webhooks)
    finally:
        RENDER_ZONE.reset(zone)


def _deliver(
    state: SimState, api: Api, issue: Issue, event: str, extra: dict[str, Any], webhooks: Any
) -> None:
    v2 = _v2(api)
    actor = state.catalog.users[0]
    payload: dict[str, Any] = {
        "timestamp": int(now(state.clock).timestamp() * 1000),
        "webhookEvent": event,
    }
    payload.update(extra)
    issue_body = shapes.issue_json(v2, state.catalog, issue, shapes.wanted_fields(state.catalog, None))
    issue_body.pop("expand", None)
    if state.cloud:
        # Cloud's deliveries leave the comments out of the issue (a comment event has its own
        # `comment`); Data Center renders them all, which makes deliveries of megabytes.
        issue_body.get("fields", {}).pop("comment", None)
    for webhook in webhooks:
        if not _matches(state, webhook.spec.jql, issue, actor):
            continue
        body = {**payload, "issue": issue_body}
        state.webhooks.deliver(webhook, event, issue.key, body)
