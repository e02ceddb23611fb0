"""The multi-session recall evaluation set (turn-level evidence) and the runner's scoring."""

from __future__ import annotations

import itertools
import re

from contextiq.ai.extractors.dates import resolve_dates
from contextiq.ai.extractors.facts import content_tokens, value_tokens
from contextiq.evaluation.multisession import Phrasing, QuestionKind, RecallQuestion, generate_multisession
from contextiq.evaluation.recall_eval import Bm25Baseline, RecallReport, _grade, table

SMALL = {"users": 3, "sessions": 4, "turns_per_session": 16}


def test_deterministic_and_seeded() -> None:
    assert generate_multisession(**SMALL) == generate_multisession(**SMALL)  # type: ignore[arg-type]
    assert generate_multisession(seed=1, **SMALL) != generate_multisession(**SMALL)  # type: ignore[arg-type]


def test_shape_sessions_across_weeks_and_turn_level_evidence() -> None:
    conversations = generate_multisession()
    assert len(conversations) == 6 and len({c.user_id for c in conversations}) == 6
    assert sum(c.user_name is None for c in conversations) == 1  # one user never gives a name
    kinds = {q.kind for c in conversations for q in c.questions}
    assert kinds == set(QuestionKind)
    for c in conversations:
        assert len(c.sessions) == 10
        starts = [s.turns[0].timestamp for s in c.sessions]
        assert all((b.date() - a.date()).days >= 3 for a, b in itertools.pairwise(starts))  # weeks, not minutes
        assert (starts[-1] - starts[0]).days >= 28
        turns = {t.turn_id: t for t in c.turns}
        stamps = [t.timestamp for t in c.turns]
        assert stamps == sorted(stamps) and len(turns) == len(c.turns) >= 250
        evidence = {e for q in c.questions for e in q.evidence}
        # most turns are not evidence: a search must find the few that are
        assert len(evidence) / len(c.turns) < 0.15
        for q in c.questions:
            assert q.evidence and all(turns[e].role == "user" for e in q.evidence)
            if q.kind is QuestionKind.MULTI_HOP:
                sessions = [e.rsplit("/", 1)[0] for e in q.evidence]
                assert len(set(sessions)) == 2 and sessions == sorted(sessions, key=lambda s: int(s.split("/s")[1]))
            if q.kind is QuestionKind.TEMPORAL and q.question.startswith("When did"):
                # the answer is the relative date of the evidence turn, resolved as the extractor resolves it
                turn = turns[q.evidence[0]]
                assert q.answer in resolve_dates(turn.text, turn.timestamp), (q, turn.text)
        for fact in c.expected_facts:
            assert turns[fact.evidence].role == "user"


def _shared_words(question: str, said: str, user_name: str | None) -> set[str]:
    """Content words in common, the user's name aside (places, objects, other people's names count)."""
    return (content_tokens(question) & content_tokens(said)) - {(user_name or "user").lower(), "user"}


def test_questions_mix_direct_and_paraphrased_phrasings_in_every_kind() -> None:
    conversations = generate_multisession()
    asked = [q for c in conversations for q in c.questions]
    assert 0.5 <= sum(q.phrasing is Phrasing.DIRECT for q in asked) / len(asked) <= 0.85  # a realistic mix
    assert {(q.kind, q.phrasing) for q in asked} == {(k, p) for k in QuestionKind for p in Phrasing}
    for c in conversations:
        turns = {t.turn_id: t.text for t in c.turns}
        for q in c.questions:
            shared = set().union(*(_shared_words(q.question, turns[e], c.user_name) for e in q.evidence))
            if q.phrasing is Phrasing.DIRECT:
                assert shared, (q.question, [turns[e] for e in q.evidence])  # a keyword search has a chance
            elif q.kind is QuestionKind.OPEN_DOMAIN:
                assert not shared - {v.lower() for v in value_tokens(q.question)}, q.question  # inference only


def test_bm25_baseline_ranks_by_shared_words() -> None:
    bm25 = Bm25Baseline(["my sister lives in Porto", "what is compound interest", "I like tea"], ["a", "b", "c"])
    assert bm25.search("where does the sister live", 10) == [{"a"}]  # no shared word, no result
    assert bm25.search("nothing matches this", 10) == []


def test_grading_any_and_all_per_kind() -> None:
    report = RecallReport(k=10)
    q = RecallQuestion("q1", QuestionKind.MULTI_HOP, "?", "x", ("t1", "t2"))
    _grade(report, "memories", q, [{"e1"}, {"e9"}], {"e1", "e2"})  # one of two evidence turns
    _grade(report, "memories", q, [{"e1", "e2"}], {"e1", "e2"})  # a memory sourced from both
    _grade(report, "memories", q, [{"e7"}], {"e1", "e2"})  # neither
    score = report.score("memories", QuestionKind.MULTI_HOP)
    assert (score.questions, score.any_hits, score.all_hits) == (3, 2, 1)
    report.unavailable["events"] = "404"
    rendered = table(report)
    assert re.search(r"\| memories \| 0\.67 / 0\.33 \|", rendered), rendered
    assert "| events | n/a" in rendered
