"""Request building: a resolved Advanced command (and the Ticket Creation Table) become Jira requests.

- CREATE sends the table's Included fields, overridden by the command's fields, plus the table's
  other top-level keys (update, properties, transition), stamped with the GUID:
  `POST <ticket_location>`.
- UPDATE sends only the command's fields, `PUT <ticket_location>/{key}`, minus the protected
  fields, never removing the GUID stamp (`keep_stamp`), then one
  `POST <ticket_location>/{key}/comment` per comment, in order. The ticket key is only known at
  run time (found with `stamp_jql`), so paths hold the placeholder `{key}`; `RequestPlan.with_key`
  fills it in. An UPDATE with no field left sends no PUT at all.
- Every body goes through `make_safe`, which trims what Jira would reject outright (summary over
  255 UTF-16 units or with line breaks, description/environment/comments over 32,767, spaces in
  labels) and says what it changed. Jira counts lengths as Java does, in UTF-16 code units.

The GUID stamp makes creates idempotent (docs/wire-facts.md §10): by default a label `<prefix><guid>`, or,
when `[ticket] guid_field` names a text custom field, that field set to the GUID. A GUID may have
several tickets over time (TicketRecord.generation 1, 2, ...): each generation has a stamp of its
own, so exactly-once holds per ticket.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from driver.model.commands import Action, ResolvedCommand
from driver.model.creation_table import TicketTable, table_to_query
from driver.model.fields import FieldCatalog
from driver.model.shaping import (
    JSON,
    TextFormat,
    UserStyle,
    adf_to_text,
    cut_utf16,
    text_to_adf,
    utf16_len,
)

__all__ = [
    "GENERATION_SEPARATOR",
    "KEY_PLACEHOLDER",
    "LUCENE_STOP_WORDS",
    "MAX_LABEL",
    "MAX_SUMMARY",
    "MAX_TEXT",
    "MAX_TEXT_FIELD",
    "STAMP_KEY_HEX",
    "TRUNCATION_MARKER",
    "PlannedRequest",
    "RequestPlan",
    "RequestSettings",
    "comment_body",
    "comment_bodies",
    "create_body",
    "drop_protected",
    "edit_body",
    "jql_string",
    "keep_stamp",
    "legacy_label_trusted",
    "legacy_value_trusted",
    "legacy_stamp_label",
    "lucene_phrase",
    "make_safe",
    "make_safe_comment",
    "merge_updates",
    "plan_requests",
    "stamp_create_body",
    "stamp_jql",
    "stamp_key",
    "stamp_label",
    "stamp_value",
]

KEY_PLACEHOLDER = "{key}"
MAX_SUMMARY = 255
MAX_TEXT = 32_767
MAX_LABEL = 255
MAX_TEXT_FIELD = 255
"""A single-line text custom field's limit (UTF-16 units), which bounds a guid_field stamp."""
TRUNCATION_MARKER = "… [truncated by jira-driver]"


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
    body = copy.deepcopy(table_to_query(table, user_style, text_format))
    if command is None:
        return body
    fields: dict[str, JSON] = body["fields"]
    fields.update(copy.deepcopy(command.fields))
    update = body.get("update")
    if isinstance(update, dict):
        # Jira refuses a field in both `fields` and `update`; the command's value is the newer one.
        for field_id in command.fields:
            update.pop(field_id, None)
    return body


def edit_body(command: ResolvedCommand) -> dict[str, JSON]:
    """The edit body of an UPDATE: only the command's fields."""
    return {"fields": copy.deepcopy(command.fields)}


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

STAMP_KEY_HEX = 32
_KEY_TAIL = re.compile(r"jd[0-9a-f]{" + str(STAMP_KEY_HEX) + r"}\Z")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
LUCENE_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
"""The English stop words Jira's text index drops (Lucene's list): a GUID made only of these is
not found by `~`."""
_LUCENE_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\')


GENERATION_SEPARATOR = "\x1f"
"""Joins a GUID and a generation n > 1 in the text stamp_key hashes; never in a (printable) GUID."""


def _check_generation(generation: int) -> None:
    if generation < 1:
        raise ValueError(f"a ticket generation is 1 or more, not {generation}")


def stamp_key(guid: str, generation: int = 1) -> str:
    """`jd` and 32 lowercase hex digits: letters and digits only, one token to full-text search.

    The digits are the first 32 of SHA-256 over the UTF-8 GUID for generation 1, and over
    `<guid>\x1f<generation>` (decimal) for a later one. ValueError for a generation below 1.
    """
    _check_generation(generation)
    text = guid if generation == 1 else f"{guid}{GENERATION_SEPARATOR}{generation}"
    return "jd" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:STAMP_KEY_HEX]


def legacy_stamp_label(guid: str, prefix: str = "alarm-") -> str:
    """The label earlier versions stamped: `<prefix><guid>`, whitespace -> `_`, long ones digested.

    Not injective (`env TEST` and `env_TEST` share `alarm-env_TEST`); kept to find old tickets.
    """
    label = re.sub(r"\s", "_", prefix + guid)
    if len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return label[: MAX_LABEL - 17] + "-" + digest


