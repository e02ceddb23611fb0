"""Bedrock Converse extractor and decider: forced tool use for structured output, strict validation.

Both send one ``converse`` request with a single tool whose ``inputSchema.json`` is the structured
output, ``toolChoice`` forcing that tool (supported by Anthropic Claude 3+ and Amazon Nova models), and
``inferenceConfig`` temperature 0 with bounded ``maxTokens``. The answer must stop with ``tool_use`` and
carry exactly one ``toolUse`` block of that tool; its ``input`` is validated with pydantic against the
request (topics that were asked for, event ids that were shown, memory ids that were given). Anything else
raises :class:`MalformedModelOutputError`: a job fails rather than storing garbage.

Throttling and transient unavailability are retried by the one shared policy
(:mod:`contextiq.ai.retry`: full-jitter backoff, bounded by the time left in the Lambda invocation; the
client's own botocore retries are off); the sleep and the random source are injectable so tests run
instantly and deterministically.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contextiq.ai import retry
from contextiq.ai.extractors.base import (
    Action,
    CandidateFact,
    Decision,
    ExistingMemory,
    Extraction,
    FewShotExample,
    MalformedModelOutputError,
    ModelUsage,
    Topic,
    Turn,
)
from contextiq.ai.extractors.prompts import (
    DECISION_SYSTEM_PROMPT,
    DECISION_TOOL_NAME,
    EXTRACTION_TOOL_NAME,
    decision_tool_config,
    extraction_system_prompt,
    extraction_tool_config,
    managed_topics,
    render_conversation,
    render_decision_request,
    turn_ids,
)

#: Largest rendered conversation (characters) one extraction request accepts (~15k tokens). Callers chunk
#: longer conversations; the few-shot examples and system prompt are not counted.
MAX_INPUT_CHARS = 60_000
EXTRACTION_MAX_TOKENS = 2_048
DECISION_MAX_TOKENS = 512

#: Error codes worth another attempt (the shared list of :mod:`contextiq.ai.retry`).
RETRYABLE_ERROR_CODES = retry.RETRYABLE_ERROR_CODES


class InputTooLargeError(ValueError):
    """The conversation is over the extractor's character budget; split it into chunks first."""


class BedrockUnavailableError(RuntimeError):
    """Bedrock kept throttling or being unavailable after every retry."""

    def __init__(self, message: str, code: str, attempts: int) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts


Sleep = Callable[[float], None]


