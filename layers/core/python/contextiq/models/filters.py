"""The metadata filter grammar of memory search and recall.

``filter`` is an object of conditions, all of which must hold (AND)::

    {"metadata.<key>": <value>}                       equal (a list attribute matches if any element does)
    {"metadata.<key>": {"in": [<value>, ...]}}        any of the values
    {"metadata.<key>": {"gte": <number>, "lte": <number>}}   numeric range, either bound optional

Values are strings, numbers or booleans (``3`` equals ``3.0``; ``true`` is not ``1``; ``"3"`` is not
``3``). Metadata that is null or a nested object is not filterable. Limits: ``MAX_FILTER_CONDITIONS``
conditions, ``MAX_FILTER_VALUES`` values per ``in``. Anchored on AgentCore's metadata filters, mem0's
operators (eq, in, gte, lte) and Vertex AI's filter strings; documented in docs/search.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from contextiq import limits
from contextiq.models.conditions import Condition, Scalar, flatten

PREFIX = "metadata."


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    raise ValueError(f"{where}: values are strings, finite numbers or booleans")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: gte/lte take a finite number")
    return float(value)


def parse_condition(key: str, spec: Any) -> Condition:
    if not key.startswith(PREFIX) or len(key) == len(PREFIX) or len(key) > len(PREFIX) + limits.MAX_ID_LENGTH:
        raise ValueError(f"{key!r}: filter keys are 'metadata.<key>' (key up to {limits.MAX_ID_LENGTH} characters)")
    if any(ord(c) < 32 or c == "#" for c in key):
        raise ValueError(f"{key!r}: control characters and '#' are not allowed in keys")
    if not isinstance(spec, dict):
        return Condition(key, values=(_scalar(spec, key),))
    ops = set(spec)
    if ops == {"in"}:
        values = spec["in"]
        if not isinstance(values, list) or not 1 <= len(values) <= limits.MAX_FILTER_VALUES:
            raise ValueError(f"{key}: 'in' takes a list of 1 to {limits.MAX_FILTER_VALUES} values")
        return Condition(key, values=tuple(_scalar(v, key) for v in values))
    if ops and ops <= {"gte", "lte"}:
        gte = _number(spec["gte"], key) if "gte" in spec else None
        lte = _number(spec["lte"], key) if "lte" in spec else None
        if gte is not None and lte is not None and gte > lte:
            raise ValueError(f"{key}: gte is greater than lte")
        return Condition(key, gte=gte, lte=lte)
    raise ValueError(f"{key}: an operator object is {{'in': [...]}} or {{'gte': n, 'lte': n}}, got {sorted(ops)}")


def parse_filter(value: dict[str, Any]) -> dict[str, Any]:
    """Validate (the parsed conditions come from ``conditions``); keeps the client's JSON as is."""
    if len(value) > limits.MAX_FILTER_CONDITIONS:
        raise ValueError(f"at most {limits.MAX_FILTER_CONDITIONS} conditions, got {len(value)}")
    for key, spec in value.items():
        parse_condition(key, spec)
    return value


_SCALAR: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
# What parse_filter enforces, for the OpenAPI document (except gte <= lte, which JSON Schema cannot say).
FILTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": limits.MAX_FILTER_CONDITIONS,
    "propertyNames": {"pattern": r"^metadata\.[^#\x00-\x1f]{1," + str(limits.MAX_ID_LENGTH) + "}$"},
    "additionalProperties": {
        "anyOf": [
            _SCALAR,
            {
                "type": "object",
                "properties": {
                    "in": {"type": "array", "minItems": 1, "maxItems": limits.MAX_FILTER_VALUES, "items": _SCALAR}
                },
                "required": ["in"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"gte": {"type": "number"}, "lte": {"type": "number"}},
                "description": "a numeric range, either bound optional; gte not above lte",
                "minProperties": 1,
                "additionalProperties": False,
            },
        ]
    },
}
MetadataFilter = Annotated[dict[str, Any], AfterValidator(parse_filter), WithJsonSchema(FILTER_SCHEMA)]


def conditions(value: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    return tuple(parse_condition(k, v) for k, v in (value or {}).items())


def metadata_attrs(metadata: Mapping[str, Any]) -> dict[str, tuple[Scalar, ...]]:
    """A memory's filterable attributes (what the index stores)."""
    return flatten(metadata, PREFIX)


def matches(metadata: Mapping[str, Any], conds: tuple[Condition, ...]) -> bool:
    """Evaluate ``conds`` on a record, exactly as the index does (for re-checks on the re-read record)."""
    attrs = metadata_attrs(metadata)
    for cond in conds:
        have = attrs.get(cond.key, ())
        if cond.is_range:
            nums = [float(v) for v in have if isinstance(v, int | float) and not isinstance(v, bool)]
            if not any((cond.gte is None or v >= cond.gte) and (cond.lte is None or v <= cond.lte) for v in nums):
                return False
        elif not any(_same(v, w) for v in have for w in cond.values):
            return False
    return True


def _same(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return float(a) == float(b)
