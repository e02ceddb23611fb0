"""The generated evaluation set, its matching helpers, and the heuristic extractor's recall on it."""

from __future__ import annotations

from contextiq.ai.extractors.facts import content_tokens, stem, value_tokens
from contextiq.ai.extractors.heuristic import HeuristicExtractor, is_user_turn
from contextiq.ai.extractors.prompts import managed_topics
from contextiq.evaluation import (
    demo_conversation,
    expected_facts,
    fact_matches,
    generate_eval_set,
    match_facts,
)

# Measured on the default set (seed 20240508): 109 of 113 expected facts found with fact_matches,
# 104 by exact normalised text. The misses are the deliberately harder phrasings ("Nothing beats Thai
# food for me", "I'm a chef" for "works as a chef"...), see HARD_PHRASING in the dataset.
MIN_RECALL = 0.95
MIN_EXACT_RECALL = 0.9


def test_deterministic_and_seeded() -> None:
    assert generate_eval_set() == generate_eval_set()
    assert generate_eval_set(seed=1) != generate_eval_set()
    assert len(generate_eval_set(size=5)) == 5


def test_shape_of_the_set() -> None:
    conversations = generate_eval_set()
    assert len(conversations) == 30
    assert len({c.user_id for c in conversations}) == 30
    assert sum(c.user_name is None for c in conversations) == 6  # some users never say their name
    for c in conversations:
        assert 3 <= len(c.turns) <= 10
        assert 1 <= len(c.questions) <= 3
        ids = [t.event_id for t in c.turns]
        assert all(ids) and ids == sorted(ids) and len(set(ids)) == len(ids)  # ULIDs in time order
        assert [t.timestamp for t in c.turns] == sorted(t.timestamp for t in c.turns)
        assert any(is_user_turn(t) for t in c.turns) and any(not is_user_turn(t) for t in c.turns)
        assert c.expected_facts and len(set(c.expected_facts)) == len(c.expected_facts)
        for q in c.questions:
            assert set(expected_facts(q)) <= set(c.expected_facts)
    assert {t.role for c in conversations for t in c.turns} == {"user", "model", None}


def test_questions_do_not_reuse_the_words_of_their_facts() -> None:
    for c in generate_eval_set():
        for q in c.questions:
            for fact in q.expected_facts:
                names = {stem(v) for v in value_tokens(fact) | value_tokens(q.question)} | {"user"}
                if c.user_name:
                    names.add(c.user_name.lower())
                assert not (content_tokens(q.question) & content_tokens(fact)) - names, (q.question, fact)


def test_fact_matching() -> None:
    assert fact_matches("Bob is allergic to peanuts", "bob is allergic to peanuts.")
    assert fact_matches("Bob is allergic to peanuts", "Bob is severely allergic to peanuts")
    assert not fact_matches("Bob is allergic to peanuts", "Bob is allergic to shellfish")
    assert not fact_matches("Bob's budget is $2000", "Bob's budget is $3000")  # every value must be there
    assert not fact_matches("Bob lives in Lyon", "Alice lives in Lyon")
    result = match_facts(["Bob lives in Lyon", "Bob is 34"], ["Bob lives in Lyon.", "Bob likes tea"])
    assert result.found == (("Bob lives in Lyon", "Bob lives in Lyon."),)
    assert result.missing == ("Bob is 34",)
    assert result.extra == ("Bob likes tea",)
    assert result.recall == result.precision == 0.5


def test_heuristic_extraction_recall_on_the_eval_set() -> None:
    extractor = HeuristicExtractor()
    found = exact = total = extra = 0
    for c in generate_eval_set():
        facts = [f.fact for f in extractor.extract(c.turns, managed_topics()).facts]
        lenient, strict = match_facts(c.expected_facts, facts), match_facts(c.expected_facts, facts, exact=True)
        total += len(c.expected_facts)
        found += len(lenient.found)
        exact += len(strict.found)
        extra += len(lenient.extra)
    assert total == 113
    assert found / total >= MIN_RECALL, (found, total)
    assert exact / total >= MIN_EXACT_RECALL, (exact, total)
    assert extra <= 5  # few facts nobody expected


def test_demo_conversation() -> None:
    demo = demo_conversation()
    assert demo == demo_conversation()
    assert len(demo.turns) == 24
    assert expected_facts(demo) == demo.expected_memories
    assert set(demo.expected_memories) < set(demo.expected_candidates)
    assert not any("vegetarian" in m or "Paris" in m or "boutique" in m for m in demo.expected_memories)
