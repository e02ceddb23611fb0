"""The whole API's OpenAPI document, whichever function serves it (each Lambda mounts one router).

FastAPI's output is finished here so the document says exactly what the server enforces: errors are
``application/problem+json`` only; optional parameters are not "string or null" (a query string or a
header cannot carry a JSON null); a dictionary with constrained keys uses ``propertyNames`` (pydantic
emits ``patternProperties``, which constrains only the values of matching keys); a model's rule over
its fields ("text or parts", "exactly one source") is an ``anyOf``/``oneOf`` inside ``allOf`` (the same
JSON Schema, but a generator such as openapi-python-client reads an object's own top-level ``anyOf`` as a
union of the branches, which here are constraints, not types, and drops the model and its operation).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from contextiq.api.conventions import RESPONSE_HEADERS
from contextiq.api.examples import add_examples
from contextiq.api.problems import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_EXAMPLE = {
    "type": "https://contextiq.dev/problems/invalid-input",
    "title": "Invalid input",
    "status": 422,
    "detail": "invalid fields: content",
    "instance": "/v1/sessions/01JD8X9Q3T9V6G8J2K4M5N7P8R/events",
    "errors": [{"field": "content", "message": "content needs `text` or at least one of `parts`"}],
}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not options or {"type": "null"} not in options:
        return schema
    rest = [o for o in options if o != {"type": "null"}]
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(rest) == 1:
        out.update(rest[0])
    else:
        out["anyOf"] = rest
    return out


def _property_names(node: Any) -> None:
    """patternProperties {P: V} + propertyNames N -> propertyNames (N with pattern P) + additionalProperties V."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "propertyNames" in node:
            ((pattern, value_schema),) = patterns.items()
            node["propertyNames"] = {**node["propertyNames"], "pattern": pattern}
            node["additionalProperties"] = value_schema
            del node["patternProperties"]
        for child in node.values():
            _property_names(child)
    elif isinstance(node, list):
        for child in node:
            _property_names(child)


def _rules_in_all_of(schemas: dict[str, Any]) -> None:
    """{type: object, properties, anyOf: [...]} -> {type: object, properties, allOf: [{anyOf: [...]}]}."""
    for schema in schemas.values():
        if schema.get("type") != "object" or "properties" not in schema:
            continue
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                schema.setdefault("allOf", []).append({keyword: schema.pop(keyword)})


_GENERIC_NAME = re.compile(r"^Page_(\w+)_$")


def _rename_pages(schema: dict[str, Any]) -> dict[str, Any]:
    """Page[Session] is ``Page_Session_`` to pydantic; ``SessionPage`` reads better in an SDK."""
    names = {
        n: f"{m.group(1)}Page" for n in schema.get("components", {}).get("schemas", {}) if (m := _GENERIC_NAME.match(n))
    }
    if not names:
        return schema
    text = json.dumps(schema)
    for old, new in names.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed["components"]["schemas"]
    for old, new in names.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    return renamed


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    """Apply the conventions above to a FastAPI-generated document (returns the finished document)."""
    schema = _rename_pages(schema)
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            for parameter in op.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])
            for status, response in op.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}, "example": PROBLEM_EXAMPLE}}
    _property_names(schema.get("components", {}).get("schemas", {}))
    _rules_in_all_of(schema.get("components", {}).get("schemas", {}))
    add_examples(schema.get("components", {}).get("schemas", {}))
    schema["components"]["headers"] = RESPONSE_HEADERS
    schema["components"].setdefault("securitySchemes", {})["ApiKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "Identifies the tenant: every id and listing is the key's tenant's only.",
    }
    schema["security"] = [{"ApiKey": []}]
    return schema


@lru_cache(maxsize=1)
def full_openapi() -> dict[str, Any]:
    from fastapi import FastAPI
    from fastapi.openapi.utils import get_openapi

    from contextiq import __version__
    from contextiq.api.routers import all_routers

    app = FastAPI()
    for router in all_routers():
        app.include_router(router)
    schema = get_openapi(
        title="ContextIQ",
        version=__version__,
        description="Memory for AI agents: sessions, long-term memories, memory generation. "
        "Every request needs an `x-api-key` header; errors are RFC 9457 application/problem+json naming "
        "each field and the reason. Limits: docs/limits.md.",
        routes=app.routes,
    )
    return finish(schema)
