r"""The Advanced command language: `GUID|ACTION|field;value|field;value|`.

Grammar (docs/advanced-commands.md has the full story with tested examples):

    command  = guid "|" action { "|" pair } [ "|" ]
    pair     = field ";" value          value = everything after the FIRST ";"
    escapes  = "\|" -> "|"   "\\" -> "\"   "\n" -> newline      (anywhere: GUID, action, field, value)

- Any other character after `\` is an error ("unknown escape"), and so is a `\` at the very end.
- GUID: surrounding spaces stripped; then 1 to 256 characters, no control characters.
- ACTION: CREATE, UPDATE, RESOLVE, REOPEN or CALL, any case, surrounding spaces ignored.
- field: a Jira field id or a catalog display name, any case, surrounding spaces ignored.
- value: kept exactly, spaces included; it may contain `;`.
- CALL: `endpoint;NAME` names a configured endpoint (driver.model.endpoints); every other pair is a
  variable of its templates, `name;value` (the name as written, the value verbatim).
- On UPDATE, RESOLVE and REOPEN, `comment;text` adds a comment (several allowed, kept in order)
  instead of a field; on RESOLVE and REOPEN, `resolution;name` names the transition's resolution.
- An empty (or all-space) value clears the field on UPDATE (not project, issue type or
  priority: UNCLEARABLE) and leaves the pair out on CREATE.
- One trailing line ending of the whole text is ignored (commands often come from files or
  stdin), and so is a final segment made only of spaces.
- Positions are 1-based character (Unicode code point) offsets into the text as given.

`parse` checks syntax only and never raises anything but CommandError. `resolve` looks the fields
up in a catalog and shapes the values (errors point at the pair's field or value). `render` is the
inverse of `parse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from enum import StrEnum

from driver.contract.endpoints import MAX_VARIABLES, VARIABLE
from driver.contract.schemas import MAX_GUID_LENGTH
from driver.errors import CommandError, ShapeError, UnknownFieldError
from driver.model.endpoints import BUILT_INS
from driver.model.fields import FieldCatalog, FieldType
from driver.model.shaping import JSON, TextFormat, UserStyle, shape

__all__ = [
    "ACTIONS",
    "COMMENT",
    "ENDPOINT",
    "MAX_GUID_LENGTH",
    "UNCLEARABLE",
    "Action",
    "ActionSpec",
    "Command",
    "Pair",
    "ResolvedCommand",
    "escape",
    "parse",
    "parse_command",
    "render",
    "resolve",
]

COMMENT = "comment"
"""The pseudo-field that adds a comment on UPDATE, RESOLVE and REOPEN."""
ENDPOINT = "endpoint"
"""The pair of a CALL that names the endpoint (`endpoint;NAME`)."""
RESOLUTION = "resolution"
"""The pseudo-field that names the resolution a RESOLVE (or REOPEN) sets on the transition's screen."""


class Action(StrEnum):
    """What a command does with its ticket."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    RESOLVE = "RESOLVE"
    """The alarm cleared: move the ticket to the resolve target (a transition)."""
    REOPEN = "REOPEN"
    """Move the ticket back to the reopen target (a transition)."""
    CALL = "CALL"
    """Call a custom API endpoint (driver.model.endpoints) for the GUID's ticket."""

    @property
    def transitions(self) -> bool:
        """The action moves the ticket in its workflow."""
        return self in (Action.RESOLVE, Action.REOPEN)


@dataclass(frozen=True)
class ActionSpec:
    """What the language allows for one action."""

    action: Action
    allows_comments: bool
    """`comment;text` pairs are comments (UPDATE) rather than an error."""
    needs_existing_ticket: bool
    """The ticket must be found by its GUID stamp before the request can be sent."""
    names_resolution: bool = False
    """`resolution;name` names the transition's resolution rather than being an error."""
    calls_endpoint: bool = False
    """The pairs are `endpoint;NAME` and the endpoint's variables, not Jira fields."""


