"""Learning procedures from trajectories: group, distil, consolidate (ADD / UPDATE / NOOP), pitfalls.

    POST /v1/procedures/generate -> job PENDING -> procedure-learning queue (FIFO, group = tenant + scope)
    worker: trajectories (or a session turned into one) -> ProcedureLearner -> job SUCCEEDED with counts

The learner (docs/procedures.md, "Learning"):

* L1 grouping: successful runs (oldest first) with the same tool sequence whose tasks are similar
  (cosine >= ``GROUP_COSINE``, each task compared with its own argument values masked, so runs that
  differ only in their literal values compare equal) form one group: one task done several times.
* L2 distillation: each group -> one candidate procedure (the distiller: rules locally, Bedrock in the cloud).
* L3 matching: the candidate matches an existing procedure of the scope (deprecated ones included) when
  their texts are similar (search score >= ``MATCH_SCORE``) and, when both use tools, their tool sets
  overlap (Jaccard >= ``MATCH_TOOL_OVERLAP``).
* L4 decision: no match -> ADD (the id is derived from job and group, so a redelivered job finds it);
  a match that already lists every run of the group in its provenance, or has the same shape (tools,
  argument names, instructions of tool-less steps, parameter names) -> NOOP; otherwise UPDATE: the
  newer steps and parameters replace the old (a new revision; the window of outcomes restarts, which
  revives a procedure the rule had deprecated), provenance merged.
* L5 failures: a failed run that matches a procedure (compared as the local rules generalise it, so its
  literal values do not count) adds a pitfall note (once per trajectory): the outcome's feedback, else
  the last observation and the step it came from.
  ``partial`` runs teach nothing and are counted unchanged.

Every write carries provenance (trajectory ids, event ids) and the actor ``job:<id>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ulid import ULID

from contextiq.ai.distillers.base import DistilledProcedure, Distiller, tool_sequence
from contextiq.ai.distillers.local import LocalDistiller, generalise, leaves
from contextiq.ai.embedders.base import Embedder
from contextiq.errors import ConflictError, NotFoundError
from contextiq.models.procedures import Procedure, ProcedureCreate, ProcedurePatch, Provenance
from contextiq.models.trajectories import Trajectory
from contextiq.observability import count, logger
from contextiq.services.procedures import ProcedureService

GROUP_COSINE = 0.6
MATCH_SCORE = 0.8  # (1 + cos) / 2, i.e. cosine >= 0.6
MATCH_TOOL_OVERLAP = 0.5


def derived_id(job_id: str, group: int) -> str:
    """A ULID that is the same every time one group of one job is added (a replay finds it)."""
    timestamp_ms = ULID.from_str(job_id).milliseconds
    digest = hashlib.blake2b(f"{job_id}|procedure|{group}".encode(), digest_size=10).digest()
    return str(ULID(timestamp_ms.to_bytes(6, "big") + digest))


@dataclass
class LearningResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    procedure_ids: list[str] = field(default_factory=list)

    def touched(self, procedure_id: str) -> None:
        if procedure_id not in self.procedure_ids:
            self.procedure_ids.append(procedure_id)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def shape(steps: Sequence[object], parameters: Sequence[object]) -> tuple[object, ...]:
    """What makes two procedures the same procedure for learning (L4)."""
    return (
        tuple(
            (s.tool, tuple(sorted((s.arguments or {}).keys())), None if s.tool else s.instruction)  # type: ignore[attr-defined]
            for s in steps
        ),
        tuple(sorted(p.name for p in parameters)),  # type: ignore[attr-defined]
    )


def candidate_text(cand: DistilledProcedure) -> str:
    """What a candidate is compared by: the text search indexes for a procedure."""
    return f"{cand.name}\n{cand.description}\n" + "\n".join(
        s.instruction + (f" ({s.tool})" if s.tool else "") for s in cand.steps
    )


def masked_task(run: Trajectory) -> str:
    """The task with the run's own argument values (whole words) replaced by ``{value}``."""
    values = {
        f"v{n}": value for n, value in enumerate(v for s in run.steps for v in leaves(s.arguments or {}).values())
    }
    return re.sub(r"\{v\d+\}", "{value}", generalise(run.task, values))


