"""The rules added to keep more of what is said (docs/extraction.md, rules 34-38): ongoing activities,
conditions, what affects the user, news about people the user knows, the household ("our", "we have")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contextiq.ai.extractors.base import MANAGED_TOPICS, Topic, Turn
from contextiq.ai.extractors.heuristic import HeuristicExtractor

T0 = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)
MANAGED = [Topic(label, description, managed=True) for label, description in MANAGED_TOPICS.items()]
PI, PREF, KEY, INSTR = MANAGED_TOPICS


def extract(text: str) -> list[tuple[str, str]]:
    turns = [Turn("alice", text, T0, "user", "e1")]
    return [(f.fact, f.topic) for f in HeuristicExtractor().extract(turns, MANAGED).facts]


@pytest.mark.parametrize(
    ("said", "fact", "topic"),
    [
        ("I've been learning the cello for two years.", "The user has been learning the cello for two years", PREF),
        ("I have taught yoga since 2010.", "The user has taught yoga since 2010", PREF),
        ("I spend every summer at my aunt's farm.", "The user spends every summer at the user's aunt's farm", PREF),
        ("I get carsick on winding roads.", "The user gets carsick on winding roads", PI),
        ("I suffer from hay fever in spring.", "The user suffers from hay fever in spring", PI),
        ("Loud restaurants give me a headache.", "Loud restaurants give the user a headache", PREF),
        ("Long meetings wear me out.", "Long meetings wear the user out", PREF),
        ("Marta just got engaged!", "Marta just got engaged", KEY),
        ("Tomas has been really into rowing lately.", "Tomas has been really into rowing lately", KEY),
        ("Our daughter starts school in September.", "The user's daughter starts school in September", PI),
        ("We have a rabbit named Coco.", "The user has a rabbit named Coco", PI),
        ("I started a new job at Initech.", "The user started a new job at Initech", KEY),
        ("I took up climbing this year.", "The user took up climbing in 2024", KEY),
    ],
)
def test_more_is_kept(said: str, fact: str, topic: str) -> None:
    assert extract(said) == [(fact, topic)]


@pytest.mark.parametrize(
    "said",
    [
        "Paris is lovely in spring.",
        "I have been wondering about that.",
        "That makes me happy.",
        "It drives me crazy.",
        "Can you give me a recipe for soup?",
        "I started to think about it.",
        "We should talk later.",
        "Please make me a list of hotels.",
    ],
)
def test_still_nothing_to_remember(said: str) -> None:
    assert extract(said) == []
