"""Distillation: successful trajectories of one task -> one reusable procedure, behind a small interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from contextiq.ai.extractors.base import ModelUsage
from contextiq.models.procedures import Parameter, ProcedureKind, Step
from contextiq.models.trajectories import Trajectory


@dataclass(frozen=True)
class DistilledProcedure:
    name: str
    description: str
    kind: ProcedureKind
    steps: list[Step]
    parameters: list[Parameter]
    trajectory_ids: tuple[str, ...]
    event_ids: tuple[str, ...] = ()
    usage: ModelUsage = field(default_factory=ModelUsage)


class Distiller(Protocol):
    def distill(self, runs: Sequence[Trajectory]) -> DistilledProcedure | None:
        """One procedure from successful runs of one task (same tool sequence), or None when the runs
        hold nothing to reuse (no tool call and no thought)."""
        ...


def tool_sequence(trajectory: Trajectory) -> tuple[str, ...]:
    return tuple(s.tool for s in trajectory.steps if s.tool)


def provenance_of(runs: Sequence[Trajectory]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(trajectory ids, event ids) of ``runs``, in order, without repeats."""
    trajectory_ids = tuple(dict.fromkeys(r.id for r in runs))
    event_ids = tuple(
        dict.fromkeys(e for r in runs for e in [*r.event_ids, *(x for s in r.steps for x in s.event_ids)])
    )
    return trajectory_ids, event_ids
