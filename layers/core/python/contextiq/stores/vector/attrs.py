"""Filterable document attributes as index terms, one encoding for both adapters.

An attribute value becomes the keyword ``<key>\\x1f<tag>:<value>``: ``s:`` strings, ``b:`` booleans and
``n:`` numbers, a number written as 16 hex digits of its IEEE-754 bits flipped so that the strings sort
in numeric order. Equality and any-of are term lookups; a numeric range is a *string* range between two
such terms of the same key, which OpenSearch evaluates on a ``keyword`` field and the embedded index on
its numeric arrays. Keys are client names (no control characters), so ``\\x1f`` cannot occur in one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping

from contextiq.models.conditions import Scalar
from contextiq.models.conditions import flatten as flatten
from contextiq.models.conditions import is_filterable as is_filterable

SEP = "\x1f"
_LOWEST = "0" * 16
_HIGHEST = "f" * 16


def sortable_number(value: float) -> str:
    """16 hex digits that sort (as strings) like the numbers (-0.0 and 0.0 equal)."""
    bits: int = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))[0]
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return f"{bits:016x}"


def term(key: str, value: Scalar) -> str:
    if isinstance(value, bool):
        return f"{key}{SEP}b:{'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"{key}{SEP}n:{sortable_number(value)}"
    return f"{key}{SEP}s:{value}"


def number_bounds(key: str, gte: float | None, lte: float | None) -> tuple[str, str]:
    """The inclusive string range of ``key``'s number terms between ``gte`` and ``lte``."""
    lo = sortable_number(gte) if gte is not None else _LOWEST
    hi = sortable_number(lte) if lte is not None else _HIGHEST
    return f"{key}{SEP}n:{lo}", f"{key}{SEP}n:{hi}"


def terms(attrs: Mapping[str, tuple[Scalar, ...]]) -> Iterator[str]:
    for key, values in attrs.items():
        for value in values:
            yield term(key, value)
