"""docs/api.md, the HTTP API's reference for people, written from the OpenAPI document every driver
serves at /openapi.json (driver.api.openapi_document), so it cannot drift from the code: a test
compares the file with what this writes.

    .venv/bin/python -m driver.api.reference > docs/api.md

Each operation: its method and path, what it does (the handler's docstring), its query and path
parameters, its body (a model, or text/plain) and its answers; then every model with its fields,
their types and bounds, and what each means (the fields' docstrings).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, StrictUndefined

from driver.api import openapi_document

_TEMPLATE = """\
# HTTP API reference

Written by `.venv/bin/python -m driver.api.reference > docs/api.md` from the OpenAPI document every
driver serves at `/openapi.json` (version {{ version }}); do not edit by hand. How to use it for
each task: [operations.md](operations.md), [advanced-commands.md](advanced-commands.md),
[endpoints.md](endpoints.md), [pair.md](pair.md).

Every request but the open ones (marked (open), and `GET /openapi.json`) carries
`Authorization: Bearer <[driver] api_token>`; a wrong or missing one is answered 401. A JSON body
goes with `Content-Type: application/json`. A refused request is answered with a JSON body
`{"error": "<what was wrong and where>", "details": ...}` and changes nothing: 400 for a body or
parameter out of its bounds (`details`: the command's problems, `{"errors": [{"at", "problem"}]}`,
for Advanced commands; the fields', `{"errors": [{"loc", "msg"}]}`, for a body of the driver's
own models), 401, 404, 409, 413 where an operation lists it (a body over `[driver]
max_request_bytes`), 503 with `Retry-After` while the driver is shutting down or its database
cannot take the write. Unknown keys in a body of the driver's own models are refused, never
ignored; the senders' payloads (Alertmanager, Grafana, Jira's webhooks) are read for what the
driver needs, the rest let be. A list in the query string is the parameter repeated
(`labels=a&labels=b`). A moment (`date-time`) is ISO 8601; one without an offset is read as UTC.
{% for tag, operations in groups %}
## {{ tag }}
{% for op in operations %}
### `{{ op.method }} {{ op.path }}`{% if op.open %} (open){% endif %}

{{ op.description }}
{% if op.parameters %}
| parameter | in | type | required | default | meaning |
|---|---|---|---|---|---|
{% for p in op.parameters -%}
| `{{ p.name }}` | {{ p.where }} | {{ p.type }} | {{ p.required }} | {{ p.default }} | {{ p.meaning }} |
{% endfor %}{% endif %}
{%- if op.body %}
Body: {{ op.body }}
{% endif %}
Answers:
{% for a in op.answers -%}
- `{{ a.status }}` {{ a.description }}{% if a.schema %}: {{ a.schema }}{% endif %}
{% endfor %}{% endfor %}{% endfor %}
## Models
{% for model in models %}
### {{ model.name }}

{% if model.description %}{{ model.description }}

