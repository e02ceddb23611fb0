"""Bedrock Converse distiller: one forced ``record_procedure`` tool call per group of runs.

Same conventions as the extractor (ai/extractors/bedrock.py): a single tool whose input schema is the
structured output, ``toolChoice`` forcing it, temperature 0, bounded ``maxTokens``, retries with backoff
on throttling. The answer is validated with pydantic against the API's own limits, a step's tool must be
one the runs used, and every ``{placeholder}`` in a step must be a declared parameter; anything else
raises MalformedModelOutputError, so the job fails instead of storing garbage.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from contextiq import limits
from contextiq.ai.distillers.base import DistilledProcedure, provenance_of
from contextiq.ai.extractors.base import MalformedModelOutputError
from contextiq.ai.extractors.bedrock import Sleep, _ConverseCaller, _explain, tool_input, usage_of
from contextiq.models.procedures import Parameter, ProcedureKind, Step
from contextiq.models.trajectories import Trajectory

TOOL_NAME = "record_procedure"
MAX_TOKENS = 2_048
MAX_INPUT_CHARS = 60_000
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")

SYSTEM_PROMPT = """\
You turn successful runs of one task by an AI agent into one reusable procedure. You receive the runs \
(task, then each step's thought, tool, arguments and observation). Record, with the record_procedure tool:

- name: the task in general form, at most 80 characters, with {parameter} placeholders for what changes \
between tasks of this kind (e.g. "Book a flight from {origin} to {destination}").
- description: one or two sentences saying when to use this procedure.
- steps: the steps in order. Keep each tool call the runs made, with its exact tool name; write arguments \
that differ between runs, or that come from the task, as "{parameter}"; keep constant arguments as they \
are. instruction says what to do; expected says what a good result looks like (omit it when unclear).
- parameters: every {parameter} used, with a short description.
Do not invent tools or steps the runs did not need."""


def _schema() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", "steps", "parameters"],
        "properties": {
            "name": {**text, "maxLength": limits.MAX_PROCEDURE_NAME_CHARS},
            "description": {**text, "maxLength": limits.MAX_PROCEDURE_DESCRIPTION_CHARS},
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.MAX_PROCEDURE_STEPS,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["instruction"],
                    "properties": {
                        "instruction": {**text, "maxLength": limits.MAX_STEP_TEXT_CHARS},
                        "tool": {"type": "string"},
                        "arguments": {"type": "object"},
                        "expected": {"type": "string", "maxLength": limits.MAX_STEP_TEXT_CHARS},
                    },
                },
            },
            "parameters": {
                "type": "array",
                "maxItems": limits.MAX_PROCEDURE_PARAMETERS,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                        "description": {"type": "string", "maxLength": 500},
                    },
                },
            },
        },
    }


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    steps: list[Step]
    parameters: list[Parameter]


def render_runs(runs: Sequence[Trajectory]) -> str:
    blocks = []
    for n, run in enumerate(runs, 1):
        lines = [f"Run {n}. Task: {run.task}"]
        for i, s in enumerate(run.steps, 1):
            parts = [f"thought: {s.thought}"] if s.thought else []
            if s.tool:
                parts.append(f"tool: {s.tool} {json.dumps(s.arguments or {}, ensure_ascii=False)}")
            if s.observation:
                parts.append(f"observation: {s.observation}")
            lines.append(f"  {i}. " + " | ".join(parts))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class BedrockDistiller:
    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        max_retries: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._caller = _ConverseCaller(
            client, model_id, max_retries=max_retries, base_delay=base_delay, max_delay=max_delay, sleep=sleep, rng=rng
        )
        self.model_id = model_id

    def build_request(self, runs: Sequence[Trajectory]) -> dict[str, Any]:
        text = render_runs(runs)
        if len(text) > MAX_INPUT_CHARS:  # the oldest runs say the same; keep what fits
            while len(runs) > 1 and len(text) > MAX_INPUT_CHARS:
                runs = runs[:-1]
                text = render_runs(runs)
            text = text[:MAX_INPUT_CHARS]
        return {
            "modelId": self.model_id,
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": text}]}],
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": TOOL_NAME,
                            "description": "Record the reusable procedure distilled from the runs.",
                            "inputSchema": {"json": _schema()},
                        }
                    }
                ],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            },
            "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0.0},
        }

    def distill(self, runs: Sequence[Trajectory]) -> DistilledProcedure | None:
        if not runs:
            return None
        response = self._caller.converse(self.build_request(runs))
        payload = tool_input(response, TOOL_NAME)
        try:
            out = _Out.model_validate(payload)
        except ValidationError as exc:
            raise MalformedModelOutputError(f"{TOOL_NAME} input does not match the schema: {_explain(exc)}") from exc
        used = {s.tool for r in runs for s in r.steps if s.tool}
        declared = {p.name for p in out.parameters}
        for n, step in enumerate(out.steps):
            if step.tool is not None and step.tool not in used:
                raise MalformedModelOutputError(f"steps[{n}].tool {step.tool!r} is not a tool the runs used")
            text = json.dumps(step.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - declared)
            if unknown:
                raise MalformedModelOutputError(f"steps[{n}] uses undeclared parameters {unknown}")
        trajectory_ids, event_ids = provenance_of(runs)
        return DistilledProcedure(
            name=" ".join(out.name.split()),
            description=out.description.strip(),
            kind=ProcedureKind.WORKFLOW if len(out.steps) > 1 else ProcedureKind.SKILL,
            steps=out.steps,
            parameters=out.parameters,
            trajectory_ids=trajectory_ids,
            event_ids=event_ids,
            usage=usage_of(response),
        )
