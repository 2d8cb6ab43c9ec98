"""Request building: a resolved Advanced command (and the Ticket Creation Table) become Jira requests.

- CREATE sends the table's Included fields, overridden by the command's fields, plus the table's
  other top-level keys (update, properties, transition), stamped with the GUID:
  `POST <ticket_location>`.
- UPDATE sends only the command's fields, `PUT <ticket_location>/{key}`, minus the protected
  fields, never removing the GUID stamp (`keep_stamp`), then one
  `POST <ticket_location>/{key}/comment` per comment, in order. The ticket key is only known at
  run time (found by its stamp), so paths hold the placeholder `{key}`; `RequestPlan.with_key`
  fills it in. An UPDATE with no field left sends no PUT at all.
- Every body goes through `make_safe`, which trims what Jira would reject outright (summary over
  255 UTF-16 units or with line breaks, description/environment/comments over 32,767, spaces in
  labels) and says what it changed. Jira counts lengths as Java does, in UTF-16 code units.

A CREATE carries its GUID's stamp (driver.model.stamps), which makes creates idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from driver.model.commands import Action, ResolvedCommand
from driver.model.creation_table import TicketTable, table_to_query
from driver.model.fields import FieldCatalog
from driver.model.json_values import copy_json
from driver.model.limits import MAX_LABEL, MAX_SUMMARY, MAX_TEXT, TRUNCATION_MARKER
from driver.model.multi_values import DriverValues, as_verbs, set_values
from driver.model.shaping import (
    JSON,
    TextFormat,
    UserStyle,
    adf_to_text,
    cut_utf16,
    text_to_adf,
    utf16_len,
)
from driver.model.stamps import check_generation, stamp_create_body, stamp_label

__all__ = [
    "KEY_PLACEHOLDER",
    "PlannedRequest",
    "RequestPlan",
    "RequestSettings",
    "comment_body",
    "comment_bodies",
    "create_body",
    "drop_protected",
    "edit_body",
    "keep_stamp",
    "make_safe",
    "make_safe_comment",
    "merge_updates",
    "plan_requests",
]

KEY_PLACEHOLDER = "{key}"


@dataclass(frozen=True)
class RequestSettings:
    """Everything about the Jira side that changes the requests built."""

    ticket_location: str = "rest/api/latest/issue"
    user_style: UserStyle = "datacenter"
    text_format: TextFormat = "plain"
    guid_field: str = ""
    guid_label_prefix: str = "alarm-"
    protected_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request to Jira; path is relative to the Jira URL and may hold `{key}`."""

    method: str
    path: str
    body: dict[str, JSON]

    def to_json(self) -> dict[str, JSON]:
        """`{"method", "path", "body"}`."""
        return {"method": self.method, "path": self.path, "body": self.body}


@dataclass(frozen=True)
class RequestPlan:
    """The requests one command makes, in order, and what make_safe / protection changed."""

    guid: str
    action: Action
    main: PlannedRequest | None
    """The create (POST) or edit (PUT); None for an UPDATE with only comments."""
    comments: tuple[PlannedRequest, ...] = ()
    notes: tuple[str, ...] = ()
    """Human-readable changes made to the bodies, for the log."""
    dropped_fields: tuple[str, ...] = ()
    """Protected field ids removed from an UPDATE."""
    sets: dict[str, list[JSON]] = field(default_factory=dict)
    """Per multi-value field the command sets, the values it sets (the stamp left out): recorded as
    the ticket's `driver_values` once Jira has taken the request (driver.model.multi_values)."""

    def with_key(self, key: str) -> RequestPlan:
        """The plan with `{key}` in every path replaced by the ticket key."""

        def fill(request: PlannedRequest) -> PlannedRequest:
            return replace(request, path=request.path.replace(KEY_PLACEHOLDER, key))

        return replace(
            self,
            main=fill(self.main) if self.main else None,
            comments=tuple(fill(c) for c in self.comments),
        )


def _issue_path(location: str, key: str | None = None) -> str:
    base = location.strip().strip("/")
    return base if key is None else f"{base}/{key}"


# --- bodies -----------------------------------------------------------------------------------