{% endif -%}
{% if model.fields -%}
| field | type | required | default | meaning |
|---|---|---|---|---|
{% for f in model.fields -%}
| `{{ f.name }}` | {{ f.type }} | {{ f.required }} | {{ f.default }} | {{ f.meaning }} |
{% endfor %}{% elif model.type %}{{ model.type }}
{% endif %}{% endfor %}"""

_UNTAGGED = "alerts and metrics"

_TOKEN_INSIDE = ("/metrics", "/api/alertmanager", "/api/grafana")
"""Guarded, though their OpenAPI operations name no security: they check the token themselves
([metrics] public may waive it; Grafana's signature is checked too)."""


def render(document: Mapping[str, Any]) -> str:
    """The Markdown reference of an OpenAPI document (the driver's: 3.1, as FastAPI writes it)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    schemas = document.get("components", {}).get("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or [_UNTAGGED])[0]
            groups.setdefault(tag, []).append(_operation(method, path, operation, schemas))
    models = [_model(name, schema) for name, schema in sorted(schemas.items())]
    environment = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    text = environment.from_string(_TEMPLATE).render(
        version=document.get("info", {}).get("version", ""),
        groups=sorted(groups.items()),
        models=models,
    )
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def _operation(
    method: str, path: str, operation: Mapping[str, Any], schemas: Mapping[str, Any]
) -> dict[str, Any]:
    parameters = [
        {
            "name": p["name"],
            "where": p.get("in", ""),
            "type": _cell(
                _type(p.get("schema", {}))
                + (", the parameter repeated" if p.get("schema", {}).get("type") == "array" else "")
            ),
            "required": "yes" if p.get("required") else "no",
            "default": _default(p.get("schema", {})),
            "meaning": _cell(p.get("description") or p.get("schema", {}).get("description", "")),
        }
        for p in operation.get("parameters", [])
    ]
    body = ""
    if (request := operation.get("requestBody")) is not None:
        kinds = [
            _type(c.get("schema", {}))
            + (f" ({_cell(c['schema']['description'])})" if c.get("schema", {}).get("description") else "")
            + f" as `{kind}`"
            for kind, c in request.get("content", {}).items()
        ]
        body = " or ".join(kinds) or "any"
        if request.get("required"):
            body += "; required" + (" (`{}` for the defaults)" if _all_defaults(request, schemas) else "")
    elif path in ("/api/alertmanager", "/api/grafana"):
        body = "the sender's JSON payload as it sends it (`application/json`), read whole"
    answers = [
        {
            "status": status,
            "description": _cell(answer.get("description", "")),
            "schema": " or ".join(
                _type(c["schema"]) for c in answer.get("content", {}).values() if c.get("schema")
            ),
        }
        for status, answer in sorted(operation.get("responses", {}).items())
    ]
    return {
        "method": method.upper(),
        "path": path,
        "open": not operation.get("security") and path not in _TOKEN_INSIDE,
        "description": operation.get("description") or operation.get("summary", ""),
        "parameters": parameters,
        "body": body,
        "answers": answers,
    }


def _model(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    fields = [
        {
            "name": field,
            "type": _cell(_type(spec)),
            "required": "yes" if field in required else "no",
            "default": _default(spec),
            "meaning": _cell(spec.get("description", "")),
        }
        for field, spec in schema.get("properties", {}).items()
    ]
    return {
        "name": name,
        "description": schema.get("description", ""),
        "fields": fields,
        "type": "" if fields else _type({k: v for k, v in schema.items() if k != "title"}),
    }


def _type(schema: Mapping[str, Any]) -> str:
    """A schema in a few words: `string (at most 200)`, `list of [Job](#job)`, `one of a, b`."""
    if ref := schema.get("$ref"):
        name = str(ref).rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if choices := schema.get("anyOf") or schema.get("oneOf"):
        kinds = [_type(c) for c in choices if c.get("type") != "null"]
        nullable = any(c.get("type") == "null" for c in choices)
        return " or ".join(kinds) + (" or null" if nullable else "")
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        text = f"list of {_type(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = f"map of {_type(schema['additionalProperties'])}"
    elif kind == "object" and schema.get("properties"):
        # a body declared inline (no model of its own): its fields in a line
        required = set(schema.get("required", []))
        fields = [
            f"`{name}`{'' if name in required else ' (optional)'}: {_type(spec)}"
            for name, spec in schema["properties"].items()
        ]
        text = "object {" + "; ".join(fields) + "}"
    else:
        text = str(kind) + (f" ({schema['format']})" if "format" in schema else "")
    bounds = [
        f"{word} {_number(schema[key])}{unit}"
        for key, word, unit in (
            ("minLength", "at least", " characters"),
            ("maxLength", "at most", " characters"),
            ("minItems", "at least", " items"),
            ("maxItems", "at most", " items"),
            ("minimum", ">=", ""),
            ("exclusiveMinimum", ">", ""),
            ("maximum", "<=", ""),
            ("exclusiveMaximum", "<", ""),
        )
        if key in schema
    ]
    if "pattern" in schema:
        bounds.append(f"matching `{schema['pattern']}`")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _all_defaults(request: Mapping[str, Any], schemas: Mapping[str, Any]) -> bool:
    """Whether a required body is a model none of whose fields is required (`{}` will do)."""
    for content in request.get("content", {}).values():
        ref = str(content.get("schema", {}).get("$ref", ""))
        if ref and not schemas.get(ref.rsplit("/", 1)[-1], {}).get("required"):
            return True
    return False


def _number(value: Any) -> str:
    """A bound as written: 10000, not 10000.0 (pydantic states int bounds of float fields so)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _default(schema: Mapping[str, Any]) -> str:
    if "default" not in schema:
        return ""
    return f"`{json.dumps(schema['default'])}`"


def _cell(text: str) -> str:
    """Text for one table cell: one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(render(openapi_document()))
