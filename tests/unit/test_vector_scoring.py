"""Text analysis, the incremental BM25 and hybrid fusion."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from contextiq.stores.vector.bm25 import Bm25Index, GrowableArray
from contextiq.stores.vector.fusion import Scored, cosine_to_score, finalize, fuse, hybrid_pool
from contextiq.stores.vector.text import tokenize


def test_tokenize_lowercases_and_drops_english_stop_words() -> None:
    assert tokenize("The user's dog is NOT allowed in the Kitchen!") == [
        "dog",
        "allowed",
        "kitchen",
    ]
    assert tokenize("") == []
    assert tokenize("Café São-Paulo 2024") == ["café", "são", "paulo", "2024"]


def test_growable_array() -> None:
    arr = GrowableArray(np.int32, 1)
    for i in range(100):
        arr.append(i)
    arr.extend([100, 101])
    assert arr.view().tolist() == list(range(102))
    assert len(arr) == 102


def brute_force_bm25(
    docs: dict[int, list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> dict[int, float]:
    n = len(docs)
    avgdl = sum(len(t) for t in docs.values()) / n
    df = Counter(t for toks in docs.values() for t in set(toks))
    out = {}
    for row, toks in docs.items():
        tf = Counter(toks)
        score = 0.0
        for term in query:
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(toks) / avgdl))
        if score > 0:
            out[row] = score
    return out


def test_bm25_matches_a_brute_force_reference_through_adds_and_removes() -> None:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(40)]
    index = Bm25Index()
    live: dict[int, list[str]] = {}
    next_row = 0
    for _round in range(20):
        batch = [[rng.choice(vocab) for _ in range(rng.randint(1, 12))] for _ in range(rng.randint(1, 15))]
        index.add(next_row, batch)
        for toks in batch:
            live[next_row] = toks
            next_row += 1
        for row in rng.sample(sorted(live), k=min(len(live) // 4, 5)):
            index.remove(live.pop(row))
        query = rng.sample(vocab, 3)
        expected = brute_force_bm25(live, query)
        scores = index.scores(query)
        assert scores is not None
        got = {row: float(scores[row]) for row in live if scores[row] > 0}
        assert got.keys() == expected.keys()
        for row, value in expected.items():
            assert got[row] == pytest.approx(value, rel=1e-5)
    assert index.n_alive == len(live)


def test_bm25_no_match_and_append_order() -> None:
    index = Bm25Index()
    assert index.scores(["x"]) is None
    index.add(0, [["a", "b"], ["c"]])
    assert index.scores(["zzz"]) is None
    with pytest.raises(ValueError):
        index.add(5, [["d"]])


# -- fusion ---------------------------------------------------------------------------------------------------


def test_cosine_to_score_is_opensearch_cosinesimil() -> None:
    assert cosine_to_score(1.0) == 1.0
    assert cosine_to_score(0.0) == 0.5
    assert cosine_to_score(-1.0) == 0.0
    assert cosine_to_score(1.0000001) == 1.0


def test_fuse_keeps_semantic_scores_without_keyword_evidence() -> None:
    semantic = [Scored("a", 0.9, 1), Scored("b", 0.85, 1), Scored("c", 0.6, 2)]
    keyword = [Scored("b", 4.0, 1), Scored("d", 2.0, 5)]
    fused = {h.memory_id: h for h in fuse(semantic, keyword, 0.5)}
    assert fused["a"].score == pytest.approx(0.9)  # no keyword match: unchanged
    assert fused["b"].score == pytest.approx(1 - 0.15 * (1 - 0.5 * 1.0))  # best keyword hit: k = 1
    assert fused["c"].score == pytest.approx(0.6)
    # keyword-only hit: semantic estimated by the lowest semantic score in the list (0.6), k = 0.5
    assert fused["d"].score == pytest.approx(1 - 0.4 * (1 - 0.5 * 0.5))
    assert fused["d"].version == 5
    ranked = [h.memory_id for h in fuse(semantic, keyword, 0.5)]
    assert ranked == ["b", "a", "d", "c"]


def test_fuse_edge_cases() -> None:
    assert fuse([], []) == []
    only_kw = fuse([], [Scored("x", 3.0, 1), Scored("y", 1.5, 1)], 0.5)
    assert [(h.memory_id, round(h.score, 6)) for h in only_kw] == [("x", 0.5), ("y", 0.25)]
    only_sem = fuse([Scored("x", 0.7, 1)], [])
    assert only_sem[0].score == pytest.approx(0.7)
    assert fuse([Scored("x", 0.7, 1)], [Scored("x", 1.0, 1)], 0.0)[0].score == pytest.approx(0.7)
    with pytest.raises(ValueError):
        fuse([], [], 1.5)


def test_fused_scores_stay_in_unit_interval_and_are_monotone() -> None:
    rng = random.Random(3)
    for _ in range(200):
        sem = [Scored(f"m{i}", rng.random(), 1) for i in range(10)]
        kw = [Scored(f"m{i}", rng.random() * 10, 1) for i in rng.sample(range(15), 6)]
        fused = fuse(sem, kw)
        assert all(0.0 <= h.score <= 1.0 for h in fused)
        sem_by_id = {h.memory_id: h.score for h in sem}
        for h in fused:
            if h.memory_id in sem_by_id:
                assert h.score >= sem_by_id[h.memory_id] - 1e-12


def test_finalize_applies_min_score_then_top_k_with_stable_ties() -> None:
    hits = [Scored("b", 0.5, 1), Scored("a", 0.5, 1), Scored("c", 0.9, 3), Scored("d", 0.1, 1)]
    out = finalize(hits, top_k=2, min_score=None)
    assert [h.memory_id for h in out] == ["c", "a"]
    assert [h.memory_id for h in finalize(hits, top_k=10, min_score=0.5)] == ["c", "a", "b"]
    assert finalize(hits, top_k=0, min_score=None) == []
    assert out[0].version == 3


def test_hybrid_pool() -> None:
    assert hybrid_pool(1) == 50
    assert hybrid_pool(10) == 50
    assert hybrid_pool(30) == 120


@pytest.mark.parametrize("cos", [-1.0, -0.3, 0.0, 0.42, 1.0])
def test_score_to_cosine_inverts_cosine_to_score(cos: float) -> None:
    from contextiq.stores.vector.fusion import cosine_to_score, score_to_cosine

    assert score_to_cosine(cosine_to_score(cos)) == pytest.approx(cos)
    assert score_to_cosine(1.5) == 1.0 and score_to_cosine(-0.5) == -1.0
