"""The issue resource: reading request bodies into issues (with Jira's 400 messages) and rendering JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jira_sim import adf
from jira_sim.data import (
    Catalog,
    Comment,
    FieldDef,
    Issue,
    IssueType,
    Option,
    Priority,
    Project,
    Resolution,
    RichText,
    Status,
    User,
    jira_time,
)
from jira_sim.errors import JiraError
from jira_sim.settings import Flavor

SUMMARY_MAX = 255
LABEL_MAX = 255
TEXT_MAX = 32_767
TEXTFIELD_MAX = 255
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOT_SETTABLE = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_STRING = "Operation value must be a string"
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of {0:,} characters."


@dataclass(frozen=True)
class Api:
    """Who is asking how: the flavour, the API version in the path and the base URL for `self` links."""

    flavor: Flavor
    version: str  # "2", "3" or "latest"
    base: str

    @property
    def cloud(self) -> bool:
        return self.flavor == "cloud"

    @property
    def adf(self) -> bool:
        """Cloud v3 reads and writes rich text as ADF; v2, latest and DC use plain strings."""
        return self.flavor == "cloud" and self.version == "3"

    @property
    def rest(self) -> str:
        return f"{self.base}/rest/api/{self.version}"


def units(text: str) -> int:
    """A text's length as Jira (Java) counts it: UTF-16 code units, 2 for an astral character."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class FieldProblem(Exception):
    """A value Jira would refuse for one field; the message lands in `errors[field]`."""


# --- rendering --------------------------------------------------------------------------------


