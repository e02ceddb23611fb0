"""The heuristic decider: NOOP duplicates, UPDATE changed values, DELETE retracted, ADD the rest."""

from __future__ import annotations

from collections.abc import Sequence

from contextiq.ai.extractors.base import Action, CandidateFact, Decision, ExistingMemory
from contextiq.ai.extractors.facts import Relation, RetractionKind, parse_retraction, relate


class HeuristicDecider:
    """Similarity rules (docs/extraction.md, "Decisions"): NOOP duplicates, UPDATE changed values,
    DELETE what a retraction names, ADD the rest. Deterministic: memories are visited by score, then id."""

    def decide(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> Decision:
        ordered = sorted(similar, key=lambda m: (-m.score, m.memory_id))
        retraction = parse_retraction(candidate.fact)
        if retraction is not None:
            for memory in ordered:
                relation, reason = relate(candidate.fact, memory.fact, memory.score)
                if relation is Relation.RETRACTS:
                    return Decision(Action.DELETE, memory.memory_id, None, f"{reason}: {memory.fact!r}")
            what = "forget request" if retraction.kind is RetractionKind.FORGET else "retraction"
            return Decision(Action.NOOP, None, None, f"{what} matches no stored memory; a retraction never adds")
        relations = [(memory, *relate(candidate.fact, memory.fact, memory.score)) for memory in ordered]
        for memory, relation, reason in relations:
            if relation is Relation.DUPLICATE:
                return Decision(Action.NOOP, memory.memory_id, None, f"duplicate of {memory.fact!r}: {reason}")
        for memory, relation, reason in relations:
            if relation is Relation.CHANGED:
                return Decision(Action.UPDATE, memory.memory_id, candidate.fact, f"{reason}: was {memory.fact!r}")
        return Decision(Action.ADD, None, candidate.fact, "new information")
