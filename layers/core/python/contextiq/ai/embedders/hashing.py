"""A deterministic feature-hashing embedder for tests and demos where meaning does not matter.

Each text becomes a bag of word unigrams and bigrams; every feature is hashed with BLAKE2b into one of
``dimensions`` buckets with a +/-1 sign (the "hashing trick"), and the vector is L2-normalised. Texts
sharing words get a positive cosine, paraphrases without shared words do not: that is the point, it is
fast, dependency-free (pure Python, no numpy) and identical on every machine and process.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
_BIGRAM_WEIGHT = 0.5


def _features(text: str) -> list[tuple[str, float]]:
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        # A unit vector must come out even for empty text: zero vectors break cosine similarity
        # (OpenSearch rejects them for cosinesimil).
        return [("\x00empty", 1.0)]
    feats: list[tuple[str, float]] = [(w, 1.0) for w in words]
    feats.extend((f"{a}\x1f{b}", _BIGRAM_WEIGHT) for a, b in itertools.pairwise(words))
    return feats


class HashingEmbedder:
    """Feature hashing of word unigrams + bigrams (BLAKE2b), L2-normalised. ``model_id`` "hashing-v1"."""

    def __init__(self, dimensions: int = 256) -> None:
        if dimensions < 2:
            raise ValueError("dimensions must be at least 2")
        self._dimensions = dimensions

    @property
    def model_id(self) -> str:
        return "hashing-v1"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def _embed_one(self, text: str) -> list[float]:
        vec = [0.0] * self._dimensions
        for feature, weight in _features(text):
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            sign = 1.0 if (h >> 63) & 1 else -1.0
            vec[h % self._dimensions] += sign * weight
        norm = math.sqrt(sum(v * v for v in vec))
        if norm == 0.0:  # every feature cancelled out: fall back to a fixed unit vector
            vec[0] = 1.0
            return vec
        return [v / norm for v in vec]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._embed_one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed_one(text)