def avatar_urls(api: Api, kind: str, ident: str) -> dict[str, str]:
    """Jira's four avatar sizes."""
    return {
        size: f"{api.base}/secure/{kind}avatar?size={name}&avatarId={ident}"
        for size, name in (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"), ("32x32", "medium"))
    }


def user_json(api: Api, user: User) -> dict[str, Any]:
    """A user as issues and comments embed it: accountId on Cloud, name and key on DC."""
    if api.cloud:
        return {
            "self": f"{api.rest}/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "accountType": "atlassian",
            "emailAddress": user.email,
            "avatarUrls": avatar_urls(api, "user", user.account_id),
            "displayName": user.display_name,
            "active": True,
            "timeZone": user.time_zone,
        }
    return {
        "self": f"{api.rest}/user?username={user.name}",
        "name": user.name,
        "key": user.key,
        "emailAddress": user.email,
        "avatarUrls": avatar_urls(api, "user", user.key),
        "displayName": user.display_name,
        "active": True,
        "timeZone": user.time_zone,
    }


def myself_json(api: Api, user: User) -> dict[str, Any]:
    """GET /myself."""
    body = user_json(api, user)
    body.update(
        {
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles",
        }
    )
    return body


def issuetype_json(api: Api, issuetype: IssueType) -> dict[str, Any]:
    """An issue type."""
    body: dict[str, Any] = {
        "self": f"{api.rest}/issuetype/{issuetype.id}",
        "id": issuetype.id,
        "description": issuetype.description,
        "iconUrl": f"{api.base}/images/icons/issuetypes/{issuetype.icon}.svg",
        "name": issuetype.name,
        "subtask": False,
        "avatarId": 10300 + int(issuetype.id) % 100,
    }
    if api.cloud:
        body["hierarchyLevel"] = 0
    return body


def project_json(
    api: Api, project: Project, catalog: Catalog, full: bool = True, archived: bool = False
) -> dict[str, Any]:
    """A project; the full form (GET /project/KEY) lists its issue types, which the jira package
    reads, and says whether it is `archived` (Project.archived, both specs)."""
    body: dict[str, Any] = {
        "self": f"{api.rest}/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "avatarUrls": avatar_urls(api, "project", project.id),
    }
    if api.cloud:
        body["simplified"] = False
        body["style"] = "classic"
        body["isPrivate"] = False
    if full:
        body["description"] = f"{project.name} (simulated)"
        body["lead"] = user_json(api, catalog.user_by_name.get(project.lead, catalog.users[0]))
        body["issueTypes"] = [issuetype_json(api, t) for t in catalog.issue_types]
        body["assigneeType"] = "UNASSIGNED"
        body["archived"] = archived
    return body


def priority_json(api: Api, priority: Priority) -> dict[str, Any]:
    """A priority."""
    return {
        "self": f"{api.rest}/priority/{priority.id}",
        "iconUrl": f"{api.base}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
        "statusColor": priority.color,
        "description": f"{priority.name} priority",
    }


def status_json(api: Api, status: Status) -> dict[str, Any]:
    """A status with its category."""
    category = status.category
    return {
        "self": f"{api.rest}/status/{status.id}",
        "description": "",
        "iconUrl": f"{api.base}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": status.id,
        "statusCategory": {
            "self": f"{api.rest}/statuscategory/{category.id}",
            "id": category.id,
            "key": category.key,
            "colorName": category.color,
            "name": category.name,
        },
    }


def resolution_json(api: Api, resolution: Resolution) -> dict[str, Any]:
    """A resolution."""
    return {
        "self": f"{api.rest}/resolution/{resolution.id}",
        "id": resolution.id,
        "description": resolution.description,
        "name": resolution.name,
    }


def option_json(api: Api, option: Option) -> dict[str, Any]:
    """A select-list option."""
    return {"self": f"{api.rest}/customFieldOption/{option.id}", "value": option.value, "id": option.id}


def rich_out(api: Api, value: RichText | None) -> Any:
    """Rich text as this API version shows it: ADF on Cloud v3, a string elsewhere."""
    if value is None:
        return None
    if api.adf:
        return value if isinstance(value, dict) else adf.from_text(value)
    return adf.to_text(value) if isinstance(value, dict) else value


def rich_text(value: RichText | None) -> str:
    """The plain text of stored rich text (for search and the browse page)."""
    if value is None:
        return ""
    return adf.to_text(value) if isinstance(value, dict) else value


def comment_json(api: Api, issue: Issue, comment: Comment) -> dict[str, Any]:
    """A comment."""
    body: dict[str, Any] = {
        "self": f"{api.rest}/issue/{issue.id}/comment/{comment.id}",
        "id": comment.id,
        "author": user_json(api, comment.author),
        "body": rich_out(api, comment.body),
        "updateAuthor": user_json(api, comment.author),
        "created": jira_time(comment.created),
        "updated": jira_time(comment.updated),
    }
    if api.cloud:
        body["jsdPublic"] = True
    return body


def comments_page(api: Api, issue: Issue, start_at: int = 0, max_results: int = 5000) -> dict[str, Any]:
    """A page of comments, the shape of both GET .../comment and the issue's `comment` field."""
    chosen = issue.comments[start_at : start_at + max_results]
    return {
        "comments": [comment_json(api, issue, c) for c in chosen],
        "maxResults": max_results if start_at or len(issue.comments) > max_results else len(chosen),
        "total": len(issue.comments),
        "startAt": start_at,
    }


def _value_out(api: Api, fdef: FieldDef, value: Any) -> Any:
    if value is None:
        return [] if fdef.kind == "options" else None
    kind = fdef.kind
    if kind == "richtext":
        return rich_out(api, value)
    if kind == "option":
        return option_json(api, value)
    if kind == "options":
        return [option_json(api, o) for o in value]
    if kind == "user":
        return user_json(api, value)
    return value


def field_json(api: Api, catalog: Catalog, issue: Issue, fid: str) -> Any:
    """The value of one field of an issue, as GET issue shows it."""
    if fid == "summary":
        return issue.summary
    if fid == "project":
        return project_json(api, issue.project, catalog, full=False)
    if fid == "issuetype":
        return issuetype_json(api, issue.issuetype)
    if fid == "priority":
        return priority_json(api, issue.priority)
    if fid == "labels":
        return list(issue.labels)
    if fid == "status":
        return status_json(api, issue.status)
    if fid == "resolution":
        return None if issue.resolution is None else resolution_json(api, issue.resolution)
    if fid == "resolutiondate":
        return None if issue.resolutiondate is None else jira_time(issue.resolutiondate)
    if fid == "created":
        return jira_time(issue.created)
    if fid == "updated":
        return jira_time(issue.updated)
    if fid == "reporter":
        return user_json(api, issue.reporter)
    if fid == "creator":
        return user_json(api, issue.creator)
    if fid == "assignee":
        return None if issue.assignee is None else user_json(api, issue.assignee)
    if fid == "comment":
        page = comments_page(api, issue)
        if api.cloud:
            page["self"] = f"{api.rest}/issue/{issue.id}/comment"
        return page
    return _value_out(api, catalog.field_by_id[fid], issue.values.get(fid))


ALL_FIELDS = ("*all", "*navigable")


def wanted_fields(catalog: Catalog, requested: Iterable[str] | None) -> list[str]:
    """Field ids to show for a `fields` parameter: ids, `*all`, `*navigable`, `-id` exclusions."""
    names = [part.strip() for item in (requested or ["*all"]) for part in item.split(",") if part.strip()]
    include_all = not names or any(n in ALL_FIELDS for n in names) or all(n.startswith("-") for n in names)
    excluded = {n[1:] for n in names if n.startswith("-")}
    chosen = (
        [f.id for f in catalog.fields if f.id != "issuekey"]
        if include_all
        else [n for n in names if n in catalog.field_by_id and n != "issuekey"]
    )
    return [fid for fid in chosen if fid not in excluded]


def issue_json(
    api: Api, catalog: Catalog, issue: Issue, fields: list[str], properties: Iterable[str] = ()
) -> dict[str, Any]:
    """An IssueBean with the chosen fields."""
    body: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id,
        "self": f"{api.rest}/issue/{issue.id}",
        "key": issue.key,
        "fields": {fid: field_json(api, catalog, issue, fid) for fid in fields},
    }
    chosen_properties = {k: issue.properties[k] for k in properties if k in issue.properties}
    if chosen_properties:
        body["properties"] = chosen_properties
    return body


