"""Requests as the API reads them: the media types each route takes, JSON read strictly, and a
query parameter that takes one value given once.

A JSON object that names one member twice is refused (400, the member named): Python's json and
pydantic both keep the last value silently, so `{"commands": [A], "commands": [B]}` queued B,
answered 202, and A was never heard of. Routes whose body FastAPI reads are StrictJsonRoutes; the
routes that read their own bytes (Advanced commands, alert notifications) call
`refuse_duplicate_members`.

A query parameter that takes one value, given twice (`?status=Ok&status=Failed`), is refused (400,
the parameter named): FastAPI takes the last, so the answer did not match what was asked. So is one
a route that takes query parameters does not know (`?search=` for `?q=`): it was ignored, and every
row came back.

A body in a media type the route does not take is refused (415) before it is read as one it
does: `curl -d` sends application/x-www-form-urlencoded, and `commands=G|CREATE|...` read as text
would have queued a command for the GUID `commands=G`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, get_origin

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from driver.api.errors import ApiError, BadRequest


class UnsupportedMediaType(ApiError):
    """A body in a media type (or charset) the route does not take; nothing was read or queued."""

    status = 415


class DuplicateMember(ValueError):
    """A JSON object names one member twice (the message names it)."""


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise DuplicateMember(f"the member {name!r} appears twice in one object")
        members[name] = value
    return members


def strict_json(raw: bytes | str) -> Any:
    """The JSON value of `raw`. Raises json.JSONDecodeError (not JSON) and DuplicateMember."""
    return json.loads(raw, object_pairs_hook=_members)


def refuse_duplicate_members(raw: bytes, what: str) -> None:
    """For a body pydantic has already validated: raises BadRequest (`what`, then the member)
    when one of its objects names a member twice."""
    try:
        strict_json(raw)
    except DuplicateMember as exc:
        raise BadRequest(f"{what}: {exc}; nothing was queued") from None


def media_type(request: Request, takes: tuple[str, ...]) -> str:
    """The body's media type (lower case, without parameters), one of `takes`; a request without
    Content-Type is taken as the first. Raises UnsupportedMediaType for any other type, or a
    charset other than UTF-8 (or its subset US-ASCII)."""
    header = request.headers.get("content-type")
    if header is None:
        return takes[0]
    kind, _, parameters = header.partition(";")
    kind = kind.strip().lower()
    charset = ""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    expected = " or ".join(takes)
    if kind not in takes:
        hint = ""
        if kind == "application/x-www-form-urlencoded":
            hint = f" (curl -d sends that: add -H 'Content-Type: {takes[0]}')"
        raise UnsupportedMediaType(f"Content-Type {kind or '(empty)'}{hint}: send {expected}")
    if charset not in ("", "utf-8", "utf8", "us-ascii"):
        raise UnsupportedMediaType(f"charset {charset}: send {kind} in UTF-8")
    return kind


class StrictJsonRequest(Request):
    """A Request whose `json()` refuses an object that names a member twice: FastAPI turns the
    JSONDecodeError into a 400 naming it (driver.api.errors)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = strict_json(body)
            except DuplicateMember as exc:
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from None
        return self._json


def query_names(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    """(every query parameter the route takes, those that take one value); a model's fields count
    one by one."""
    names: dict[str, bool] = {}
    for param in route.dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, field in annotation.model_fields.items():
                names[field.alias or name] = get_origin(field.annotation) not in _MANY
        else:
            names[param.alias] = get_origin(annotation) not in _MANY
    return frozenset(names), frozenset(name for name, single in names.items() if single)


_MANY = (list, tuple, set, frozenset)


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by StrictJsonRequest, and whose query parameters are its
    own, each that takes one value given once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known, single = query_names(self)

        async def strict(request: Request) -> Response:
            if known and request.query_params:
                _check_query(request, known, single)
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def _check_query(request: Request, known: frozenset[str], single: frozenset[str]) -> None:
    """Raises BadRequest for a query parameter the route does not take (a misspelt filter was
    ignored, and every row came back), or one that takes one value given twice."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in known:
            raise BadRequest(f"unknown query parameter {name!r}: this route takes {', '.join(sorted(known))}")
        if name in seen and name in single:
            raise BadRequest(f"query parameter {name!r} given more than once: it takes one value")
        seen.add(name)
