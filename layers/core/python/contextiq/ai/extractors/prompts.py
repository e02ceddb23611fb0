"""Prompts and tool schemas for the Bedrock extractor and decider (Converse API, forced tool use).

The structured output is the ``input`` of a tool the model is forced to call (``toolChoice``
``{"tool": {"name": ...}}``), described by a JSON schema in ``toolSpec.inputSchema.json``. The schemas
here are what the model sees; :mod:`contextiq.ai.extractors.bedrock` validates the answer again with
pydantic, because a schema in a prompt is a request, not a guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contextiq.ai.extractors.base import (
    MANAGED_TOPICS,
    Action,
    CandidateFact,
    ExistingMemory,
    FewShotExample,
    Topic,
    Turn,
)
from contextiq.ai.extractors.turns import iso_utc, role_of

EXTRACTION_TOOL_NAME = "record_facts"
DECISION_TOOL_NAME = "record_decision"


# ---------------------------------------------------------------------------------------------------
# Conversation rendering
# ---------------------------------------------------------------------------------------------------


def turn_ids(turns: Sequence[Turn], prefix: str = "turn") -> list[str]:
    """The id each turn is shown with: its event id, or ``<prefix>-<n>`` (1-based) when it has none."""
    return [t.event_id or f"{prefix}-{i}" for i, t in enumerate(turns, start=1)]


def render_turns(turns: Sequence[Turn], prefix: str = "turn") -> str:
    """One line per turn: ``[<id>] <ISO time> <role> (<author>): <text>`` (continuation lines indented)."""
    lines = []
    for turn, shown_id in zip(turns, turn_ids(turns, prefix), strict=True):
        text = "\n    ".join(turn.text.strip().splitlines()) or "(empty)"
        lines.append(f"[{shown_id}] {iso_utc(turn.timestamp)} {role_of(turn)} ({turn.author}): {text}")
    return "\n".join(lines)


def render_conversation(turns: Sequence[Turn]) -> str:
    """The user message of an extraction request."""
    return (
        "Conversation to extract memories from (one turn per line: [event id] UTC timestamp role (author): "
        "text):\n\n" + render_turns(turns) + "\n\nCall the record_facts tool with the facts worth remembering."
    )


# ---------------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------------


def managed_topics() -> list[Topic]:
    """The four managed topics: what an extraction covers when no topic is requested."""
    return [Topic(label, description, managed=True) for label, description in MANAGED_TOPICS.items()]


def topic_description(topic: Topic) -> str:
    if topic.label in MANAGED_TOPICS:
        return MANAGED_TOPICS[topic.label] if topic.managed or not topic.description else topic.description
    return topic.description


def render_topics(topics: Sequence[Topic]) -> str:
    lines = []
    for topic in topics:
        kind = "managed" if topic.label in MANAGED_TOPICS else "custom"
        lines.append(f"- {topic.label} ({kind}): {topic_description(topic)}")
    return "\n".join(lines)


def render_examples(examples: Sequence[FewShotExample]) -> str:
    blocks = []
    for n, example in enumerate(examples, start=1):
        facts = "\n".join(f"- {fact}" for fact in example.facts) or "- (nothing to remember)"
        blocks.append(
            f"<example {n}>\nConversation:\n{render_turns(example.conversation, prefix=f'example{n}-turn')}\n"
            f"Facts to extract:\n{facts}\n</example {n}>"
        )
    return "\n\n".join(blocks)


EXTRACTION_RULES = """\
You extract long-term memories about a user from a conversation between the user and an AI assistant.

