"""Score conventions and hybrid fusion, shared by the embedded and the OpenSearch adapters.

Scores a caller sees (``SearchHit.score``) and what ``min_score`` is compared with:

* ``semantic``: OpenSearch's ``cosinesimil`` score, ``(1 + cos) / 2`` in [0, 1] (1 = same direction,
  0.5 = orthogonal). The embedded index computes exactly this; OpenSearch returns it natively.
* ``keyword``: the raw BM25 score (k1=1.2, b=0.75, Lucene's formula), unbounded, > 0 for any match.
* ``hybrid``: a semantic list and a keyword-coverage list (each ``hybrid_pool(top_k)`` long, same filters)
  fused client-side by :func:`fuse`. The keyword list is scored by *coverage*, BM25 with k1 = 0 and
  b = 0: the summed idf of the query terms a document contains, blind to term frequency and length
  (facts and turns are short, so BM25's length normalisation mostly adds noise: with it, "Fatima
  Moreau's hometown is Porto" outscored "Fatima Moreau works at Acme" for "Who is Fatima Moreau's
  employer?" by being one word shorter, and fusion ranked below plain semantic search). Documents that
  contain the same query terms get the same ``k``, so among them the semantic order is kept. The
  coverage is max-normalised within its list to ``k`` in [0, 1], then
  ``hybrid = 1 - (1 - s) * (1 - w * k)`` with ``s`` the semantic score and ``w`` the keyword weight.
  A document without any keyword match keeps exactly its semantic score, so a ``min_score`` tuned on
  semantic search means the same in hybrid mode; keyword evidence only pushes a score towards 1.
  A keyword hit missing from the semantic list (it fell outside the semantic top-N) gets the lowest
  semantic score of that list: an upper bound on its true semantic score when the k-NN is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contextiq.stores.vector.base import DEFAULT_KEYWORD_WEIGHT as DEFAULT_KEYWORD_WEIGHT
from contextiq.stores.vector.base import HybridFusion as HybridFusion
from contextiq.stores.vector.base import Normalize, SearchHit
from contextiq.stores.vector.text import keyword_query_text, tokenize

MIN_HYBRID_POOL = 50


@dataclass(frozen=True)
class Scored:
    memory_id: str
    score: float
    version: int


#: Memory search (and every kind that does not say otherwise).
DEFAULT_FUSION = HybridFusion()


def keyword_terms(text: str, drop_function_words: bool) -> list[str]:
    """The analysed terms the keyword side of a hybrid search asks for."""
    return tokenize(keyword_query_text(text) if drop_function_words else text)


def cosine_to_score(cos: float) -> float:
    """The semantic score of a cosine similarity: OpenSearch's ``cosinesimil`` score ``(1 + cos) / 2``,
    in [0, 1]. The one definition both adapters and every caller use."""
    return min(1.0, max(0.0, (1.0 + cos) / 2.0))


def score_to_cosine(score: float) -> float:
    """The inverse of :func:`cosine_to_score`: a semantic score back to a cosine in [-1, 1]."""
    return min(1.0, max(-1.0, 2.0 * score - 1.0))


def hybrid_pool(top_k: int) -> int:
    """How many candidates each sub-search returns before fusion."""
    return max(MIN_HYBRID_POOL, 4 * top_k)


def normalized_keyword(keyword: Sequence[Scored], normalize: Normalize = "max") -> dict[str, float]:
    """Each keyword hit's ``k`` in [0, 1] (see :class:`HybridFusion`)."""
    hi = max((h.score for h in keyword), default=0.0)
    if normalize == "max":
        return {h.memory_id: (h.score / hi if hi > 0.0 else 0.0) for h in keyword}
    lo = min((h.score for h in keyword), default=0.0)
    return {h.memory_id: ((h.score - lo) / (hi - lo) if hi > lo else 0.0) for h in keyword}


def fuse(
    semantic: Sequence[Scored],
    keyword: Sequence[Scored],
    fusion: HybridFusion | float = DEFAULT_FUSION,
) -> list[Scored]:
    """Fuse a semantic and a keyword result list (see the module docstring); best first. A bare number
    is a keyword weight with the default normalisation."""
    if not isinstance(fusion, HybridFusion):
        fusion = HybridFusion(keyword_weight=fusion)
    keyword_weight = fusion.keyword_weight
    if not 0.0 <= keyword_weight <= 1.0:
        raise ValueError("keyword_weight must be within [0, 1]")
    sem = {h.memory_id: h for h in semantic}
    kw = {h.memory_id: h for h in keyword}
    ks = normalized_keyword(keyword, fusion.normalize)
    sem_floor = min((h.score for h in semantic), default=0.0)
    fused: list[Scored] = []
    for memory_id in {**sem, **kw}:
        s_hit = sem.get(memory_id)
        k_hit = kw.get(memory_id)
        s = s_hit.score if s_hit is not None else sem_floor
        k = ks.get(memory_id, 0.0)
        score = 1.0 - (1.0 - s) * (1.0 - keyword_weight * k)
        version = max(h.version for h in (s_hit, k_hit) if h is not None)
        fused.append(Scored(memory_id, score, version))
    return rank(fused)


def rank(hits: Sequence[Scored]) -> list[Scored]:
    """Best first; ties broken by memory id so results are deterministic."""
    return sorted(hits, key=lambda h: (-h.score, h.memory_id))


def finalize(hits: Sequence[Scored], top_k: int, min_score: float | None) -> list[SearchHit]:
    """Apply ``min_score`` to the final scores, then cut to ``top_k``."""
    out = [SearchHit(h.memory_id, float(h.score), int(h.version)) for h in rank(hits)]
    if min_score is not None:
        out = [h for h in out if h.score >= min_score]
    return out[: max(0, top_k)]
