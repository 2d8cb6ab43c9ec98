"""GUID stamps, pure: what makes a CREATE findable again by its GUID (docs/wire-facts.md §10).

A GUID's ticket carries a stamp: by default a label `<prefix><guid>`, or, when `[ticket]
guid_field` names a text custom field, that field set to the GUID. A GUID may have several tickets
over time (TicketRecord.generation 1, 2, ...): each generation has a stamp of its own, so
exactly-once holds per ticket. A GUID that is not a plain word is stamped by a key derived from it
(`stamp_key`), so Jira's search (Lucene phrases, stop words) finds exactly it. `stamp_jql` and
`stamps_jql` search for one stamp or a batch of STAMP_BATCH.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from driver.model.jql import jql_string, lucene_phrase
from driver.model.json_values import copy_json
from driver.model.limits import MAX_LABEL, MAX_TEXT_FIELD
from driver.model.shaping import (
    JSON,
    cut_utf16,
    utf16_len,
)

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


GENERATION_SEPARATOR = "\x1f"
"""Joins a GUID and a generation n > 1 in the text stamp_key hashes; never in a (printable) GUID."""


def check_generation(generation: int) -> None:
    if generation < 1:
        raise ValueError(f"a ticket generation is 1 or more, not {generation}")


def stamp_key(guid: str, generation: int = 1) -> str:
    """`jd` and 32 lowercase hex digits: letters and digits only, one token to full-text search.

    The digits are the first 32 of SHA-256 over the UTF-8 GUID for generation 1, and over
    `<guid>\x1f<generation>` (decimal) for a later one. ValueError for a generation below 1.
    """
    check_generation(generation)
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
    check_generation(generation)
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
    check_generation(generation)
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
    stamped = copy_json(dict(body))
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


def stamp_edit_body(guid: str, guid_field: str, label_prefix: str, generation: int) -> dict[str, JSON]:
    """The edit that puts the GUID's stamp (of `generation`) on a ticket it did not create (a link):
    the guid_field set, else the stamp label added beside the labels a person set."""
    if guid_field:
        return {"fields": {guid_field: stamp_value(guid, generation)}}
    return {"update": {"labels": [{"add": stamp_label(guid, label_prefix, generation)}]}}


def foreign_stamp(fields: Mapping[str, JSON], guid_field: str, label_prefix: str, own: str) -> str | None:
    """A stamp of another alarm a ticket already carries (its label or guid_field value), or None.
    `own` is the stamp the link would add, which is not foreign."""
    if guid_field:
        value = fields.get(guid_field)
        return str(value) if isinstance(value, str) and value.strip() and value != own else None
    labels = fields.get("labels")
    if not isinstance(labels, list):
        return None
    return next(
        (str(x) for x in labels if isinstance(x, str) and x.startswith(label_prefix) and x != own), None
    )