Rules:
1. Extract only what the user says about themselves, their life, plans and wishes. Assistant turns are \
context only: never extract a statement the assistant made, and ignore tool and system turns.
2. Write each fact as one short, self-contained sentence in the third person that makes sense without the \
conversation. Name the user by the name they gave in the conversation ("Alice is vegetarian"); if they gave \
none, write "The user" ("The user is vegetarian"). Write "Alice's wife", never "my wife" or "her wife".
3. Resolve relative dates ("yesterday", "tomorrow", "next Friday", "in 3 days", "last week") to calendar \
dates in YYYY-MM-DD form, using the timestamp of the turn that mentions them.
4. Give every fact exactly one topic from the list below, and the ids of the event(s) it comes from in \
source_event_ids (the ids shown in square brackets). Extract nothing that fits none of the topics.
5. Skip greetings, small talk, questions and requests to the assistant that reveal nothing lasting.
6. When the user retracts something, write the retraction in one of these forms so it can be matched \
against stored memories: "<Name> is no longer vegetarian", "<Name> no longer lives in Paris", or \
"<Name> asked to forget that <the statement to forget>".
7. If the user changes a value later in the conversation (a new budget, a new city), extract only the \
latest value. Never repeat the same fact twice.
8. Do not guess or invent. Return an empty list when there is nothing worth remembering.
9. Answer only by calling the record_facts tool, once."""


def known_name_note(name: str) -> str:
    return (
        f"The user's name, known from earlier conversations, is {name}: name them {name} in every fact "
        f'("{name} is vegetarian", never "The user is vegetarian"), unless they give another name here.'
    )


def extraction_system_prompt(
    topics: Sequence[Topic], examples: Sequence[FewShotExample] = (), *, known_name: str | None = None
) -> str:
    parts = [EXTRACTION_RULES, "Topics (use the label exactly as written):\n" + render_topics(topics)]
    if known_name:
        parts.insert(1, known_name_note(known_name))
    if examples:
        parts.append(
            "Examples of conversations and the facts to extract from them (follow their style and level "
            "of detail):\n\n" + render_examples(examples)
        )
    return "\n\n".join(parts)


def extraction_input_schema(topic_labels: Sequence[str], event_ids: Sequence[str] = ()) -> dict[str, Any]:
    ids_schema: dict[str, Any] = {"type": "string"}
    if event_ids:
        ids_schema["enum"] = list(dict.fromkeys(event_ids))
    return {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "description": "Facts worth remembering about the user; empty when there are none.",
                "items": {
                    "type": "object",
                    "properties": {
                        "fact": {
                            "type": "string",
                            "minLength": 1,
                            "description": "One self-contained third-person sentence about the user.",
                        },
                        "topic": {"type": "string", "enum": list(topic_labels)},
                        "source_event_ids": {
                            "type": "array",
                            "items": ids_schema,
                            "minItems": 1,
                            "description": "Ids of the conversation events the fact comes from.",
                        },
                    },
                    "required": ["fact", "topic", "source_event_ids"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["facts"],
        "additionalProperties": False,
    }


def extraction_tool_config(topic_labels: Sequence[str], event_ids: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": EXTRACTION_TOOL_NAME,
                    "description": "Record the facts about the user extracted from the conversation.",
                    "inputSchema": {"json": extraction_input_schema(topic_labels, event_ids)},
                }
            }
        ],
        "toolChoice": {"tool": {"name": EXTRACTION_TOOL_NAME}},
    }


# ---------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------

#: The attributes that hold one value at a time (docs/extraction.md, "Facts kept apart").
SINGLE_VALUED_ATTRIBUTES = (
    "name",
    "age",
    "residence (lives in / moved to)",
    "employer (works at / for)",
    "occupation (works as)",
    "relationship status",
    "diet (vegetarian / vegan / ...)",
    "origin (is from)",
    "nickname (wants to be called)",
    "a possessive attribute \"<Name>'s <thing> is <value>\" (budget, birthday, favourite cuisine, dog's name)",
    "the date of one planned event (is flying to Rome on <date>)",
)

_SINGLE_VALUED = "; ".join(SINGLE_VALUED_ATTRIBUTES)
DECISION_SYSTEM_PROMPT = f"""\
You maintain a long-term memory store about one user. You receive one candidate fact and the most similar \
memories already stored (each with its id and a similarity score from 0 to 1). Choose exactly one action:

- NOOP: the candidate is already stored (same meaning, possibly other words) or adds nothing. Set memory_id \
to the memory that already says it (null if none), fact to null.
- UPDATE: the candidate changes a stored memory: same attribute with a new value (moved to another city, a \
new budget, a new date) or a correction. Set memory_id to that memory and fact to the up-to-date sentence \
that replaces it (self-contained, third person, keeping details of the old memory that are still true).
- DELETE: the candidate retracts a stored memory ("Alice is no longer vegetarian" retracts "Alice is \
vegetarian"; "Alice asked to forget that ..." retracts what it names). Set memory_id to that memory and \
fact to null.
- ADD: the candidate is new information. Set memory_id to null and fact to the sentence to store (usually \
the candidate itself).

Keep facts apart. Two facts that differ in a number, a date or a named entity are different facts (ADD), \
even when their wording is otherwise the same ("Alice visited Porto in 1990" and "Alice visited Lyon in 1991" \
are two memories). Only an attribute that holds one value at a time is replaced (UPDATE): {_SINGLE_VALUED}. \
Two dated past events are both kept (a move in 2024 and another in 2026 are both history), but a dated \
change replaces the undated state it changes ("Carol moved from Denver to Seattle in October 2026" updates \
"Carol lives in Denver").

Name the user. When a stored memory names the user ("Carol lives in Denver", "The user's name is Carol"), \
write the fact you store with that name, never "The user": UPDATE "Carol lives in Denver" with "Carol moved \
from Denver to Seattle in October 2026".

memory_id must be one of the ids listed, or null. A retraction that matches no stored memory is a NOOP. \
Explain the choice in one short sentence in reason. Answer only by calling the record_decision tool, once."""


def render_decision_request(candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> str:
    lines = [f"Candidate fact (topic {candidate.topic}): {candidate.fact}", "", "Similar stored memories:"]
    for memory in similar:
        topics = ", ".join(memory.topics) or "-"
        lines.append(f"- id={memory.memory_id} score={memory.score:.3f} topics=[{topics}]: {memory.fact}")
    if not similar:
        lines.append("- (none)")
    lines += ["", "Call the record_decision tool with your decision."]
    return "\n".join(lines)


def decision_input_schema(memory_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in Action]},
            "memory_id": {
                "type": ["string", "null"],
                "enum": [*dict.fromkeys(memory_ids), None],
                "description": "The stored memory to UPDATE, DELETE or that makes this a NOOP; null for ADD.",
            },
            "fact": {
                "type": ["string", "null"],
                "description": "The sentence to store for ADD and UPDATE; null for DELETE and NOOP.",
            },
            "reason": {"type": "string", "description": "One short sentence explaining the action."},
        },
        "required": ["action", "memory_id", "fact", "reason"],
        "additionalProperties": False,
    }


def decision_tool_config(memory_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": DECISION_TOOL_NAME,
                    "description": "Record how the candidate fact merges into the stored memories.",
                    "inputSchema": {"json": decision_input_schema(memory_ids)},
                }
            }
        ],
        "toolChoice": {"tool": {"name": DECISION_TOOL_NAME}},
    }
