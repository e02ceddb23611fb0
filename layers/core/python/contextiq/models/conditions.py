"""Attribute conditions shared by the filter grammar (``models.filters``) and the vector indexes: what a
filterable value is, how a JSON object flattens into attributes, and one condition on an attribute.
They live below both so the arrows point down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Condition:
    """A filter on one document attribute: any of ``values`` (exact match; a list attribute matches when
    any element does), or a numeric range ``gte <= value <= lte`` (either bound optional)."""

    key: str
    values: tuple[Scalar, ...] = ()
    gte: float | None = None
    lte: float | None = None

    @property
    def is_range(self) -> bool:
        return self.gte is not None or self.lte is not None


def is_filterable(value: Any) -> bool:
    if isinstance(value, bool | str):
        return True
    return isinstance(value, int | float) and math.isfinite(value)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[Scalar, ...]]:
    """Filterable attributes of a JSON object: scalars, and lists of scalars (each element matches).
    Nested objects and null are not filterable and are left out."""
    out: dict[str, tuple[Scalar, ...]] = {}
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        kept = tuple(v for v in items if is_filterable(v))
        if kept:
            out[prefix + key] = kept
    return out
