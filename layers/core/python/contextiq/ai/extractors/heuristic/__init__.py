"""The local, model-free extractor and decider: deterministic rules, documented in docs/extraction.md.

:class:`HeuristicExtractor` reads the user's turns sentence by sentence (:mod:`.sentences`) and turns the
clauses that match a rule (:mod:`.rules`, built by :mod:`.builders`: identity, preferences, plans,
relationships, instructions, retractions, key details) or a custom topic's keywords (:mod:`.custom_topics`)
into self-contained third-person facts with resolved dates and their source event ids (:mod:`.extractor`).
:class:`HeuristicDecider` (:mod:`.decider`) merges one candidate with the similar stored memories (NOOP /
UPDATE / DELETE / ADD) using the comparisons in :mod:`contextiq.ai.extractors.facts`.

Only the local runtime needs this package: :mod:`contextiq.ai.extractors.factory` imports it on first use,
so a cloud Lambda on Bedrock never loads the rule table.
"""

from contextiq.ai.extractors.heuristic.builders import Context, Match
from contextiq.ai.extractors.heuristic.decider import HeuristicDecider
from contextiq.ai.extractors.heuristic.extractor import HeuristicExtractor, settle
from contextiq.ai.extractors.heuristic.rules import RULES, classify
from contextiq.ai.extractors.heuristic.sentences import split_clauses, split_sentences
from contextiq.ai.extractors.turns import is_user_turn

__all__ = [
    "RULES",
    "Context",
    "HeuristicDecider",
    "HeuristicExtractor",
    "Match",
    "classify",
    "is_user_turn",
    "settle",
    "split_clauses",
    "split_sentences",
]
