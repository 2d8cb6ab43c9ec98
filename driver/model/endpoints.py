"""Custom API endpoints (the connector's 3.0.0.x "Endpoints"): `[endpoint.NAME]` sections, and the
one request a CALL makes of them (pure, no I/O).

An endpoint is a request template relative to the Jira URL:

    [endpoint.watch]
    method = POST
    path = rest/api/2/issue/{key}/watchers
    body = "{user}"
    expect = 204
    idempotent = true

Placeholders are `{name}` (letters, digits and `_`, starting with a letter or `_`): `{guid}`, `{key}`
and `{id}` are the GUID and its ticket's key and issue id; any other name is a variable the CALL
gives (`GUID|CALL|endpoint;watch|user;jdoe|`). No value can change what the template means:

- in the path (and its query) a value is percent-encoded whole (`/`, `?`, `#`, `%`, spaces...), and a
  filled segment that reads as `.` or `..` is refused, so no value adds a segment or climbs out;
- in the body, placeholders are replaced inside the JSON strings of the parsed template, and the
  body is encoded as JSON after, so a value is always one JSON string whatever quotes or newlines
  it holds. Keys are never filled.

The template itself is checked when the configuration is read (`Endpoint.of`): a path that could
leave the Jira URL (a scheme, `//`, a leading `/`, `.` or `..` segments, a fragment) is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from driver.contract.endpoints import MAX_VALUE, MAX_VARIABLES, VARIABLE

__all__ = [
    "BUILT_INS",
    "MAX_VARIABLES",
    "METHODS",
    "OUTCOME_UNKNOWN",
    "TICKET_PLACEHOLDERS",
    "Endpoint",
    "EndpointError",
    "FilledCall",
    "check_variables",
    "placeholder_names",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BUILT_INS = ("guid", "key", "id")
"""The placeholders the driver fills itself; a CALL cannot set them."""
TICKET_PLACEHOLDERS = frozenset({"key", "id"})
"""The placeholders that need the GUID's ticket: a CALL using one waits for it like an UPDATE."""
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""An endpoint's name (the part after `endpoint.` in its section)."""
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
MAX_BODY_TEMPLATE = 65_536
"""Characters of a body template."""


OUTCOME_UNKNOWN = (
    "outcome unknown: CALL {name} may have reached Jira ({why}); not sent again because the endpoint"
    " is not idempotent (mark it idempotent = true to have it repeated)"
)
"""The reason of a non-idempotent call whose answer was never heard; `why` says how it was lost."""


class EndpointError(ValueError):
    """An endpoint template, or the values of one call, that cannot make a request: `key` is the
    section's key at fault ('' for a call's values), `reason` one line."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class FilledCall:
    """The request one CALL makes: path relative to the Jira URL, body as JSON values (None: none)."""

    method: str
    path: str
    body: Any


def placeholder_names(text: str) -> list[str]:
    """The placeholder names in a text, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _path_problem(path: str) -> str:
    """Why a path template could send a request (and the credentials) outside the Jira URL, or ''."""
    if not path.strip():
        return "expected a path relative to the Jira URL, e.g. rest/api/2/issue/{key}/watchers"
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in path):
        return "expected a path without spaces, control characters or backslashes"
    if path.startswith("/"):
        return "expected a path relative to the Jira URL, without a leading /"
    if "#" in path:
        return "expected a path without a #fragment"
    route = path.partition("?")[0]
    if "://" in path or ":" in route.split("/")[0] or "//" in route:
        return "expected a path inside the Jira URL (no scheme, host or empty segment)"
    for segment in route.split("/"):
        if unquote(segment) in (".", ".."):
            return "expected a path without '.' or '..' segments"
    rest = _PLACEHOLDER.sub("", path)
    if "{" in rest or "}" in rest:
        return "a { or } that is not a placeholder such as {key} (letters, digits and _)"
    return ""