def create_body(
    table: TicketTable,
    command: ResolvedCommand | None = None,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> dict[str, JSON]:
    """The table's Create Query with the command's fields laid over it (command values win)."""
    body = copy_json(table_to_query(table, user_style, text_format))
    if command is None:
        return body
    fields: dict[str, JSON] = body["fields"]
    fields.update(copy_json(command.fields))
    update = body.get("update")
    if isinstance(update, dict):
        # Jira refuses a field in both `fields` and `update`; the command's value is the newer one.
        for field_id in command.fields:
            update.pop(field_id, None)
    return body


def edit_body(command: ResolvedCommand) -> dict[str, JSON]:
    """The edit body of an UPDATE: only the command's fields."""
    return {"fields": copy_json(command.fields)}


def comment_body(text: str, text_format: TextFormat = "plain") -> dict[str, JSON]:
    """A comment body: `{"body": text}` for v2/latest, `{"body": <ADF>}` for v3."""
    return {"body": text_to_adf(text) if text_format == "adf" else text}


def comment_bodies(command: ResolvedCommand, text_format: TextFormat = "plain") -> list[dict[str, JSON]]:
    """The bodies of the command's comments, in order."""
    return [comment_body(text, text_format) for text in command.comments]


# --- GUID stamp -------------------------------------------------------------------------------
#
# Two alarms must never share a stamp, and a stamp must be found again by the search Jira offers
# for where it lives: `labels = "..."` (exact, case-insensitive) or `cf[N] ~ "..."` (full text).
#
# Plain GUIDs keep the stamp they always had: the label `<prefix><guid>` when the GUID holds no
# space and no `_`, the guid_field value `<guid>` when the GUID has a word full-text search can
# find. Every other GUID gets a readable part plus STAMP_KEY (`jd` and 32 hex digits of the
# GUID's SHA-256), one token Jira's tokenizer keeps whole: label `<prefix><guid, spaces as
# _>_jd<hex>`, field `<guid> jd<hex>`. A plain label has no `_` and a plain field value never
# ends in a key, so the two forms cannot meet; two keyed stamps meet only if SHA-256 collides.
#
# Those are generation 1's stamps (a GUID's first ticket, and every ticket made before
# generations existed). A later ticket n > 1 of the same GUID is always keyed, its key taken over
# `<guid>\x1f<n>`: a GUID is printable, so no GUID and no other (guid, n) pair hashes the same
# text, and the plain and legacy forms (which only generation 1 has) cannot meet it either.


# --- protection and safety --------------------------------------------------------------------


def drop_protected(
    body: Mapping[str, JSON],
    protected: Iterable[str],
    catalog: FieldCatalog | None = None,
) -> tuple[dict[str, JSON], tuple[str, ...]]:
    """An edit body without the protected fields (ids or display names) and the ids it dropped."""
    wanted: set[str] = set()
    for name in protected:
        definition = catalog.resolve(name) if catalog is not None else None
        wanted.add((definition.id if definition else name).strip().casefold())
    result = copy_json(dict(body))
    dropped: list[str] = []
    for part in ("fields", "update"):
        section = result.get(part)
        if not isinstance(section, dict):
            continue
        for field_id in list(section):
            if field_id.casefold() in wanted:
                del section[field_id]
                if field_id not in dropped:
                    dropped.append(field_id)
    return result, tuple(dropped)


def _cut(text: str, limit: int) -> str:
    return cut_utf16(text, limit - utf16_len(TRUNCATION_MARKER)) + TRUNCATION_MARKER


def _cut_note(what: str, text: str, limit: int) -> str:
    units = utf16_len(text)
    if units == len(text):
        return f"{what} cut from {units} to {limit} characters"
    return f"{what} cut from {units} to at most {limit} UTF-16 units ({len(text)} characters)"


def _safe_text(value: JSON, limit: int, what: str, notes: list[str]) -> JSON:
    # Jira counts lengths in UTF-16 units (Java strings): an emoji is 2 of them.
    if isinstance(value, str):
        if utf16_len(value) > limit:
            notes.append(_cut_note(what, value, limit))
            return _cut(value, limit)
        return value
    if isinstance(value, dict) and value.get("type") == "doc":
        # ADF has no documented size of its own; we bound the visible text like v2's string.
        text = adf_to_text(value)
        if utf16_len(text) > limit:
            notes.append(_cut_note(what, text, limit) + " (formatting dropped)")
            return text_to_adf(_cut(text, limit))
    return value


def _safe_labels(labels: JSON, notes: list[str]) -> JSON:
    if not isinstance(labels, list):
        return labels
    result: list[JSON] = []
    for label in labels:
        if isinstance(label, str):
            fixed = cut_utf16(re.sub(r"\s+", "_", label), MAX_LABEL)
            if fixed != label:
                notes.append(f"label {label!r} changed to {fixed!r}")
            result.append(fixed)
        else:
            result.append(label)
    return result


def make_safe(body: Mapping[str, JSON]) -> tuple[dict[str, JSON], tuple[str, ...]]:
    """A copy of a create/edit body Jira will not refuse for size, line breaks or label spaces, and notes."""
    result = copy_json(dict(body))
    notes: list[str] = []
    fields = result.get("fields")
    if isinstance(fields, dict):
        if "summary" in fields:
            summary = fields["summary"]
            if isinstance(summary, str) and ("\n" in summary or "\r" in summary):
                # Jira refuses a summary with line breaks ("can't contain newline characters").
                summary = re.sub(r"[\r\n]+", " ", summary)
                notes.append("summary line breaks replaced by spaces")
            fields["summary"] = _safe_text(summary, MAX_SUMMARY, "summary", notes)
        for name in ("description", "environment"):
            if name in fields:
                fields[name] = _safe_text(fields[name], MAX_TEXT, name, notes)
        if "labels" in fields:
            fields["labels"] = _safe_labels(fields["labels"], notes)
    return result, tuple(notes)


def make_safe_comment(body: Mapping[str, JSON]) -> tuple[dict[str, JSON], tuple[str, ...]]:
    """A copy of a comment body cut to 32,767 UTF-16 units, and notes."""
    result = copy_json(dict(body))
    notes: list[str] = []
    if "body" in result:
        result["body"] = _safe_text(result["body"], MAX_TEXT, "comment", notes)
    return result, tuple(notes)


# --- merging and planning ---------------------------------------------------------------------


def merge_updates(earlier: ResolvedCommand, later: ResolvedCommand) -> ResolvedCommand:
    """One UPDATE doing both (later field values win, comments in order); ValueError if not mergeable."""
    if earlier.action != Action.UPDATE or later.action != Action.UPDATE:
        raise ValueError("only UPDATE commands can be merged")
    if earlier.guid != later.guid:
        raise ValueError(f"cannot merge updates of different GUIDs {earlier.guid!r} and {later.guid!r}")
    fields = copy_json(earlier.fields)
    fields.update(copy_json(later.fields))
    return ResolvedCommand(
        guid=earlier.guid,
        action=Action.UPDATE,
        fields=fields,
        comments=earlier.comments + later.comments,
    )


def keep_stamp(
    body: Mapping[str, JSON],
    guid: str,
    guid_field: str = "",
    label_prefix: str = "alarm-",
    *,
    generation: int = 1,
) -> tuple[dict[str, JSON], tuple[str, ...]]:
    """An UPDATE's edit body that cannot remove the GUID stamp of ticket `generation`, and notes.

    Labels: a PUT of `fields.labels` replaces the whole set, so the generation's stamp label is
    added to it (an old ticket then carries the current stamp; never another generation's, which
    would make it match that ticket's search). guid_field: the field is the stamp and is left out
    of the edit.
    """
    check_generation(generation)
    result = copy_json(dict(body))
    fields = result.get("fields")
    notes: list[str] = []
    if not isinstance(fields, dict):
        return result, ()
    if guid_field:
        if guid_field in fields:
            del fields[guid_field]
            notes.append(f"{guid_field} holds the GUID stamp: not updated")
        return result, tuple(notes)
    labels = fields.get("labels")
    if isinstance(labels, list):
        label = stamp_label(guid, label_prefix, generation)
        if label not in labels:
            labels.append(label)
    return result, tuple(notes)


def plan_requests(
    command: ResolvedCommand,
    table: TicketTable,
    settings: RequestSettings,
    catalog: FieldCatalog | None = None,
    *,
    generation: int = 1,
    before: DriverValues | None = None,
) -> RequestPlan:
    """The requests a command makes, bodies stamped, protected and made safe.

    generation is the GUID's ticket the requests are for (TicketRecord.generation; a CREATE's is
    the ticket it makes): its stamp goes on a CREATE, and an UPDATE that sets labels keeps it.
    before: the multi-value fields' values the driver set on the ticket last
    (TicketRecord.driver_values): an UPDATE sends the difference as add/remove verbs
    (driver.model.multi_values). ValueError for a generation below 1.
    """
    check_generation(generation)
    location = settings.ticket_location
    stamp = None if settings.guid_field else stamp_label(command.guid, settings.guid_label_prefix, generation)
    if command.action == Action.CREATE:
        body = create_body(table, command, settings.user_style, settings.text_format)
        body = stamp_create_body(
            body, command.guid, settings.guid_field, settings.guid_label_prefix, generation=generation
        )
        body, create_notes = make_safe(body)
        if command.left_out:
            create_notes = (f"left out (empty value): {', '.join(command.left_out)}", *create_notes)
        create = PlannedRequest("POST", _issue_path(location), body)
        created = body.get("fields")
        sets = set_values(created, catalog, stamp) if isinstance(created, dict) else {}
        return RequestPlan(command.guid, command.action, create, notes=create_notes, sets=sets)

    body, dropped = drop_protected(edit_body(command), settings.protected_fields, catalog)
    body, stamp_notes = keep_stamp(
        body, command.guid, settings.guid_field, settings.guid_label_prefix, generation=generation
    )
    body, notes_list = make_safe(body)
    body, sets = as_verbs(body, before or {}, catalog, stamp)
    notes = list(stamp_notes) + list(notes_list)
    if dropped:
        notes.append("protected fields not updated: " + ", ".join(dropped))
    path = _issue_path(location, KEY_PLACEHOLDER)
    main = PlannedRequest("PUT", path, body) if body.get("fields") or body.get("update") else None
    comments: list[PlannedRequest] = []
    for text in command.comments:
        comment, comment_notes = make_safe_comment(comment_body(text, settings.text_format))
        notes.extend(comment_notes)
        comments.append(PlannedRequest("POST", f"{path}/comment", comment))
    return RequestPlan(
        command.guid,
        command.action,
        main,
        comments=tuple(comments),
        notes=tuple(notes),
        dropped_fields=dropped,
        sets=sets,
    )