ACTIONS: dict[str, ActionSpec] = {
    "CREATE": ActionSpec(Action.CREATE, allows_comments=False, needs_existing_ticket=False),
    "UPDATE": ActionSpec(Action.UPDATE, allows_comments=True, needs_existing_ticket=True),
    "RESOLVE": ActionSpec(
        Action.RESOLVE, allows_comments=True, needs_existing_ticket=True, names_resolution=True
    ),
    "REOPEN": ActionSpec(
        Action.REOPEN, allows_comments=True, needs_existing_ticket=True, names_resolution=True
    ),
    "CALL": ActionSpec(Action.CALL, allows_comments=False, needs_existing_ticket=False, calls_endpoint=True),
}
"""Every action the parser accepts, by its upper-case name."""


@dataclass(frozen=True)
class Pair:
    """One `field;value` pair as written (field stripped, value verbatim after unescaping)."""

    field: str
    value: str
    field_position: int = _field(default=0, compare=False)
    """1-based position of the field's first character (after leading spaces)."""
    value_position: int = _field(default=0, compare=False)
    """1-based position of the value's first character (just after the `;`)."""


@dataclass(frozen=True)
class Command:
    """A syntactically valid command; fields are not yet looked up."""

    guid: str
    action: Action
    pairs: tuple[Pair, ...] = ()
    action_position: int = _field(default=0, compare=False)
    """1-based position of the action's first character."""


@dataclass(frozen=True)
class ResolvedCommand:
    """A command with field ids and shaped JSON values (in command order) and its comments."""

    guid: str
    action: Action
    fields: dict[str, JSON] = _field(default_factory=dict)
    """Field id -> JSON value; a field given twice keeps its first place and its last value."""
    comments: tuple[str, ...] = ()
    """Comment texts, in order (bodies are built by driver.model.requests)."""
    left_out: tuple[str, ...] = _field(default=(), compare=False)
    """Field ids a CREATE named with an empty value, so left out (for the log's note only)."""
    resolution: str | None = None
    """RESOLVE/REOPEN: the resolution named by `resolution;name` (None: the configured one)."""
    endpoint: str = ""
    """CALL: the endpoint's name."""
    variables: dict[str, str] = _field(default_factory=dict)
    """CALL: the values of the endpoint's own placeholders, by name."""


# --- parsing ----------------------------------------------------------------------------------

_ESCAPES = {"|": "|", "\\": "\\", "n": "\n"}


@dataclass
class _Segment:
    text: str  # unescaped
    start: int  # 0-based index of the segment's first raw character
    raw_offsets: list[int]  # raw 0-based index of each unescaped character


def _split(text: str) -> list[_Segment]:
    """Split on unescaped `|`, unescaping as we go; CommandError for a bad escape."""
    segments: list[_Segment] = []
    chars: list[str] = []
    offsets: list[int] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise CommandError(i + 1, "dangling \\ at the end (write \\\\ for a backslash)")
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                shown = repr(nxt)[1:-1] if not nxt.isprintable() else nxt
                raise CommandError(
                    i + 1, f"unknown escape \\{shown} (known: \\| \\\\ \\n; write \\\\ for a backslash)"
                )
            chars.append(_ESCAPES[nxt])
            offsets.append(i)
            i += 2
            continue
        if ch == "|":
            segments.append(_Segment("".join(chars), start, offsets))
            chars, offsets = [], []
            start = i + 1
            i += 1
            continue
        chars.append(ch)
        offsets.append(i)
        i += 1
    segments.append(_Segment("".join(chars), start, offsets))
    return segments


def _lead(segment: _Segment) -> int:
    """1-based position of the segment's first non-space character (or its start)."""
    for char, offset in zip(segment.text, segment.raw_offsets, strict=True):
        if not char.isspace():
            return offset + 1
    return segment.start + 1


