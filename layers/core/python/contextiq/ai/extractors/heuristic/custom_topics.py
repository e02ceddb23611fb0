"""Custom topics: keyword overlap with the topic's description and the few-shot facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contextiq.ai.extractors.base import MANAGED_TOPICS, FewShotExample, Topic
from contextiq.ai.extractors.facts import content_tokens, normalize, stem, value_tokens


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GENERIC_WORDS = _words(
    "thing things say says said talk talks mention mentions mentioned detail details info information "
    "user users fact facts related relating anything stuff about everything something kind type kinds "
    "types like likes love loves prefer prefers enjoy enjoys want wants hate hates include includes "
    "including such e.g example examples etc topic topics remember store keep track any their them "
    "they his her person people assistant agent conversation"
)


def _keywords(text: str, drop: set[str]) -> set[str]:
    return {t for t in content_tokens(text) if t not in drop and t not in {stem(w) for w in _GENERIC_WORDS}}


@dataclass
class CustomTopic:
    label: str
    keywords: set[str] = field(default_factory=set)


def custom_topics(topics: Sequence[Topic], examples: Sequence[FewShotExample]) -> list[CustomTopic]:
    custom = [
        CustomTopic(t.label, _keywords(f"{t.label.replace('_', ' ')} {t.description}", set()))
        for t in topics
        if t.label not in MANAGED_TOPICS
    ]
    if not custom:
        return []
    for example in examples:
        for fact in example.facts:
            names = value_tokens(fact) | {normalize(fact).split(" ")[0]} if fact else set()
            words = _keywords(fact, {stem(n) for n in names})
            if len(custom) == 1:
                custom[0].keywords |= words
                continue
            overlaps = [len(words & c.keywords) for c in custom]
            best = max(overlaps)
            for c, overlap in zip(custom, overlaps, strict=True):
                if best > 0 and overlap == best:
                    c.keywords |= words
    return custom
