"""Extraction (conversation -> candidate facts) and consolidation decisions, behind small interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

USER_PERSONAL_INFO = "USER_PERSONAL_INFO"
USER_PREFERENCES = "USER_PREFERENCES"
KEY_CONVERSATION_DETAILS = "KEY_CONVERSATION_DETAILS"
EXPLICIT_INSTRUCTIONS = "EXPLICIT_INSTRUCTIONS"

MANAGED_TOPICS: dict[str, str] = {
    USER_PERSONAL_INFO: "Identity and personal details: name, age, location, job, family, relationships.",
    USER_PREFERENCES: "Likes, dislikes, preferred options, habits and constraints (diet, budget, style).",
    KEY_CONVERSATION_DETAILS: "Important details, decisions, plans, dates and outcomes of the conversation.",
    EXPLICIT_INSTRUCTIONS: "Things the user explicitly asks the agent to remember, forget or always do.",
}
ALL_MANAGED_TOPICS: tuple[str, ...] = tuple(MANAGED_TOPICS)


class MalformedModelOutputError(Exception):
    """A model answer did not match the structured-output schema; the job fails, nothing is written."""


@dataclass(frozen=True)
class Turn:
    author: str
    text: str
    timestamp: datetime
    role: str | None = None  # "user", "model"/"agent", "tool"...; None: inferred from author
    event_id: str | None = None


@dataclass(frozen=True)
class Topic:
    label: str
    description: str
    managed: bool = False


@dataclass(frozen=True)
class FewShotExample:
    conversation: tuple[Turn, ...]
    facts: tuple[str, ...]


@dataclass(frozen=True)
class CandidateFact:
    fact: str
    topic: str
    source_event_ids: tuple[str, ...] = ()
    event_time: datetime | None = None  # when it was said: the latest of its source events' timestamps


@dataclass(frozen=True)
class ModelUsage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Extraction:
    facts: list[CandidateFact]
    usage: ModelUsage = field(default_factory=ModelUsage)


class Extractor(Protocol):
    def extract(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
        *,
        known_name: str | None = None,
    ) -> Extraction:
        """Propose self-contained facts from the user's turns, with the ids of the events they came from.
        ``known_name``: the user's name known from earlier (the scope's memories, an earlier chunk); facts
        name the user with it unless the turns give another."""
        ...


class Action(StrEnum):
    ADD = "ADD"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    NOOP = "NOOP"


@dataclass(frozen=True)
class ExistingMemory:
    memory_id: str
    fact: str
    topics: tuple[str, ...]
    score: float  # cosine similarity to the candidate, -1..1 (fusion.score_to_cosine of the semantic score)


@dataclass(frozen=True)
class Decision:
    action: Action
    memory_id: str | None = None  # the existing memory for UPDATE / DELETE / NOOP
    fact: str | None = None  # the text to store for ADD / UPDATE
    reason: str = ""
    usage: ModelUsage = field(default_factory=ModelUsage)


class Decider(Protocol):
    def decide(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> Decision:
        """Merge one candidate with the most similar memories of its scope."""
        ...