def field_list_json(catalog: Catalog) -> list[dict[str, Any]]:
    """GET /field."""
    return [
        {
            "id": f.id,
            "key": f.id,
            "name": f.name,
            "custom": f.custom,
            "orderable": f.settable,
            "navigable": True,
            "searchable": True,
            "clauseNames": list(f.clause_names),
            "schema": dict(f.schema),
        }
        for f in catalog.fields
    ]


def create_fields(catalog: Catalog) -> list[FieldDef]:
    """The fields of every create screen: all settable fields (one screen for all projects and types)."""
    return [f for f in catalog.fields if f.settable]


def field_meta_json(api: Api, catalog: Catalog, fdef: FieldDef, with_field_id: bool) -> dict[str, Any]:
    """Create metadata for one field."""
    body: dict[str, Any] = {
        "required": fdef.required,
        "schema": dict(fdef.schema),
        "name": fdef.name,
        "key": fdef.id,
        "hasDefaultValue": fdef.id == "priority",
        "operations": list(fdef.operations),
    }
    if with_field_id:
        body["fieldId"] = fdef.id
    if fdef.options:
        body["allowedValues"] = [option_json(api, o) for o in fdef.options]
    elif fdef.id == "priority":
        body["allowedValues"] = [priority_json(api, p) for p in catalog.priorities]
        body["defaultValue"] = priority_json(api, catalog.priorities[2])
    elif fdef.id == "issuetype":
        body["allowedValues"] = [issuetype_json(api, t) for t in catalog.issue_types]
    elif fdef.id == "project":
        body["allowedValues"] = [project_json(api, p, catalog, full=False) for p in catalog.projects]
    if fdef.kind == "user":
        body["autoCompleteUrl"] = f"{api.rest}/user/search?username="
    return body


# --- reading request bodies -------------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldProblem("data was not an object")
    return value


def _by_name_or_id(value: Any, what: str) -> tuple[str | None, str | None]:
    data = _object(value)
    name, ident = data.get("name"), data.get("id")
    if name is None and ident is None:
        raise FieldProblem(f"Could not find valid 'id' or 'name' in {what} object.")
    return (None if name is None else str(name)), (None if ident is None else str(ident))


