"""The real all-MiniLM-L6-v2 (packaged, offline). Loaded once per session; run with ``-m minilm``."""

from __future__ import annotations

import math
import threading

import pytest

from contextiq.ai.embedders.minilm import MiniLMEmbedder

pytestmark = pytest.mark.minilm


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder()
    embedder.warm_up()
    return embedder


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_identity_and_shape(minilm: MiniLMEmbedder) -> None:
    assert minilm.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert minilm.dimensions == 384
    vectors = minilm.embed(["I'm vegetarian", "The user's flight leaves Tuesday"])
    assert len(vectors) == 2
    assert all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert minilm.embed([]) == []


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(minilm: MiniLMEmbedder) -> None:
    fact = minilm.embed_query("I'm vegetarian")
    question = minilm.embed_query("what food does the user avoid?")
    unrelated = minilm.embed_query("The user's flight leaves Tuesday")
    assert cos(fact, question) > cos(fact, unrelated) + 0.05


def test_batch_and_single_agree(minilm: MiniLMEmbedder) -> None:
    texts = ["likes green tea", "works night shifts", "has two cats"]
    batch = minilm.embed(texts)
    for text, vec in zip(texts, batch, strict=True):
        assert cos(vec, minilm.embed_query(text)) == pytest.approx(1.0, abs=1e-4)


def test_concurrent_use_is_safe(minilm: MiniLMEmbedder) -> None:
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        results[i] = MiniLMEmbedder().embed_query(f"sentence number {i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert cos(results[i], minilm.embed_query(f"sentence number {i}")) == pytest.approx(1.0, abs=1e-4)
