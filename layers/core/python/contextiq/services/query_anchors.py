"""Event-anchored date expressions in a recall query ("before her trip to Lisbon", "since I started the
new job"): the anchor is looked up among the scope's events and its time bounds a boost window.

Rule (docs/search.md, "Dates in the query"):

1. **Detect.** The first ``before|until|till|after|since <phrase>`` whose phrase runs to the next ``?``,
   ``!``, ``.``, ``,`` or ``;`` (or the end) and is not a calendar expression (``query_dates.py`` resolves
   those; a query that names a calendar window never looks for an anchor). The phrase needs at least one
   content word: the keyword analyser's tokens (``stores/vector/text.py``) less pronouns, auxiliaries and
   light verbs (:data:`_FILLER`) and less a leading possessive ("Carla's knee surgery": the owner, like
   "her"). ``before|until|till`` -> an upper bound,
   ``after|since`` -> a lower bound.
2. **Resolve.** A keyword (BM25) event search for the phrase in the same user's (and app's) events, top
   :data:`ANCHOR_CANDIDATES`. Keyword, not hybrid: the anchor is named by the words of the turn that told
   it, the confidence below is lexical, and it costs no second query embedding.
3. **Confidence.** A candidate's confidence is the share of the phrase's content words found in its text
   (both folded by :func:`fold`: plurals, ``-ed``, ``-ing``). The first candidate with the highest
   confidence is the anchor when that confidence is at least :data:`ANCHOR_MIN_CONFIDENCE`; otherwise no
   anchor (and no window). The threshold was measured by ``contextiq.evaluation.anchor_study`` on the
   development splits (docs/benchmarks.md, "Event-anchored questions").
4. **Bound.** ``before`` -> ``before = t`` (results strictly earlier than the anchor turn), ``after`` ->
   ``after = t + 1 ms``. The window is the same *boost* as a calendar window (in-window results first
   within each source, each group in its own order), never a filter: a wrong anchor reorders, it never
   empties the results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from contextiq.models.sessions import Event
from contextiq.services.query_dates import Window
from contextiq.stores.vector.documents import event_text
from contextiq.stores.vector.text import tokenize

ANCHOR_CANDIDATES = 5
#: Measured by ``contextiq.evaluation.anchor_study`` (docs/benchmarks.md): on the development splits every
#: anchor said resolves up to 0.8, and anchors never said stop resolving above 0.6 (at 0.6, 9 of 54 did:
#: "Sven started the new job at Globex" matching "I started the new job at Hooli" on 3 words of 5); 0.7 is
#: the middle of that plateau.
ANCHOR_MIN_CONFIDENCE = 0.7

Relation = Literal["before", "after"]

_POSSESSIVE = re.compile(r"^\w+['’]s\s+(?=\w)")
_ANCHOR = re.compile(r"\b(before|until|till|after|since)\s+([^?!.,;]+)", re.I)
# Words that name no event: pronouns, determiners, auxiliaries and light verbs of a question's phrasing.
# fmt: off
_FILLER = frozenset(
    {
        "i", "me", "my", "mine", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "hers",
        "they", "them", "their", "its", "one", "ones", "what", "which", "who", "when", "where", "how", "do",
        "does", "did", "done", "have", "has", "had", "having", "been", "being", "am", "were", "get", "got",
        "going", "go", "went", "just", "ever", "some", "any", "all", "very", "really", "so",
    }
)
# fmt: on


@dataclass(frozen=True)
class Anchor:
    relation: Relation
    phrase: str
    words: frozenset[str]  # folded content words


@dataclass(frozen=True)
class ResolvedAnchor:
    anchor: Anchor
    event: Event
    confidence: float

    @property
    def window(self) -> Window:
        at = self.event.timestamp
        if self.anchor.relation == "before":
            return Window(None, at)
        return Window(at + timedelta(milliseconds=1), None)


def fold(word: str) -> str:
    """A lighter-than-Porter fold for matching an anchor's words to a turn's: -ing, -ed, plural -s."""
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2]:  # "planned" -> "plann" -> "plan"
                word = word[:-1]
            return word.rstrip("e")
    return word.rstrip("e") if len(word) > 3 else word


def content_words(text: str) -> frozenset[str]:
    return frozenset(fold(t) for t in tokenize(text) if t not in _FILLER)


def _owner_dropped(phrase: str) -> str:
    """A leading possessive names whose event it is, like "her" ("Carla's knee surgery" -> "knee surgery"):
    the user's own turns say "my", so the name would only lower the match."""
    return _POSSESSIVE.sub("", phrase, count=1)


def find_anchor(query: str) -> Anchor | None:
    """The query's event anchor, or None (rule 1 of the module docstring). The caller checks first that
    the query names no calendar window."""
    for m in _ANCHOR.finditer(query):
        phrase = m.group(2).strip()
        words = content_words(_owner_dropped(phrase))
        if words:
            relation: Relation = "before" if m.group(1).lower() in ("before", "until", "till") else "after"
            return Anchor(relation, phrase, words)
    return None


def confidence(anchor: Anchor, text: str) -> float:
    return len(anchor.words & content_words(text)) / len(anchor.words)


def resolve(
    anchor: Anchor, candidates: Iterable[Event], threshold: float = ANCHOR_MIN_CONFIDENCE
) -> ResolvedAnchor | None:
    """The first most confident candidate (best first), when confident enough (rules 2-3)."""
    best: ResolvedAnchor | None = None
    for event in candidates:
        score = confidence(anchor, event_text(event))
        if best is None or score > best.confidence:
            best = ResolvedAnchor(anchor, event, score)
    return best if best is not None and best.confidence >= threshold else None