class ProcedureLearner:
    def __init__(self, procedures: ProcedureService, embedder: Embedder, distiller: Distiller) -> None:
        self._procedures = procedures
        self._embedder = embedder
        self._distiller = distiller

    def group(self, runs: Sequence[Trajectory]) -> list[list[Trajectory]]:
        """L1: same tool sequence and similar tasks."""
        ordered = sorted(runs, key=lambda r: (r.create_time, r.id))
        vectors = self._embedder.embed([masked_task(r) for r in ordered]) if ordered else []
        groups: list[tuple[list[float], list[Trajectory]]] = []
        for run, vector in zip(ordered, vectors, strict=True):
            for head, members in groups:
                if tool_sequence(members[0]) == tool_sequence(run) and _cosine(head, vector) >= GROUP_COSINE:
                    members.append(run)
                    break
            else:
                groups.append((vector, [run]))
        return [members for _, members in groups]

    def match(self, tenant: str, scope: dict[str, str], text: str, tools: set[str]) -> Procedure | None:
        """L3: the existing procedure this candidate (or failed run) is about, if any."""
        for procedure, score in self._procedures.similar(tenant, scope, text, top_k=5):
            if score < MATCH_SCORE:
                break
            theirs = {s.tool for s in procedure.steps if s.tool}
            if not tools or not theirs or _jaccard(tools, theirs) >= MATCH_TOOL_OVERLAP:
                return procedure
        return None

    def learn(self, tenant: str, scope: dict[str, str], runs: Sequence[Trajectory], job_id: str) -> LearningResult:
        result = LearningResult()
        actor = f"job:{job_id}"
        successes = [r for r in runs if r.outcome.status == "success"]
        for number, group in enumerate(self.group(successes)):
            candidate = self._distiller.distill(group)
            if candidate is None:
                result.unchanged += 1
                continue
            self._consolidate(tenant, scope, candidate, derived_id(job_id, number), actor, result)
        for run in runs:
            if run.outcome.status == "failure":
                self._pitfall(tenant, scope, run, actor, result)
            elif run.outcome.status == "partial":
                result.unchanged += 1
        return result

    def _consolidate(
        self,
        tenant: str,
        scope: dict[str, str],
        cand: DistilledProcedure,
        new_id: str,
        actor: str,
        result: LearningResult,
    ) -> None:
        provenance = Provenance(trajectory_ids=list(cand.trajectory_ids), event_ids=list(cand.event_ids))
        with contextlib.suppress(NotFoundError):  # a redelivered job: this group's ADD already happened
            self._procedures.get(tenant, new_id)
            result.added += 1
            result.touched(new_id)
            return
        existing = self.match(tenant, scope, candidate_text(cand), {s.tool for s in cand.steps if s.tool})
        if existing is None:
            with contextlib.suppress(ConflictError):
                self._procedures.create(
                    tenant,
                    ProcedureCreate(
                        scope=scope,
                        kind=cand.kind,
                        name=cand.name,
                        description=cand.description,
                        steps=cand.steps,
                        parameters=cand.parameters,
                    ),
                    actor,
                    provenance,
                    procedure_id=new_id,
                    reason=f"learned from {len(cand.trajectory_ids)} successful run(s)",
                )
            count("ProceduresLearned")
            result.added += 1
            result.touched(new_id)
            return
        known = set(existing.provenance.trajectory_ids)
        if set(cand.trajectory_ids) <= known or shape(existing.steps, existing.parameters) == shape(
            cand.steps, cand.parameters
        ):
            result.unchanged += 1
            return
        self._procedures.refine(
            tenant,
            existing.id,
            ProcedurePatch(steps=cand.steps, parameters=cand.parameters),
            provenance,
            actor,
            reason=f"refined from {len(cand.trajectory_ids)} newer successful run(s)",
        )
        result.updated += 1
        result.touched(existing.id)

    def _pitfall(self, tenant: str, scope: dict[str, str], run: Trajectory, actor: str, result: LearningResult) -> None:
        shaped = LocalDistiller().distill([run])  # the run generalised by the rules, to compare like with like
        text = candidate_text(shaped) if shaped else run.task
        existing = self.match(tenant, scope, text, {s.tool for s in run.steps if s.tool})
        if existing is None:
            result.unchanged += 1
            return
        if run.outcome.feedback:
            note = f"A run failed: {run.outcome.feedback}"
        else:
            last = next((i for i in range(len(run.steps) - 1, -1, -1) if run.steps[i].observation), None)
            if last is None:
                note = f"A run of this task failed: {run.task}"
            else:
                step = run.steps[last]
                where = f"step {last + 1}" + (f" ({step.tool})" if step.tool else "")
                note = f"A run failed at {where}: {step.observation}"
        if self._procedures.add_pitfall(tenant, existing.id, note, run.id, actor):
            result.updated += 1
            result.touched(existing.id)
        else:
            result.unchanged += 1
        logger.info("pitfall", extra={"procedure_id": existing.id, "trajectory_id": run.id})