@dataclass(frozen=True)
class Endpoint:
    """One `[endpoint.NAME]` section, checked (`Endpoint.of`)."""

    name: str
    method: str
    path: str
    """The path template, relative to the Jira URL (may hold a ?query)."""
    body: Any = None
    """The body template as JSON values (None: no body)."""
    expect: tuple[int, ...] = (200, 201, 204)
    """The status codes that mean the call did what it should; any other is a Failed row."""
    idempotent: bool = False
    """Repeating it does no harm: a call whose outcome is unknown (a timeout, a 5xx, a restart while
    it was on the wire) is sent again. Not idempotent (the default): it is Failed with that reason."""

    @classmethod
    def of(
        cls,
        name: str,
        method: str,
        path: str,
        body: str = "",
        expect: tuple[int, ...] = (200, 201, 204),
        idempotent: bool = False,
    ) -> Endpoint:
        """A checked endpoint; EndpointError naming what is wrong (the section's key first)."""
        if not NAME.fullmatch(name):
            raise EndpointError("name", f"{name!r}: expected 1 to 64 letters, digits, _ or -")
        verb = method.strip().upper()
        if verb not in METHODS:
            raise EndpointError("method", f"expected one of {', '.join(METHODS)}")
        problem = _path_problem(path)
        if problem:
            raise EndpointError("path", problem)
        template: Any = None
        if body.strip():
            if verb == "GET":
                raise EndpointError("body", "a GET sends no body")
            if len(body) > MAX_BODY_TEMPLATE:
                raise EndpointError("body", f"longer than {MAX_BODY_TEMPLATE} characters")
            try:
                template = json.loads(body)
            except ValueError as exc:
                raise EndpointError("body", f"not valid JSON: {exc}") from None
        if not expect:
            raise EndpointError("expect", "name at least one status code, e.g. 200, 204")
        for status in expect:
            if not 100 <= status <= 599:
                raise EndpointError("expect", f"{status} is not an HTTP status code (100 to 599)")
        return cls(name, verb, path.strip(), template, tuple(expect), idempotent)

    @property
    def placeholders(self) -> list[str]:
        """Every placeholder of the path and the body's strings, in order."""
        names = placeholder_names(self.path)
        for text in _strings(self.body):
            names.extend(n for n in placeholder_names(text) if n not in names)
        return names

    @property
    def variables(self) -> list[str]:
        """The placeholders a CALL must give (those that are not built in)."""
        return [name for name in self.placeholders if name not in BUILT_INS]

    @property
    def needs_ticket(self) -> bool:
        """It names `{key}` or `{id}`: it waits for the GUID's ticket, like an UPDATE."""
        return bool(TICKET_PLACEHOLDERS & set(self.placeholders))

    def fill(self, values: Mapping[str, str], keep: frozenset[str] = frozenset()) -> FilledCall:
        """The request for these placeholder values (built-ins included); the placeholders named in
        `keep` stay as they are (a dry run's `{key}`). EndpointError when a value is missing or a
        path segment would read as `.` or `..`."""
        values = {**values, **{name: "{" + name + "}" for name in keep}}
        missing = [name for name in self.placeholders if name not in values]
        if missing:
            raise EndpointError("", f"endpoint {self.name!r}: no value for {{{missing[0]}}}")

        def in_path(match: re.Match[str]) -> str:
            name = match.group(1)
            return values[name] if name in keep else quote(values[name], safe="")

        path = _PLACEHOLDER.sub(in_path, self.path)
        for segment in path.partition("?")[0].split("/"):
            if unquote(segment) in (".", ".."):
                raise EndpointError(
                    "",
                    f"endpoint {self.name!r}: a value makes the path segment {segment!r},"
                    " which would leave the endpoint's path",
                )

        def in_text(match: re.Match[str]) -> str:
            return values[match.group(1)]

        def fill_body(value: Any) -> Any:
            if isinstance(value, str):
                return _PLACEHOLDER.sub(in_text, value)
            if isinstance(value, list):
                return [fill_body(item) for item in value]
            if isinstance(value, dict):
                return {key: fill_body(item) for key, item in value.items()}
            return value

        return FilledCall(self.method, path, fill_body(self.body))


def check_variables(endpoint: Endpoint, variables: Mapping[str, str]) -> tuple[str, str]:
    """Why these variables cannot call the endpoint: (the variable at fault, or '' for the call as a
    whole; the reason), or ('', '') when they can. Checks names, bounds, and missing and unused ones."""
    if len(variables) > MAX_VARIABLES:
        return "", f"at most {MAX_VARIABLES} variables in one CALL, got {len(variables)}"
    wanted = endpoint.variables
    for name, value in variables.items():
        if name in BUILT_INS:
            return name, f"{{{name}}} is filled by the driver, a CALL cannot set it"
        if not VARIABLE.fullmatch(name):
            return name, f"variable {name!r}: expected letters, digits and _ (starting with a letter or _)"
        if len(value) > MAX_VALUE:
            return name, f"variable {name!r}: longer than {MAX_VALUE} characters"
        if name not in wanted:
            used = ", ".join(wanted) or "none"
            return name, f"endpoint {endpoint.name!r} has no placeholder {{{name}}} (its variables: {used})"
    for name in wanted:
        if name not in variables:
            return "", (
                f"endpoint {endpoint.name!r} needs a value for {{{name}}}: |{name};value| in a CALL"
                f" command, {name}=VALUE to jira-driver call"
            )
    return "", ""