def legacy_label_trusted(guid: str) -> bool:
    """Whether a ticket carrying this GUID's legacy label is surely this GUID's ticket.

    The legacy label wrote spaces as `_`, so for a GUID holding either, another GUID (the one
    with `_` and space swapped) had the same label: such a label proves nothing and is ignored.
    """
    return not any(ch.isspace() or ch == "_" for ch in guid)


def _plain_label(guid: str, prefix: str) -> bool:
    return legacy_label_trusted(guid) and utf16_len(prefix + guid) <= MAX_LABEL


def stamp_label(guid: str, prefix: str = "alarm-", generation: int = 1) -> str:
    """The label of the GUID's ticket `generation`: at most 255 UTF-16 units, no whitespace.

    Distinct for distinct (GUID, generation) pairs under one prefix (a prefix of at most 220
    UTF-16 units, or one without `_`). Generation 1: `<prefix><guid>` for a GUID without
    whitespace and `_` whose label fits, otherwise `<prefix><guid, whitespace as _, cut to
    fit>_<stamp_key(guid)>`. Generation n > 1: always the second form, with stamp_key(guid, n).
    ValueError for a generation below 1.
    """
    _check_generation(generation)
    if generation == 1 and _plain_label(guid, prefix):
        return prefix + guid
    tail = "_" + stamp_key(guid, generation)
    room = MAX_LABEL - len(tail)
    head = cut_utf16(re.sub(r"\s", "_", prefix + guid), room)
    return head + tail


def _findable_words(guid: str) -> bool:
    return any(word.lower() not in LUCENE_STOP_WORDS for word in _ASCII_WORD.findall(guid))


def _plain_value(guid: str) -> bool:
    return utf16_len(guid) <= MAX_TEXT_FIELD and _findable_words(guid) and not _KEY_TAIL.search(guid)


def legacy_value_trusted(guid: str) -> bool:
    """Whether a guid_field holding exactly this GUID (as earlier versions wrote it) is its ticket.

    Always, except for a GUID that itself ends like a key: its text could be another GUID's
    `<guid> <key>` stamp.
    """
    return not _KEY_TAIL.search(guid)


def stamp_value(guid: str, generation: int = 1) -> str:
    """The guid_field value of the GUID's ticket `generation`, at most 255 UTF-16 units.

    Distinct for distinct (GUID, generation) pairs. Generation 1: the GUID itself when
    full-text search can find it (at most 255 UTF-16 units, a word of ASCII letters or digits
    that is not a stop word, not ending like a key); otherwise the GUID (cut to fit, trailing
    spaces dropped) followed by a space and stamp_key(guid), which `~` always finds as one token
    (the key alone if nothing of the GUID is left). Generation n > 1: always that keyed form,
    with stamp_key(guid, n). ValueError for a generation below 1.
    """
    _check_generation(generation)
    if generation == 1 and _plain_value(guid):
        return guid
    key = stamp_key(guid, generation)
    head = cut_utf16(guid, MAX_TEXT_FIELD - 1 - len(key)).rstrip()
    return f"{head} {key}" if head else key


def stamp_create_body(
    body: Mapping[str, JSON],
    guid: str,
    guid_field: str = "",
    label_prefix: str = "alarm-",
    *,
    generation: int = 1,
) -> dict[str, JSON]:
    """A copy of a create body stamped for the GUID's ticket `generation`.

    The guid_field set to stamp_value, else stamp_label added to the labels (to `update.labels`
    as `{"add": label}` when the body drives labels there). ValueError for a generation below 1.
    """
    stamped = copy.deepcopy(dict(body))
    fields = stamped.setdefault("fields", {})
    if guid_field:
        fields[guid_field] = stamp_value(guid, generation)
        return stamped
    label = stamp_label(guid, label_prefix, generation)
    update = stamped.get("update")
    if "labels" not in fields and isinstance(update, dict) and isinstance(update.get("labels"), list):
        # labels are driven by `update` here; adding to `fields` too would be refused.
        if {"add": label} not in update["labels"]:
            update["labels"].append({"add": label})
        return stamped
    labels = fields.get("labels")
    if not isinstance(labels, list):
        fields["labels"] = [label]
    elif label not in labels:
        labels.append(label)
    return stamped


