"""JQL over the simulator's issues: which JQL names read which issue values."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_sim.clock import SYSTEM_CLOCK, Clock
from jira_sim.data import Catalog, FieldDef, Issue, Store, User
from jira_sim.issues import rich_text
from jira_sim.jql import JqlError, JqlField

_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def _no_value(field: str, value: str) -> JqlError:
    return JqlError(f"The value '{value}' does not exist for the field '{field}'.")


def parse_moment(text: str, field: str, clock: Clock = SYSTEM_CLOCK) -> datetime:
    """A JQL date: yyyy-MM-dd, yyyy/MM/dd, optionally HH:mm, or relative to `clock` (-1d, -4h, -15m)."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        sign, amount, unit = relative.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        return clock.now() + (-delta if sign == "-" else delta)
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def _user_field(name: str, catalog: Catalog, read: Callable[[Issue], User | None]) -> JqlField:
    def resolve(text: str) -> str:
        lowered = text.lower()
        user = (
            catalog.user_by_name.get(lowered)
            or catalog.user_by_email.get(lowered)
            or catalog.user_by_account.get(text)
        )
        if user is None:
            raise _no_value(name, text)
        return user.name.lower()

    def values(issue: Issue) -> Sequence[str]:
        user = read(issue)
        return () if user is None else (user.name.lower(),)

    def sort_key(issue: Issue) -> str | None:
        user = read(issue)
        return None if user is None else user.display_name.lower()

    return JqlField(name, "exact", values, resolve, sort_key)


def _custom_field(fdef: FieldDef, catalog: Catalog, clock: Clock) -> JqlField:
    fid, name = fdef.id, fdef.name
    if fdef.kind in {"string", "richtext"}:
        return JqlField(name, "text", lambda i: (rich_text(i.values[fid]),) if fid in i.values else ())
    if fdef.kind in {"option", "options"}:

        def resolve_option(text: str) -> str:
            option = fdef.option(value=text) or fdef.option(option_id=text)
            if option is None:
                for candidate in fdef.options:
                    if candidate.value.lower() == text.lower():
                        return candidate.value.lower()
                raise JqlError(f"The option '{text}' for field '{name}' does not exist.")
            return option.value.lower()

        def option_values(issue: Issue) -> Sequence[str]:
            value = issue.values.get(fid)
            if value is None:
                return ()
            options = value if isinstance(value, tuple) else (value,)
            return tuple(o.value.lower() for o in options)

        def option_sort(issue: Issue) -> str | None:
            found = option_values(issue)
            return found[0] if found else None

        return JqlField(name, "exact", option_values, resolve_option, option_sort)
    if fdef.kind == "number":

        def resolve_number(text: str) -> float:
            try:
                return float(text)
            except ValueError:
                raise JqlError(f"The value '{text}' is not a valid number for the field '{name}'.") from None

        return JqlField(
            name,
            "ordered",
            lambda i: (i.values[fid],) if fid in i.values else (),
            resolve_number,
            lambda i: i.values.get(fid),
        )
    if fdef.kind == "user":
        return _user_field(name, catalog, lambda i: i.values.get(fid))
    return JqlField(
        name,
        "ordered",
        lambda i: (i.values[fid],) if fid in i.values else (),
        lambda text: parse_moment(text, name, clock).date().isoformat(),
        lambda i: i.values.get(fid),
    )


def _stored_text(fid: str) -> Callable[[Issue], Sequence[str]]:
    def read(issue: Issue) -> Sequence[str]:
        return (rich_text(issue.values[fid]),) if fid in issue.values else ()

    return read


