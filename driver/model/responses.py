"""Jira's answers as the Responses table keeps them (the connector's 3.0.0.x Responses table): the
request (method, path, what kind), what came back (status, Retry-After, RateLimit-Reason, Jira's
request id), how long it took, and the head of the body with every secret masked.

Pure: the Jira client makes a HeardResponse of each answer (driver.jira.client), the store keeps it
(driver.store.responses). Masking is by value first (the configured credentials, also in the base64
a Basic header carries, wherever they appear: a proxy or Jira may echo a header into a body) and
then by shape (JSON members and query parameters named like secrets, Authorization-style words).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

BODY_HEAD = 2048
"""Characters of an answer's body kept, from its first bytes (2 KB of ASCII: the table is for
reading what Jira said, not for archiving it)."""
PATH_MAX = 1000
"""Characters of a path (with its query) kept; a JQL query can be long."""
MASK = "****"

_SECRET_KEYS = (
    r"(?:password|passwd|secret|token|apikey|api[_-]?key|authorization|jwt|signature|code_verifier)"
)
"""JSON members whose name ends so are masked (accessToken, client_secret, apiKey ...)."""
_SECRET_PARAMS = rf"(?:\w*{_SECRET_KEYS}|code|sig|state)"
"""Query parameters so named are masked (an OAuth callback's code and state too)."""
_JSON_SECRET = re.compile(rf'("[^"\\]*?{_SECRET_KEYS}"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_QUERY_SECRET = re.compile(rf"((?:^|[?&;]){_SECRET_PARAMS}=)[^&;#\s]*", re.IGNORECASE)
_AUTH_WORD = re.compile(
    r"\b(Basic|Bearer|Token|JWT|OAuth)(?:\s+|%20|\+)[A-Za-z0-9._~+/=%-]{6,}", re.IGNORECASE
)
_MIN_SECRET = 4
"""A configured secret shorter than this is not masked by value (it would mask ordinary text)."""


class ResponseKind(StrEnum):
    """What a request was for, read from its method and path (the Responses table's filter, and
    the kinds metrics count)."""

    CREATE = "create"
    EDIT = "edit"
    COMMENT = "comment"
    TRANSITION = "transition"
    SEARCH = "search"
    READ = "read"
    PROPERTY = "property"
    METADATA = "metadata"
    CALL = "call"
    """A custom API endpoint's request (a CALL row: driver.model.endpoints)."""
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class HeardResponse:
    """One request to Jira and what came of it.

    at: when the answer came (or the request failed), wall clock, aware. status: None when there
    was no answer (timeout, connection lost; `error` says which). body: at most BODY_HEAD bytes of
    the answer, decoded, secrets masked. log_id: the log row it served (None: sync, metadata, a
    batched stamp search, `check`).
    """

    at: datetime
    method: str
    path: str
    kind: ResponseKind
    status: int | None
    duration_ms: float
    retry_after: str | None = None
    rate_limit_reason: str | None = None
    request_id: str | None = None
    body: str = ""
    error: str = ""
    log_id: int | None = None


@lru_cache(maxsize=4096)
def kind_of(method: str, path: str) -> ResponseKind:
    """The kind of a request to Jira's REST API by method and path (any API version)."""
    parts = [p for p in path.split("?", 1)[0].strip("/").split("/") if p]
    tail = parts[-1] if parts else ""
    if "search" in parts or tail == "jql":
        return ResponseKind.SEARCH
    if "properties" in parts:
        return ResponseKind.PROPERTY
    if "comment" in parts:
        return ResponseKind.COMMENT if method != "GET" else ResponseKind.READ
    if tail == "transitions":
        return ResponseKind.TRANSITION if method == "POST" else ResponseKind.READ
    if tail in ("field", "serverInfo", "myself", "createmeta", "editmeta") or "project" in parts:
        return ResponseKind.METADATA
    if tail == "issue" and method == "POST":
        return ResponseKind.CREATE
    if "issue" in parts and method == "PUT":
        return ResponseKind.EDIT
    if "issue" in parts and method == "GET":
        return ResponseKind.READ
    return ResponseKind.OTHER


def secret_forms(secrets: Iterable[str], username: str = "") -> tuple[str, ...]:
    """The texts to mask for these configured secrets, longest first: each as it is, as a JSON
    string holds it (once or twice escaped), percent-encoded (with and without `/` kept, `+` for a
    space, hex digits in either case), and in base64 (alone and as the `username:secret` a Basic
    header carries; padded, unpadded, percent-encoded); and the Authorization values made of them
    (`Basic ...`, `Bearer ...`) percent-encoded or in base64. Jira, a proxy or a gateway may echo
    any of them into an answer."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) < _MIN_SECRET:
            continue
        escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
        escaped |= {json.dumps(text)[1:-1] for text in escaped}
        forms.update((secret, *escaped))
        for encoded in (
            quote(secret, safe=""),
            quote(secret),
            quote_plus(secret),
            quote_plus(secret, safe="/"),
        ):
            forms.update((encoded, _HEX.sub(lambda hex_digits: hex_digits[0].lower(), encoded)))
        basic = _b64(f"{username}:{secret}")
        for coded in (basic, _b64(secret)):
            forms.update((coded, coded.rstrip("="), quote(coded, safe="")))
        for header in (f"Basic {basic}", f"Bearer {secret}"):
            forms.update((quote(header, safe=""), quote_plus(header), _b64(header), _b64(header).rstrip("=")))
    return tuple(sorted(forms, key=len, reverse=True))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


_HEX = re.compile(r"%[0-9A-F]{2}")


def mask_json(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A parsed JSON value with every string in it masked (`mask`), members' names kept."""
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {key: mask_json(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_json(item, secrets) for item in value]
    return value


_NAME_HINTS = (
    "passw",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "jwt",
    "signature",
    "code_verifier",
)
"""What a name _SECRET_KEYS matches holds (lower case). Every answer is masked, so each regular
expression runs only on a text that holds what it looks for."""
_PARAM_HINTS = ("code=", "sig=", "state=")
_AUTH_HINTS = ("basic", "bearer", "token", "jwt", "oauth")


def split_credentials(url: str) -> tuple[str, str | None, str]:
    """(scheme://, user:password, host and the rest) of a URL or a scheme-less host, the middle
    None when there is no @. Everything up to the last @ after the scheme counts: a password may
    hold / ? # or even ://, and taking a little too much is harmless where it is hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    return scheme + sep, userinfo if at else None, host


def without_credentials(url: str) -> str:
    """`url` with any user:password@ part shown as [credentials]@ (a proxy's or a database's URL in
    a message)."""
    start, userinfo, host = split_credentials(url)
    return url if userinfo is None else f"{start}[credentials]@{host}"


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret masked: the given values (secret_forms) wherever they appear, JSON
    members named like secrets, and Authorization-style words (`Bearer <token>`)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    lower = text.lower()
    named = any(hint in lower for hint in _NAME_HINTS)
    if named:
        text = _JSON_SECRET.sub(rf'\1"{MASK}"', text)
    if "=" in text and (named or any(hint in lower for hint in _PARAM_HINTS)):
        text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
    if any(hint in lower for hint in _AUTH_HINTS):
        text = _AUTH_WORD.sub(rf"\1 {MASK}", text)
    return text


def clean_path(path: str, params: Mapping[str, Any] | None, secrets: tuple[str, ...] = ()) -> str:
    """The request's path (relative to the Jira URL) with its query, secrets masked, at most
    PATH_MAX characters."""
    text = path
    if params:
        query = "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in params.items() if v is not None)
        if query:
            text = f"{path}{'&' if '?' in path else '?'}{query}"
    return mask(text, secrets)[:PATH_MAX]


def body_head(content: bytes, secrets: tuple[str, ...] = ()) -> str:
    """The first BODY_HEAD characters of a body (a cut character replaced), secrets masked.

    Masked before it is cut, and a cut secret's first part at the end masked too: a secret cut in
    half at the edge must not survive in part."""
    head = mask(content[: BODY_HEAD + 256].decode("utf-8", "replace"), secrets)[:BODY_HEAD]
    if len(content) <= BODY_HEAD:
        return head  # nothing was cut: no secret can end half way at the edge
    for secret in secrets:
        for size in range(min(len(secret), len(head)) - 1, _MIN_SECRET - 1, -1):
            if head.endswith(secret[:size]):
                return head[:-size] + MASK
    return head


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A HeardResponse as the Responses table holds it, with its row id."""

    id: int
    response: HeardResponse


@dataclass(frozen=True, slots=True)
class ResponseFilter:
    """Which responses a page shows, newest first.

    status: '2xx', '3xx', '4xx', '5xx', 'none' (no answer) or one code ('429'); None: all.
    """

    status: str | None = None
    kind: ResponseKind | None = None
    log_id: int | None = None
    before_id: int | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ResponsePage:
    """A page of responses, newest first; `total` counts every match (for the scroll bar)."""

    rows: list[StoredResponse]
    total: int
    next_before_id: int | None


STATUS_FILTER = re.compile(r"^(?:[1-5]xx|none|[1-5][0-9][0-9])$")
"""What a status filter may say."""