def read_project(catalog: Catalog, value: Any) -> Project:
    """The project of a create body."""
    data = _object(value)
    key, ident = data.get("key"), data.get("id")
    project = None
    if key is not None:
        project = catalog.project_by_key.get(str(key).upper())
    elif ident is not None:
        project = catalog.project_by_id.get(str(ident))
    if project is None:
        raise FieldProblem("valid project is required")
    return project


def read_issuetype(catalog: Catalog, value: Any) -> IssueType:
    """The issue type of a create or edit body."""
    name, ident = _by_name_or_id(value, "issuetype")
    found = (
        catalog.issue_type_by_name.get(name.lower()) if name else catalog.issue_type_by_id.get(ident or "")
    )
    if found is None:
        raise FieldProblem("valid issue type is required")
    return found


def read_priority(catalog: Catalog, value: Any) -> Priority:
    """A priority given as {"name": ...} or {"id": ...}."""
    name, ident = _by_name_or_id(value, "priority")
    found = catalog.priority_by_name.get(name.lower()) if name else catalog.priority_by_id.get(ident or "")
    if found is None:
        raise FieldProblem(
            f"Priority name '{name}' is not valid" if name else f"Priority id '{ident}' is not valid"
        )
    return found


def read_user(api: Api, catalog: Catalog, value: Any) -> User | None:
    """A user: {"accountId": ...} on Cloud, {"name": ...} on DC; null clears the field."""
    if value is None:
        return None
    data = _object(value)
    if api.cloud:
        account = data.get("accountId")
        if not isinstance(account, str):
            raise FieldProblem("Could not find valid 'accountId' in the user object.")
        user = catalog.user_by_account.get(account)
        if user is None:
            raise FieldProblem(f"User with accountId '{account}' does not exist.")
        return user
    name, key = data.get("name"), data.get("key")
    if not isinstance(name, str) and not isinstance(key, str):
        raise FieldProblem("Could not find valid 'name' in the user object.")
    user = (
        catalog.user_by_name.get(name.lower()) if isinstance(name, str) else catalog.user_by_key.get(str(key))
    )
    if user is None:
        raise FieldProblem(f"User '{name if name is not None else key}' does not exist.")
    return user


def read_rich_text(api: Api, value: Any) -> RichText | None:
    """Rich text: ADF on Cloud v3, a string elsewhere; at most 32,767 characters."""
    if value is None:
        return None
    if api.adf:
        if not adf.is_document(value):
            raise FieldProblem(NOT_ADF)
        text = adf.to_text(value)
    else:
        if not isinstance(value, str):
            raise FieldProblem(NOT_STRING)
        text = value
    if units(text) > TEXT_MAX:
        raise FieldProblem(TOO_LONG.format(TEXT_MAX))
    return value  # type: ignore[no-any-return]


def read_label(value: Any) -> str:
    """One label: a string without spaces, at most 255 characters."""
    if not isinstance(value, str):
        raise FieldProblem(NOT_STRING)
    if not value or any(ch.isspace() for ch in value):
        raise FieldProblem(f"The label '{value}' contains spaces which is invalid.")
    if units(value) > LABEL_MAX:
        raise FieldProblem(
            f"The label '{value}' exceeds the maximum length for a single label of {LABEL_MAX} characters."
        )
    return value