def _strip_line_ending(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def parse(text: str) -> Command:
    """Parse a command's syntax; raises CommandError (1-based position, reason) and nothing else."""
    if not isinstance(text, str):
        raise CommandError(1, "a command must be text")
    text = _strip_line_ending(text)
    segments = _split(text)

    guid_segment = segments[0]
    guid = guid_segment.text.strip()
    if not guid:
        raise CommandError(1, "empty GUID (a command starts with GUID|ACTION|)")
    if len(guid) > MAX_GUID_LENGTH:
        raise CommandError(1, f"GUID too long: {len(guid)} characters (at most {MAX_GUID_LENGTH})")
    leading = len(guid_segment.text) - len(guid_segment.text.lstrip())
    for index, char in enumerate(guid):
        if not char.isprintable():
            # Labels and JQL cannot carry line breaks or tabs, so a GUID must not either.
            offset = guid_segment.raw_offsets[leading + index]
            raise CommandError(offset + 1, f"non-printable character {char!r} in the GUID")

    if len(segments) < 2:
        raise CommandError(
            len(text) + 1,
            "missing action: expected |CREATE|, |UPDATE|, |RESOLVE|, |REOPEN| or |CALL| after the GUID",
        )
    action_segment = segments[1]
    action_text = action_segment.text.strip()
    if not action_text:
        raise CommandError(
            _lead(action_segment), "missing action: expected CREATE, UPDATE, RESOLVE, REOPEN or CALL"
        )
    spec = ACTIONS.get(action_text.upper())
    if spec is None:
        known = ", ".join(ACTIONS)
        raise CommandError(_lead(action_segment), f"unknown action {action_text!r} (known: {known})")

    pair_segments = segments[2:]
    # The closing `|` is optional, so an empty (or all-space) last segment is no pair.
    if pair_segments and not pair_segments[-1].text.strip():
        pair_segments = pair_segments[:-1]
    pairs: list[Pair] = []
    for segment in pair_segments:
        pairs.append(_parse_pair(segment, spec))
    return Command(guid=guid, action=spec.action, pairs=tuple(pairs), action_position=_lead(action_segment))


def _parse_pair(segment: _Segment, spec: ActionSpec) -> Pair:
    where = _lead(segment)
    if not segment.text.strip():
        raise CommandError(where, "empty pair: expected field;value between the | separators")
    split = segment.text.find(";")
    if split < 0:
        raise CommandError(where, f"expected field;value, got {segment.text.strip()!r} without ;")
    name = segment.text[:split].strip()
    if not name:
        raise CommandError(where, "empty field name before ;")
    value = segment.text[split + 1 :]
    semicolon_at = segment.raw_offsets[split]
    return Pair(field=name, value=value, field_position=where, value_position=semicolon_at + 2)


# --- rendering --------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text with `\\`, `|` and newlines escaped for use inside a command."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\n")


def render(command: Command) -> str:
    """The command as text (with the closing `|`); parse(render(c)) == c for parsed commands."""
    parts = [escape(command.guid), command.action.value]
    parts.extend(f"{escape(p.field)};{escape(p.value)}" for p in command.pairs)
    return "|".join(parts) + "|"


# --- resolving --------------------------------------------------------------------------------


UNCLEARABLE: dict[FieldType, str] = {
    # Project and issue type are refused by their shapers already. The specs give priority no
    # empty value (spec v3 bulk edit: JiraPriorityField requires a priorityId, while clearable
    # fields such as JiraSingleSelectField say how to clear), and Jira gives every issue one
    # (the default when a create names none).
    FieldType.PRIORITY: (
        "a priority cannot be cleared (Jira keeps one on every issue): "
        "name one, e.g. priority;Medium or priority;id:3"
    ),
}
"""Field types an UPDATE cannot set to nothing (beyond project and issue type), with the reason."""


def resolve(
    command: Command,
    catalog: FieldCatalog,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> ResolvedCommand:
    """Look up every field and shape every value; CommandError at the pair's field or value."""
    spec = ACTIONS[command.action.value]
    if spec.calls_endpoint:
        return _resolve_call(command)
    fields: dict[str, JSON] = {}
    comments: list[str] = []
    left_out: list[str] = []
    resolution: str | None = None
    for pair in command.pairs:
        if pair.field.strip().casefold() == COMMENT:
            if not spec.allows_comments:
                raise CommandError(
                    pair.field_position,
                    f"comments can only be added by UPDATE, RESOLVE or REOPEN, not {command.action.value}",
                )
            if not pair.value.strip():
                raise CommandError(pair.value_position, "empty comment")
            comments.append(pair.value)
            continue
        if spec.names_resolution and pair.field.strip().casefold() == RESOLUTION:
            if not pair.value.strip():
                raise CommandError(pair.value_position, "empty resolution (name one, e.g. resolution;Fixed)")
            resolution = pair.value.strip()
            continue
        definition = catalog.resolve(pair.field)
        if definition is None:
            raise UnknownFieldError(
                pair.field_position,
                f"unknown field {pair.field!r} (use a Jira field id or a display name from the catalog)",
            )
        if not pair.value.strip():
            if command.action == Action.CREATE:
                # Nothing to set: sending [] or null would be refused for a field that is not on
                # the create screen, so the pair is left out (the table's value, if any, stays).
                fields.pop(definition.id, None)
                if definition.id not in left_out:
                    left_out.append(definition.id)
                continue
            if definition.type in UNCLEARABLE:
                raise CommandError(pair.value_position, UNCLEARABLE[definition.type])
        elif definition.id in left_out:
            left_out.remove(definition.id)
        try:
            value = shape(definition, pair.value, user_style, text_format)
        except ShapeError as exc:
            raise CommandError(pair.value_position, str(exc)) from None
        except (ValueError, RecursionError) as exc:  # defensive: shaping promises ShapeError only
            raise CommandError(pair.value_position, f"field {definition.id!r}: {exc}") from None
        if value == [] and command.action == Action.CREATE:
            # A list blank only once split (`components; , `): nothing to set, as for a blank value.
            fields.pop(definition.id, None)
            if definition.id not in left_out:
                left_out.append(definition.id)
            continue
        fields[definition.id] = value
    return ResolvedCommand(command.guid, command.action, fields, tuple(comments), tuple(left_out), resolution)


def _resolve_call(command: Command) -> ResolvedCommand:
    """A CALL's endpoint name and variables (whether the endpoint exists and takes them is checked
    against the configuration: driver.app.intake)."""
    endpoint: Pair | None = None
    variables: dict[str, str] = {}
    for pair in command.pairs:
        name = pair.field.strip()
        if name.casefold() == ENDPOINT:
            if endpoint is not None:
                raise CommandError(pair.field_position, "endpoint named twice (a CALL calls one endpoint)")
            if not pair.value.strip():
                raise CommandError(pair.value_position, "empty endpoint name (endpoint;NAME)")
            endpoint = pair
            continue
        if not VARIABLE.fullmatch(name):
            raise CommandError(
                pair.field_position,
                f"variable {name!r}: expected letters, digits and _ (starting with a letter or _)",
            )
        if name in BUILT_INS:
            raise CommandError(
                pair.field_position, f"{{{name}}} is filled by the driver, a CALL cannot set it"
            )
        if name in variables:
            raise CommandError(pair.field_position, f"variable {name!r} given twice")
        variables[name] = pair.value
    if endpoint is None:
        raise CommandError(
            command.action_position or 1, "a CALL names its endpoint: GUID|CALL|endpoint;NAME|var;value|"
        )
    if len(variables) > MAX_VARIABLES:
        raise CommandError(endpoint.field_position, f"at most {MAX_VARIABLES} variables in one CALL")
    return ResolvedCommand(command.guid, Action.CALL, endpoint=endpoint.value.strip(), variables=variables)


def parse_command(
    text: str,
    catalog: FieldCatalog,
    user_style: UserStyle = "datacenter",
    text_format: TextFormat = "plain",
) -> ResolvedCommand:
    """parse + resolve: the command ready for driver.model.requests; raises CommandError only."""
    return resolve(parse(text), catalog, user_style, text_format)