def build_fields(catalog: Catalog, store: Store, clock: Clock = SYSTEM_CLOCK) -> dict[str, JqlField]:
    """Every JQL field name (lower case) the simulator answers, mapped to how it reads an issue.

    Relative dates (`created > -1d`) count from `clock`.
    """
    fields: dict[str, JqlField] = {}

    def project_resolve(text: str) -> str:
        project = catalog.project(text)
        if project is None:
            for candidate in catalog.projects:
                if candidate.name.lower() == text.lower():
                    return candidate.key.lower()
            raise _no_value("project", text)
        return project.key.lower()

    fields["project"] = JqlField(
        "project", "exact", lambda i: (i.project.key.lower(),), project_resolve, lambda i: i.project.key
    )

    def key_resolve(text: str) -> str:
        issue = store.get(text)
        if issue is None:
            if text.isdigit():
                raise JqlError(f"An issue with key '{text}' does not exist for field 'id'.")
            raise JqlError(f"An issue with key '{text}' does not exist for field 'key'.")
        return issue.key.lower()

    key_field = JqlField(
        "key", "exact", lambda i: (i.key.lower(),), key_resolve, lambda i: (i.project.key, i.number)
    )
    for alias in ("key", "issuekey", "id", "issue"):
        fields[alias] = key_field

    fields["labels"] = JqlField(
        "labels",
        "exact",
        lambda i: tuple(label.lower() for label in i.labels),
        None,
        lambda i: ",".join(i.labels) or None,
    )

    def status_resolve(text: str) -> str:
        status = catalog.status_by_name.get(text.lower()) or catalog.status_by_id.get(text)
        if status is None:
            raise _no_value("status", text)
        return status.id

    fields["status"] = JqlField(
        "status", "exact", lambda i: (i.status.id,), status_resolve, lambda i: i.status.id
    )

    categories = {s.category for s in catalog.statuses}

    def category_resolve(text: str) -> str:
        lowered = text.lower()
        for category in categories:
            if lowered in {category.key, category.name.lower(), str(category.id)}:
                return category.key
        raise _no_value("statusCategory", text)

    fields["statuscategory"] = JqlField(
        "statusCategory",
        "exact",
        lambda i: (i.status.category.key,),
        category_resolve,
        lambda i: i.status.category.id,
    )

    def resolution_resolve(text: str) -> str:
        resolution = catalog.resolution_by_name.get(text.lower()) or catalog.resolution_by_id.get(text)
        if resolution is None:
            raise _no_value("resolution", text)
        return resolution.id

    fields["resolution"] = JqlField(
        "resolution",
        "exact",
        lambda i: () if i.resolution is None else (i.resolution.id,),
        resolution_resolve,
        lambda i: None if i.resolution is None else i.resolution.name,
        empty_alias="unresolved",
    )

    def priority_resolve(text: str) -> str:
        priority = catalog.priority_by_name.get(text.lower()) or catalog.priority_by_id.get(text)
        if priority is None:
            raise _no_value("priority", text)
        return priority.id

    fields["priority"] = JqlField(
        "priority", "exact", lambda i: (i.priority.id,), priority_resolve, lambda i: i.priority.rank
    )

    def type_resolve(text: str) -> str:
        issuetype = catalog.issue_type_by_name.get(text.lower()) or catalog.issue_type_by_id.get(text)
        if issuetype is None:
            raise _no_value("issuetype", text)
        return issuetype.id

    type_field = JqlField(
        "issuetype", "exact", lambda i: (i.issuetype.id,), type_resolve, lambda i: i.issuetype.name
    )
    fields["issuetype"] = fields["type"] = type_field

    fields["summary"] = JqlField("summary", "text", lambda i: (i.summary,), None, lambda i: i.summary.lower())
    for fid in ("description", "environment"):
        fields[fid] = JqlField(fid, "text", _stored_text(fid))
    fields["comment"] = JqlField("comment", "text", lambda i: tuple(rich_text(c.body) for c in i.comments))
    text_fields = [f.id for f in catalog.fields if f.kind in {"richtext", "string"} and f.id != "summary"]

    def all_text(issue: Issue) -> Sequence[str]:
        texts = [issue.summary]
        texts.extend(rich_text(issue.values[fid]) for fid in text_fields if fid in issue.values)
        texts.extend(rich_text(c.body) for c in issue.comments)
        return texts

    fields["text"] = JqlField("text", "text", all_text)

    def moment_field(name: str, read: Callable[[Issue], datetime | None]) -> JqlField:
        return JqlField(
            name,
            "ordered",
            lambda i: () if read(i) is None else (read(i),),
            lambda text: parse_moment(text, name, clock),
            read,
        )

    fields["created"] = fields["createddate"] = moment_field("created", lambda i: i.created)
    fields["updated"] = fields["updateddate"] = moment_field("updated", lambda i: i.updated)
    fields["resolutiondate"] = fields["resolved"] = moment_field("resolved", lambda i: i.resolutiondate)
    due = catalog.field_by_id["duedate"]
    fields["duedate"] = fields["due"] = _custom_field(due, catalog, clock)
    fields["assignee"] = _user_field("assignee", catalog, lambda i: i.assignee)
    fields["reporter"] = _user_field("reporter", catalog, lambda i: i.reporter)
    fields["creator"] = _user_field("creator", catalog, lambda i: i.creator)
    for fdef in catalog.fields:
        if not fdef.custom:
            continue
        jql_field = _custom_field(fdef, catalog, clock)
        number = fdef.schema["customId"]
        for alias in (f"cf[{number}]", fdef.id, fdef.name.lower()):
            fields[alias] = jql_field
    return fields


def functions_for(user: User, clock: Clock = SYSTEM_CLOCK) -> dict[str, Callable[[], str]]:
    """The JQL functions the simulator knows, bound to the asking user; now() reads `clock`."""
    return {
        "currentuser": lambda: user.name,
        "now": lambda: clock.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
    }


def lookup(fields: dict[str, JqlField]) -> Callable[[str], JqlField | None]:
    """A JQL catalog over a field map."""
    return fields.get


def sort_default(items: list[Issue]) -> list[Any]:
    """Without ORDER BY: newest key first."""
    items.sort(key=lambda i: (i.project.key, i.number), reverse=True)
    return items