def read_labels(value: Any) -> list[str]:
    """The labels field: a list of labels."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldProblem("data was not an array")
    labels: list[str] = []
    for item in value:
        label = read_label(item)
        if label not in labels:
            labels.append(label)
    return labels


def read_option(fdef: FieldDef, value: Any) -> Option:
    """One option of a select list, by value or id."""
    data = _object(value)
    if "value" in data:
        option = fdef.option(value=str(data["value"]))
        if option is None:
            raise FieldProblem(f"Option value '{data['value']}' is not valid")
        return option
    if "id" in data:
        option = fdef.option(option_id=str(data["id"]))
        if option is None:
            raise FieldProblem(f"Option id '{data['id']}' is not valid")
        return option
    raise FieldProblem("Could not find valid 'id' or 'value' in the option object.")


def read_value(api: Api, catalog: Catalog, fdef: FieldDef, value: Any) -> Any:
    """A field value in its stored form, or FieldProblem with Jira's message."""
    kind = fdef.kind
    if kind == "string":
        if value is None:
            if fdef.required:
                raise FieldProblem("You must specify a summary of the issue.")
            return None
        if not isinstance(value, str):
            raise FieldProblem(NOT_STRING)
        if fdef.id == "summary":
            if not value.strip():
                raise FieldProblem("You must specify a summary of the issue.")
            if units(value) > SUMMARY_MAX:
                raise FieldProblem(f"Summary must be less than {SUMMARY_MAX} characters.")
            if "\n" in value or "\r" in value:
                raise FieldProblem("The summary is invalid because it contains newline characters.")
        elif units(value) > TEXTFIELD_MAX:
            raise FieldProblem(TOO_LONG.format(TEXTFIELD_MAX))
        return value
    if kind == "richtext":
        return read_rich_text(api, value)
    if kind == "labels":
        return read_labels(value)
    if kind == "priority":
        return read_priority(catalog, value)
    if kind == "issuetype":
        return read_issuetype(catalog, value)
    if kind == "project":
        return read_project(catalog, value)
    if kind == "user":
        return read_user(api, catalog, value)
    if value is None:
        return None
    if kind == "option":
        return read_option(fdef, value)
    if kind == "options":
        if not isinstance(value, list):
            raise FieldProblem("data was not an array")
        return tuple(read_option(fdef, item) for item in value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldProblem("Operation value must be a number")
        return float(value)
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise FieldProblem(f"Error parsing date string: {value}")
        try:
            datetime.strptime(value, "%Y-%m-%d")  # noqa: DTZ007 - a calendar date, no zone
        except ValueError:
            raise FieldProblem(f"Error parsing date string: {value}") from None
        return value
    raise FieldProblem(NOT_SETTABLE.format(fdef.id))


def settable_field(catalog: Catalog, fid: str) -> FieldDef | None:
    """A field a create or edit body may set."""
    fdef = catalog.field_by_id.get(fid)
    return fdef if fdef is not None and fdef.settable else None


@dataclass
class Changes:
    """What a create/edit body asks for, validated: field sets plus add/remove operations."""

    sets: dict[str, Any]
    adds: dict[str, list[Any]]
    removes: dict[str, list[Any]]
    comments: list[RichText]
    errors: dict[str, str]


def read_changes(api: Api, catalog: Catalog, body: dict[str, Any], *, creating: bool) -> Changes:
    """Validate `fields` and `update` of an IssueUpdateDetails body, collecting Jira's field errors."""
    changes = Changes({}, {}, {}, [], {})
    fields = body.get("fields", {})
    update = body.get("update", {})
    if fields is None:
        fields = {}
    if update is None:
        update = {}
    if not isinstance(fields, dict):
        raise JiraError(400, ["Can not deserialize instance of java.util.HashMap out of START_ARRAY token"])
    if not isinstance(update, dict):
        raise JiraError(400, ["Can not deserialize instance of java.util.HashMap out of START_ARRAY token"])
    for fid, value in fields.items():
        fdef = settable_field(catalog, fid)
        if fdef is None or (not creating and fid == "project"):
            changes.errors[fid] = NOT_SETTABLE.format(fid)
            continue
        if fid in update:
            changes.errors[fid] = f"Field '{fid}' cannot be in both 'fields' and 'update'."
            continue
        try:
            changes.sets[fid] = read_value(api, catalog, fdef, value)
        except FieldProblem as problem:
            changes.errors[fid] = str(problem)
    for fid, operations in update.items():
        if fid == "comment" and not creating:
            _read_comment_updates(api, operations, changes)
            continue
        fdef = settable_field(catalog, fid)
        if fdef is None or (not creating and fid == "project"):
            changes.errors[fid] = NOT_SETTABLE.format(fid)
            continue
        if not isinstance(operations, list):
            changes.errors[fid] = "data was not an array"
            continue
        try:
            _read_operations(api, catalog, fdef, operations, changes)
        except FieldProblem as problem:
            changes.errors[fid] = str(problem)
    return changes


def _read_operations(
    api: Api, catalog: Catalog, fdef: FieldDef, operations: list[Any], changes: Changes
) -> None:
    for operation in operations:
        if not isinstance(operation, dict) or len(operation) != 1:
            raise FieldProblem("Operation must be an object with exactly one of set, add, remove.")
        ((verb, value),) = operation.items()
        if verb not in fdef.operations and verb != "set":
            raise FieldProblem(f"Field '{fdef.id}' does not support operation '{verb}'")
        if verb == "set":
            changes.sets[fdef.id] = read_value(api, catalog, fdef, value)
            continue
        item = read_label(value) if fdef.kind == "labels" else read_option(fdef, value)
        (changes.adds if verb == "add" else changes.removes).setdefault(fdef.id, []).append(item)


def _read_comment_updates(api: Api, operations: Any, changes: Changes) -> None:
    if not isinstance(operations, list):
        changes.errors["comment"] = "data was not an array"
        return
    for operation in operations:
        add = operation.get("add") if isinstance(operation, dict) else None
        if not isinstance(add, dict):
            changes.errors["comment"] = "Field 'comment' does not support this operation"
            return
        try:
            changes.comments.append(read_comment_body(api, add.get("body")))
        except JiraError as error:
            changes.errors["comment"] = (error.messages or list(error.errors.values()))[0]
            return


def read_comment_body(api: Api, body: Any) -> RichText:
    """A comment body: ADF on Cloud v3 ("Comment body is not valid!" otherwise), a string elsewhere."""
    if api.adf:
        if not adf.is_document(body):
            raise JiraError(400, ["Comment body is not valid!"])
        text = adf.to_text(body)
    else:
        if body is not None and not isinstance(body, str):
            raise JiraError(400, [NOT_STRING])
        text = body or ""
    if not text.strip():
        raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
    if units(text) > TEXT_MAX:
        raise JiraError(400, [], {"comment": TOO_LONG.format(TEXT_MAX)})
    return body  # type: ignore[no-any-return]


def apply_changes(issue: Issue, changes: Changes) -> None:
    """Write validated changes into an issue (the caller sets `updated`)."""
    for fid, value in changes.sets.items():
        if fid == "summary":
            issue.summary = value
        elif fid == "labels":
            issue.labels = list(value)
        elif fid == "priority":
            issue.priority = value
        elif fid == "issuetype":
            issue.issuetype = value
        elif fid == "assignee":
            issue.assignee = value
        elif fid == "reporter":
            if value is not None:
                issue.reporter = value
        elif fid == "project":
            continue
        elif value is None:
            issue.values.pop(fid, None)
        else:
            issue.values[fid] = value
    for fid, items in changes.adds.items():
        if fid == "labels":
            issue.labels.extend(label for label in items if label not in issue.labels)
        else:
            current = list(issue.values.get(fid, ()))
            current.extend(option for option in items if option not in current)
            issue.values[fid] = tuple(current)
    for fid, items in changes.removes.items():
        if fid == "labels":
            issue.labels = [label for label in issue.labels if label not in items]
        else:
            remaining = tuple(o for o in issue.values.get(fid, ()) if o not in items)
            if remaining:
                issue.values[fid] = remaining
            else:
                issue.values.pop(fid, None)


def required_errors(flavor: Flavor, fields: dict[str, Any]) -> dict[str, str]:
    """Errors for the fields every create needs (project, issue type, summary), in each flavour's words."""
    errors: dict[str, str] = {}
    if fields.get("project") is None:
        errors["project"] = (
            "Specify a valid project ID or key" if flavor == "cloud" else "project is required"
        )
    if fields.get("issuetype") is None:
        errors["issuetype"] = "Specify an issue type" if flavor == "cloud" else "issue type is required"
    if fields.get("summary") is None:
        errors["summary"] = "You must specify a summary of the issue."
    return errors