def jql_string(text: str) -> str:
    """A JQL string literal: double quotes, with `\\` and `"` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_phrase(text: str) -> str:
    """A full-text phrase query for text: in double quotes, Lucene's special characters escaped.

    Unescaped, `?` and `*` are wildcards and `"`, `\\`, `(`... syntax (docs/wire-facts.md has no text-search
    section; Jira's JQL text-search help lists `+ - & | ! ( ) { } [ ] ^ ~ * ? \\ :` as special).
    """
    return '"' + "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text) + '"'


def stamp_jql(
    guid: str,
    guid_field: str = "",
    label_prefix: str = "alarm-",
    project: str | None = None,
    *,
    generation: int = 1,
) -> str:
    """JQL that finds the GUID's ticket `generation` by its stamp (for 1, also earlier versions' stamp).

    guid_field: `cf[N] ~ <phrase of the GUID>` for a GUID stamped plain, else `cf[N] ~ "<key>"`
    (stamp_key(guid, generation)). Either also matches longer texts holding it, so the caller
    must check the field's exact value (exactly_once.exact_match). Labels: `labels = "<label>"`,
    or, for generation 1 only, `labels in (label, legacy label)` when an earlier version stamped
    this GUID differently and that label is trusted (legacy_label_trusted). With a project,
    `project = "<project>" AND <clause>`. ValueError for a generation below 1.
    """
    if guid_field:
        number = guid_field.removeprefix("customfield_")
        value = stamp_value(guid, generation)
        query = lucene_phrase(value) if value == guid else stamp_key(guid, generation)
        clause = f"cf[{number}] ~ {jql_string(query)}"
    else:
        label = stamp_label(guid, label_prefix, generation)
        legacy = legacy_stamp_label(guid, label_prefix)
        if generation == 1 and legacy != label and legacy_label_trusted(guid):
            clause = f"labels in ({jql_string(label)}, {jql_string(legacy)})"
        else:
            clause = f"labels = {jql_string(label)}"
    if project:
        return f"project = {jql_string(project)} AND {clause}"
    return clause


STAMP_BATCH = 50
"""At most this many GUIDs' stamps in one search (stamps_jql): a storm of new alarms on a new
database costs one search per 50 (issue 15 item 7), and the JQL stays far below Jira's limits."""


def stamps_jql(stamps: Sequence[tuple[str, int]], guid_field: str = "", label_prefix: str = "alarm-") -> str:
    """One JQL that finds the tickets of several (GUID, generation) stamps: what stamp_jql finds for
    each, together.

    Labels: `labels in ("<label>", ...)` with every label stamp_jql would ask for (legacy ones
    included), each once. Custom field: stamp_jql's `cf[N] ~ ...` clauses joined by OR (the
    simulator's JQL subset and Jira's, docs/wire-facts.md §5). Hits still need exactly_once.exact_match per
    GUID. ValueError for no stamps, more than STAMP_BATCH, or a generation below 1.
    """
    if not stamps or len(stamps) > STAMP_BATCH:
        raise ValueError(f"a stamp search takes 1 to {STAMP_BATCH} GUIDs, not {len(stamps)}")
    if guid_field:
        clauses = dict.fromkeys(stamp_jql(g, guid_field, label_prefix, generation=n) for g, n in stamps)
        return " OR ".join(clauses) if len(clauses) == 1 else " OR ".join(f"({c})" for c in clauses)
    labels: dict[str, None] = {}
    for guid, generation in stamps:
        labels[jql_string(stamp_label(guid, label_prefix, generation))] = None
        legacy = legacy_stamp_label(guid, label_prefix)
        if generation == 1 and legacy_label_trusted(guid):
            labels[jql_string(legacy)] = None
    return f"labels in ({', '.join(labels)})"


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
    result = copy.deepcopy(dict(body))
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
    result = copy.deepcopy(dict(body))
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
    result = copy.deepcopy(dict(body))
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
    fields = copy.deepcopy(earlier.fields)
    fields.update(copy.deepcopy(later.fields))
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
    _check_generation(generation)
    result = copy.deepcopy(dict(body))
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
) -> RequestPlan:
    """The requests a command makes, bodies stamped, protected and made safe.

    generation is the GUID's ticket the requests are for (TicketRecord.generation; a CREATE's is
    the ticket it makes): its stamp goes on a CREATE, and an UPDATE that sets labels keeps it.
    ValueError for a generation below 1.
    """
    _check_generation(generation)
    location = settings.ticket_location
    if command.action == Action.CREATE:
        body = create_body(table, command, settings.user_style, settings.text_format)
        body = stamp_create_body(
            body, command.guid, settings.guid_field, settings.guid_label_prefix, generation=generation
        )
        body, create_notes = make_safe(body)
        if command.left_out:
            create_notes = (f"left out (empty value): {', '.join(command.left_out)}", *create_notes)
        create = PlannedRequest("POST", _issue_path(location), body)
        return RequestPlan(command.guid, command.action, create, notes=create_notes)

    body, dropped = drop_protected(edit_body(command), settings.protected_fields, catalog)
    body, stamp_notes = keep_stamp(
        body, command.guid, settings.guid_field, settings.guid_label_prefix, generation=generation
    )
    body, notes_list = make_safe(body)
    notes = list(stamp_notes) + list(notes_list)
    if dropped:
        notes.append("protected fields not updated: " + ", ".join(dropped))
    path = _issue_path(location, KEY_PLACEHOLDER)
    main = PlannedRequest("PUT", path, body) if body["fields"] else None
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
    )
