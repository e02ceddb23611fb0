"""Hybrid fusion settings (``HybridFusion``): how coverage becomes ``k`` and the query's function words.

Event search fuses with its own settings (services/episodes.py, chosen on development splits of the
multi-session set: docs/search.md); these are the pieces, each against a hand-computed expectation."""

from __future__ import annotations

import random

import pytest

from contextiq.stores.vector.fusion import HybridFusion, Scored, fuse, keyword_terms, normalized_keyword
from contextiq.stores.vector.text import ENGLISH_STOPWORDS, QUERY_FUNCTION_WORDS, keyword_query_text, tokenize


def test_keyword_query_text_drops_question_words_auxiliaries_and_pronouns() -> None:
    assert keyword_query_text("What is Liam's favorite cuisine?") == "Liam's favorite cuisine"
    assert keyword_query_text("When did Liam go camping at Banff?") == "Liam go camping Banff"
    assert keyword_query_text("How old is Liam?") == "old Liam"
    assert keyword_query_text("Would she enjoy a week-long cruise?") == "enjoy week long cruise"
    assert keyword_query_text("What is it?") == ""
    assert keyword_query_text("") == ""


def test_keyword_terms_are_the_analyzers_terms_of_what_is_left() -> None:
    question = "Where did Fatima Moreau's sister move to before the trips?"
    assert keyword_terms(question, False) == tokenize(question)
    assert keyword_terms(question, True) == ["fatima", "moreau", "sister", "move", "trip"]
    # the same words found again when the kept text is analysed (OpenSearch analyses what it is sent)
    assert tokenize(keyword_query_text(question)) == keyword_terms(question, True)


def test_function_words_hold_the_question_words_and_the_index_stop_words_but_negations() -> None:
    assert {"what", "when", "how", "did", "who", "which", "where", "does"} <= QUERY_FUNCTION_WORDS
    assert ENGLISH_STOPWORDS - {"no", "not"} <= QUERY_FUNCTION_WORDS
    assert not {"no", "not", "old", "first", "last"} & QUERY_FUNCTION_WORDS


def test_normalized_keyword_max_and_minmax() -> None:
    kw = [Scored("a", 4.0, 1), Scored("b", 3.0, 1), Scored("c", 1.0, 1)]
    assert normalized_keyword(kw, "max") == pytest.approx({"a": 1.0, "b": 0.75, "c": 0.25})
    assert normalized_keyword(kw, "minmax") == pytest.approx({"a": 1.0, "b": 2 / 3, "c": 0.0})
    # every hit matching the same terms: nothing to tell them apart, so min-max gives no bonus at all
    same = [Scored("a", 2.0, 1), Scored("b", 2.0, 1)]
    assert normalized_keyword(same, "minmax") == {"a": 0.0, "b": 0.0}
    assert normalized_keyword(same, "max") == {"a": 1.0, "b": 1.0}
    assert normalized_keyword([], "minmax") == {}


def test_minmax_fusion_leaves_the_weakest_keyword_match_at_its_semantic_score() -> None:
    semantic = [Scored("x", 0.8, 1), Scored("name-only", 0.7, 1), Scored("answer", 0.6, 1)]
    # "name-only" matches only the user's name (the weakest coverage); "answer" matches a rarer word too
    keyword = [Scored("answer", 5.0, 1), Scored("name-only", 2.0, 1)]
    by_max = {h.memory_id: h.score for h in fuse(semantic, keyword, HybridFusion(0.2, "max"))}
    by_minmax = {h.memory_id: h.score for h in fuse(semantic, keyword, HybridFusion(0.2, "minmax"))}
    assert by_max["name-only"] == pytest.approx(1 - 0.3 * (1 - 0.2 * 0.4))
    assert by_minmax["name-only"] == pytest.approx(0.7)
    assert by_minmax["answer"] == by_max["answer"] == pytest.approx(1 - 0.4 * 0.8)
    assert by_minmax["x"] == by_max["x"] == pytest.approx(0.8)


@pytest.mark.parametrize("normalize", ["max", "minmax"])
def test_fusion_never_lowers_a_semantic_score_and_stays_in_unit_interval(normalize: str) -> None:
    rng = random.Random(7)
    for _ in range(200):
        sem = [Scored(f"m{i}", rng.random(), 1) for i in range(10)]
        kw = [Scored(f"m{i}", rng.random() * 10, 1) for i in rng.sample(range(15), 6)]
        fused = fuse(sem, kw, HybridFusion(rng.random(), normalize))  # type: ignore[arg-type]
        sem_by_id = {h.memory_id: h.score for h in sem}
        assert all(0.0 <= h.score <= 1.0 for h in fused)
        assert all(h.score >= sem_by_id[h.memory_id] - 1e-12 for h in fused if h.memory_id in sem_by_id)
        assert {h.memory_id for h in fused} == set(sem_by_id) | {h.memory_id for h in kw}


def test_a_bare_weight_is_the_default_normalisation() -> None:
    sem, kw = [Scored("a", 0.5, 1)], [Scored("a", 2.0, 1), Scored("b", 1.0, 1)]
    assert fuse(sem, kw, 0.3) == fuse(sem, kw, HybridFusion(0.3, "max"))
    assert HybridFusion(0.2, "minmax", True).label() == "w=0.2 minmax -function words"
