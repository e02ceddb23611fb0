"""The embedder interface: text in, unit-length vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """Turns texts into vectors. Implementations return L2-normalised vectors of ``dimensions`` floats."""

    @property
    def model_id(self) -> str:
        """Identifies the model; recorded with the index so vectors of two models are never mixed."""
        ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed documents (batch). Order of the output matches the input."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        ...
