"""The heuristic extractor: rules over the user's clauses, custom-topic keywords, settlement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contextiq.ai.extractors.base import (
    ALL_MANAGED_TOPICS,
    MANAGED_TOPICS,
    CandidateFact,
    Extraction,
    FewShotExample,
    Topic,
    Turn,
)
from contextiq.ai.extractors.dates import resolve_dates
from contextiq.ai.extractors.facts import Relation, content_tokens, relate
from contextiq.ai.extractors.heuristic.builders import VAGUE_ENDINGS, Context
from contextiq.ai.extractors.heuristic.custom_topics import CustomTopic, custom_topics
from contextiq.ai.extractors.heuristic.rules import classify, finish
from contextiq.ai.extractors.heuristic.sentences import split_clauses, split_sentences
from contextiq.ai.extractors.speaker import DEFAULT_SUBJECT, expand_first_person, third_person
from contextiq.ai.extractors.turns import is_user_turn


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NAME_STOPWORDS = _words(
    "Canadian American British English French German Italian Spanish Vegan Vegetarian Back Fine Good "
    "Here New Not Sorry Ready Happy Glad Excited Done Home Going Looking Just"
)


@dataclass
class _Candidate:
    fact: str
    topic: str
    event_ids: list[str]


class HeuristicExtractor:
    """Rule-based extraction of facts from the user's turns (see docs/extraction.md for every rule)."""

    def __init__(self, *, subject_fallback: str = DEFAULT_SUBJECT) -> None:
        self.subject_fallback = subject_fallback

    def user_name(self, turns: Sequence[Turn]) -> str | None:
        """The name the user gave in the conversation ("my name is Alice"), if any."""
        ctx = Context(self.subject_fallback)
        for turn in turns:
            if not is_user_turn(turn):
                continue
            for sentence in split_sentences(turn.text):
                for clause in split_clauses(sentence):
                    m = classify(clause, ctx)
                    if m and m.rule == "name":
                        name = m.fact.removeprefix("The user's name is ").strip()
                        if name.split()[0] not in _NAME_STOPWORDS:
                            return name
        return None

    def extract(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
        *,
        known_name: str | None = None,
    ) -> Extraction:
        requested = [t.label for t in topics] or list(ALL_MANAGED_TOPICS)
        managed = {label for label in requested if label in MANAGED_TOPICS}
        custom = custom_topics(topics, examples)
        ctx = Context(self.user_name(turns) or known_name or self.subject_fallback)

        candidates: list[_Candidate] = []
        for turn in turns:
            if not is_user_turn(turn) or not turn.text.strip():
                continue
            for sentence in split_sentences(turn.text):
                for clause in split_clauses(sentence):
                    candidate = self._clause_fact(clause, turn, ctx, managed, custom)
                    if candidate is not None:
                        candidates.append(candidate)
        settled = settle(candidates)
        return Extraction(facts=[CandidateFact(c.fact, c.topic, tuple(c.event_ids)) for c in settled])

    def _clause_fact(
        self, clause: str, turn: Turn, ctx: Context, managed: set[str], custom: list[CustomTopic]
    ) -> _Candidate | None:
        resolved = resolve_dates(clause, turn.timestamp)
        if resolved != clause and resolved[:1].islower() and clause[:1].isupper():
            resolved = resolved[:1].upper() + resolved[1:]
        match = classify(resolved, ctx)
        ids = [turn.event_id] if turn.event_id else []
        if custom:
            clause_words = content_tokens(resolved)
            scored = [(len(clause_words & c.keywords), c.label) for c in custom]
            best = max(scored)
            if best[0] > 0 and len(resolved.split()) >= 3:
                label = next(label for score, label in scored if score == best[0])
                fact = match.fact if match else finish(third_person(expand_first_person(resolved), ctx.subject))
                return _Candidate(fact, label, ids)
        if match is None:
            return None
        topic = next((t for t in match.topics if t in managed), None)
        if topic is None or len(match.fact.split()) < 3 or match.fact.split()[-1].lower() in VAGUE_ENDINGS:
            return None
        return _Candidate(match.fact, topic, ids)


def settle(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Within one extraction: merge duplicates (keeping every source event id) and let a later statement
    replace an earlier one it updates or retracts ("I live in Paris" ... "I moved to Berlin")."""
    kept: list[_Candidate] = []
    for candidate in candidates:
        merged = False
        for earlier in list(kept):
            relation, _ = relate(candidate.fact, earlier.fact)
            if relation is Relation.DUPLICATE:
                earlier.event_ids.extend(i for i in candidate.event_ids if i not in earlier.event_ids)
                merged = True
                break
            if relation in (Relation.CHANGED, Relation.RETRACTS):
                kept.remove(earlier)
        if not merged:
            kept.append(_Candidate(candidate.fact, candidate.topic, list(candidate.event_ids)))
    return kept