class _ConverseCaller:
    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        max_retries: int,
        base_delay: float,
        max_delay: float,
        sleep: Sleep | None,
        rng: random.Random | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.client = client
        self.model_id = model_id
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep: Sleep = sleep or time.sleep
        self.rng = rng or random.Random()

    @property
    def policy(self) -> retry.RetryPolicy:
        return retry.RetryPolicy(
            max_attempts=self.max_retries + 1, base_delay=self.base_delay, max_delay=self.max_delay
        )

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): the shared full-jitter policy."""
        return self.policy.delay(attempt, self.rng)

    def converse(self, request: dict[str, Any]) -> Mapping[str, Any]:
        try:
            return retry.call_with_retries(
                lambda: self.client.converse(**request),
                policy=self.policy,
                what=f"Bedrock converse on {self.model_id}",
                sleep=self.sleep,
                rng=self.rng,
            )
        except retry.RetriesExhaustedError as exc:
            raise BedrockUnavailableError(str(exc), exc.code, exc.attempts) from exc


def tool_input(response: Mapping[str, Any], tool_name: str) -> dict[str, Any]:
    """The ``input`` of the single ``toolUse`` block of ``tool_name``, or MalformedModelOutputError."""
    stop = response.get("stopReason")
    content = (response.get("output") or {}).get("message", {}).get("content") or []
    uses = [block["toolUse"] for block in content if isinstance(block, Mapping) and "toolUse" in block]
    texts = [str(block["text"]) for block in content if isinstance(block, Mapping) and "text" in block]
    if stop != "tool_use":
        hint = " (the answer was cut off: raise maxTokens or send less)" if stop == "max_tokens" else ""
        said = f"; it said: {' '.join(texts)[:200]!r}" if texts else ""
        raise MalformedModelOutputError(f"model stopped with stopReason={stop!r}, expected 'tool_use'{hint}{said}")
    matching = [use for use in uses if use.get("name") == tool_name]
    if not matching:
        names = [use.get("name") for use in uses]
        raise MalformedModelOutputError(
            f"no toolUse block for tool {tool_name!r} in the model answer (tool calls: {names}, "
            f"text: {' '.join(texts)[:200]!r})"
        )
    if len(matching) > 1:
        raise MalformedModelOutputError(f"the model called {tool_name!r} {len(matching)} times; expected once")
    payload = matching[0].get("input")
    if not isinstance(payload, dict):
        raise MalformedModelOutputError(f"toolUse input of {tool_name!r} is {type(payload).__name__}, not an object")
    return payload


def usage_of(response: Mapping[str, Any]) -> ModelUsage:
    usage = response.get("usage") or {}
    return ModelUsage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))


def _explain(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors(include_url=False)
    )


# ---------------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------------


class _FactOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fact: str = Field(min_length=1)
    topic: str
    source_event_ids: list[str] = Field(min_length=1)


class _ExtractionOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    facts: list[_FactOut]


class BedrockExtractor:
    """Extraction with a Bedrock model through the Converse API and a forced ``record_facts`` tool."""

    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        max_retries: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        max_input_chars: int = MAX_INPUT_CHARS,
        max_tokens: int = EXTRACTION_MAX_TOKENS,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._caller = _ConverseCaller(
            client,
            model_id,
            max_retries=max_retries,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            rng=rng,
        )
        self.model_id = model_id
        self.max_input_chars = max_input_chars
        self.max_tokens = max_tokens

    def build_request(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
        *,
        known_name: str | None = None,
    ) -> dict[str, Any]:
        """The ``converse`` keyword arguments for one extraction (also used by tests as expected_params)."""
        topics = list(topics) or managed_topics()
        conversation = render_conversation(turns)
        if len(conversation) > self.max_input_chars:
            raise InputTooLargeError(
                f"conversation renders to {len(conversation)} characters, over the budget of "
                f"{self.max_input_chars}; split it into chunks and extract each"
            )
        labels = list(dict.fromkeys(t.label for t in topics))
        return {
            "modelId": self.model_id,
            "system": [{"text": extraction_system_prompt(topics, examples, known_name=known_name)}],
            "messages": [{"role": "user", "content": [{"text": conversation}]}],
            "toolConfig": extraction_tool_config(labels, turn_ids(turns)),
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": 0.0},
        }

    def extract(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
        *,
        known_name: str | None = None,
    ) -> Extraction:
        if not turns:
            return Extraction(facts=[])
        topics = list(topics) or managed_topics()
        request = self.build_request(turns, topics, examples, known_name=known_name)
        response = self._caller.converse(request)
        payload = tool_input(response, EXTRACTION_TOOL_NAME)
        try:
            parsed = _ExtractionOut.model_validate(payload)
        except ValidationError as exc:
            raise MalformedModelOutputError(f"record_facts input does not match the schema: {_explain(exc)}") from exc

        labels = {t.label for t in topics}
        shown = turn_ids(turns)
        real_ids = {shown_id: t.event_id for shown_id, t in zip(shown, turns, strict=True)}
        facts: list[CandidateFact] = []
        seen: set[str] = set()
        for n, item in enumerate(parsed.facts):
            if item.topic not in labels:
                raise MalformedModelOutputError(
                    f"facts[{n}].topic {item.topic!r} is not one of the requested topics {sorted(labels)}"
                )
            unknown = [i for i in item.source_event_ids if i not in real_ids]
            if unknown:
                raise MalformedModelOutputError(
                    f"facts[{n}].source_event_ids {unknown} are not events of the conversation"
                )
            text = " ".join(item.fact.split())
            if not text:
                raise MalformedModelOutputError(f"facts[{n}].fact is blank")
            key = text.lower().rstrip(".")
            if key in seen:
                continue
            seen.add(key)
            ids = tuple(dict.fromkeys(eid for i in item.source_event_ids if (eid := real_ids[i])))
            facts.append(CandidateFact(text, item.topic, ids))
        return Extraction(facts=facts, usage=usage_of(response))


# ---------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------


class _DecisionOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    action: Literal["ADD", "UPDATE", "DELETE", "NOOP"]
    memory_id: str | None
    fact: str | None
    reason: str


class BedrockDecider:
    """Consolidation decisions with a Bedrock model and a forced ``record_decision`` tool."""

    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        max_retries: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        max_tokens: int = DECISION_MAX_TOKENS,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._caller = _ConverseCaller(
            client,
            model_id,
            max_retries=max_retries,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            rng=rng,
        )
        self.model_id = model_id
        self.max_tokens = max_tokens

    def build_request(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "system": [{"text": DECISION_SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": render_decision_request(candidate, similar)}]}],
            "toolConfig": decision_tool_config([m.memory_id for m in similar]),
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": 0.0},
        }

    def decide(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> Decision:
        if not similar:
            # nothing to merge with: no model call needed
            return Decision(Action.ADD, None, candidate.fact, "no similar memory stored")
        response = self._caller.converse(self.build_request(candidate, similar))
        payload = tool_input(response, DECISION_TOOL_NAME)
        try:
            out = _DecisionOut.model_validate(payload)
        except ValidationError as exc:
            raise MalformedModelOutputError(
                f"record_decision input does not match the schema: {_explain(exc)}"
            ) from exc
        action = Action(out.action)
        ids = {m.memory_id for m in similar}
        if out.memory_id is not None and out.memory_id not in ids:
            raise MalformedModelOutputError(
                f"memory_id {out.memory_id!r} is not one of the similar memories given {sorted(ids)}"
            )
        if action in (Action.UPDATE, Action.DELETE) and out.memory_id is None:
            raise MalformedModelOutputError(f"{action.value} needs the memory_id of the memory it changes")
        if action is Action.ADD and out.memory_id is not None:
            raise MalformedModelOutputError("ADD must not name a memory_id (use UPDATE to change a memory)")
        fact = " ".join((out.fact or "").split())
        if action in (Action.ADD, Action.UPDATE) and not fact:
            raise MalformedModelOutputError(f"{action.value} needs a non-empty fact to store")
        return Decision(
            action=action,
            memory_id=out.memory_id,
            fact=fact if action in (Action.ADD, Action.UPDATE) else None,
            reason=out.reason,
            usage=usage_of(response),
        )
