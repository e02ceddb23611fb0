"""The deterministic local distiller (docs/procedures.md lists its rules, numbered as here).

Given successful runs of one task that made the same sequence of tool calls:

* R1 steps: the first run's steps, in order. A tool call becomes a step with that ``tool`` and its
  ``arguments``; its instruction is the run's thought for that step, else "Call `<tool>`". A thought
  without a tool becomes an instruction-only step. Observation-only steps are left out.
* R2 parameters from variation: an argument (a leaf of the arguments object, nested keys included) whose
  value differs between runs becomes a parameter named after its key; the argument becomes
  ``"{name}"``. Arguments that vary together (the same values run by run) share one parameter.
* R3 parameters from the task: an argument that does not vary but whose value (a string, or a number,
  of at least 2 characters) appears as a whole word in every run's task is the task's input, not a
  constant: it becomes a parameter too. This is what generalises a single run.
* R4 text: in the task, the thoughts and the observations, each run's own parameter values are
  replaced (whole words) by ``{name}``. The name is the generalised task (at most 80 characters, cut at
  a word); the description says when to use it; a step's ``expected`` is the first sentence (at most 200
  characters) of its generalised observation when that is the same in every run, else left out.
* R5 kind: more than one step is a ``workflow``, a single step a ``skill``. Parameter descriptions
  list up to three example values seen in the runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from contextiq.ai.distillers.base import DistilledProcedure, provenance_of, tool_sequence
from contextiq.models.procedures import Parameter, ProcedureKind, Step
from contextiq.models.trajectories import Trajectory, TrajectoryStep

Path = tuple[str, ...]
MAX_NAME_CHARS = 80
MAX_EXPECTED_CHARS = 200
_MISSING = "\x00missing"


def leaves(value: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Nested dict keys -> leaf values (lists and scalars are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[Path, Any] = {}
        for key, inner in value.items():
            out.update(leaves(inner, (*prefix, str(key))))
        return out
    return {prefix: value}


def _with_leaf(value: Any, path: Path, leaf: Any) -> Any:
    if not path:
        return leaf
    return {**value, path[0]: _with_leaf(value[path[0]], path[1:], leaf)}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parameter_name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", path[-1] if path else "value").strip("_").lower() or "value"
    if base[0].isdigit():
        base = "p_" + base
    base = base[:60]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _word(value: Any) -> str | None:
    """The text form a value takes in prose, when it is specific enough to substitute (>= 2 chars)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text if len(text) >= 2 else None


def _pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)


def generalise(text: str, values: dict[str, Any]) -> str:
    """Replace each parameter's value (whole words, longest first) by ``{name}``."""
    pairs = [(w, name) for name, v in values.items() if (w := _word(v))]
    for word, name in sorted(pairs, key=lambda p: -len(p[0])):
        text = _pattern(word).sub("{" + name + "}", text)
    return text


def first_sentence(text: str, limit: int = MAX_EXPECTED_CHARS) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", text)
    sentence = text[: match.start()] if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split()).rstrip(" .;:,")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" .;:,") or text[:limit]


class LocalDistiller:
    """Rules R1-R5 (module docstring). Pure: the same runs always give the same procedure."""

    def distill(self, runs: Sequence[Trajectory]) -> DistilledProcedure | None:
        if not runs:
            return None
        ref = runs[0]
        same = [r for r in runs if tool_sequence(r) == tool_sequence(ref)]
        tool_steps = [[s for s in r.steps if s.tool] for r in same]
        # R2: arguments that vary between runs; R3: constant arguments that the task mentions.
        slots: list[tuple[int, Path, list[Any]]] = []
        for i in range(len(tool_steps[0])):
            per_run = [leaves(steps[i].arguments or {}) for steps in tool_steps]
            for path in per_run[0]:
                if not path:
                    continue
                vals = [leaves.get(path, _MISSING) for leaves in per_run]
                varies = len({_canonical(v) for v in vals}) > 1
                word = _word(vals[0])
                in_task = word is not None and all(_pattern(word).search(r.task) for r in same)
                if varies or in_task:
                    slots.append((i, path, vals))
        names: dict[str, str] = {}  # canonical values across runs -> parameter name
        examples: dict[str, list[Any]] = {}
        slot_names: dict[tuple[int, Path], str] = {}
        for i, path, vals in slots:
            key = _canonical(vals)
            if key not in names:
                names[key] = parameter_name(path, set(names.values()))
                examples[names[key]] = vals
            slot_names[(i, path)] = names[key]
        run_values = [{name: vals[r] for name, vals in examples.items()} for r in range(len(same))]

        def args_of(i: int, arguments: dict[str, Any] | None) -> dict[str, Any] | None:
            if arguments is None:
                return None
            out = arguments
            for (si, path), name in slot_names.items():
                if si == i and path in leaves(out):
                    out = _with_leaf(out, path, "{" + name + "}")
            return out

        steps: list[Step] = []
        tool_index = 0
        for step in ref.steps:
            if step.tool:
                steps.append(self._tool_step(step, tool_index, same, tool_steps, run_values, args_of))
                tool_index += 1
            elif step.thought and step.thought.strip():  # a blank thought ("\r") is no instruction
                steps.append(Step(instruction=generalise(step.thought, run_values[0])[:2000]))
        if not steps:
            return None
        task = generalise(ref.task, run_values[0])
        parameters = [
            Parameter(
                name=name,
                description="e.g. " + ", ".join(dict.fromkeys(str(v) for v in vals if v != _MISSING))[:480]
                if any(v != _MISSING for v in vals)
                else None,
                required=all(v != _MISSING for v in vals),
            )
            for name, vals in examples.items()
        ]
        trajectory_ids, event_ids = provenance_of(same)
        return DistilledProcedure(
            name=_cut(task, MAX_NAME_CHARS),
            description=f"Use for tasks like: {_cut(task, 1800)}.",
            kind=ProcedureKind.WORKFLOW if len(steps) > 1 else ProcedureKind.SKILL,
            steps=steps,
            parameters=parameters,
            trajectory_ids=trajectory_ids,
            event_ids=event_ids,
        )

    @staticmethod
    def _tool_step(
        step: TrajectoryStep,
        i: int,
        runs: Sequence[Trajectory],
        tool_steps: list[list[TrajectoryStep]],
        run_values: list[dict[str, Any]],
        args_of: Any,
    ) -> Step:
        assert step.tool is not None
        blank = not (step.thought and step.thought.strip())  # a blank thought ("\r") is no instruction
        instruction = f"Call `{step.tool}`" if blank else generalise(step.thought or "", run_values[0])
        observed = [
            first_sentence(generalise(obs, run_values[r])) if (obs := steps[i].observation) else None
            for r, steps in enumerate(tool_steps)
        ]
        expected = observed[0] if observed[0] and len(set(observed)) == 1 else None
        return Step(
            instruction=instruction[:2000], tool=step.tool, arguments=args_of(i, step.arguments), expected=expected
        )
