"""Procedural memory: procedure search latency at 1k and 10k procedures, distillation time per trajectory,
and "task -> right procedure in the top 3" on the generated evaluation set.

    python scripts/benchmarks/procedures.py

Search: one scope of N procedures in the embedded index, as ProcedureService indexes them (name,
description and steps as text; kind/status as the one topic; hybrid search filtered to active ones).
Procedure texts come from the evaluation's task kinds with random values and step subsets; 1k are
embedded with MiniLM, 10k mix two of those vectors plus noise (as scripts/benchmarks/search.py does).
Latency excludes the query embedding (reported separately) and the DynamoDB re-read of the hits.
Distillation: the local distiller on groups of three runs (pure CPU), and the whole learning job
(submit -> SUCCEEDED through the queue, worker, distiller, consolidation, index) per trajectory.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "layers" / "core" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "layers" / "core" / "python"))

import numpy as np  # noqa: E402

from contextiq.ai.distillers.local import LocalDistiller  # noqa: E402
from contextiq.ai.embedders.minilm import MiniLMEmbedder  # noqa: E402
from contextiq.evaluation.procedures import KINDS, _fill, trajectories_for  # noqa: E402
from contextiq.ids import utcnow  # noqa: E402
from contextiq.models.memories import scope_key  # noqa: E402
from contextiq.models.trajectories import Trajectory, TrajectoryStep  # noqa: E402
from contextiq.services.procedure_projection import procedure_filters  # noqa: E402
from contextiq.stores.vector.base import IndexedMemory, IndexInfo, SearchQuery  # noqa: E402
from contextiq.stores.vector.embedded import EmbeddedVectorIndex  # noqa: E402

TENANT = "bench"
SCOPE = {"user_id": "bench"}


def procedure_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        kind = rng.choice(KINDS)
        values = {slot: rng.choice(pool) for slot, pool in kind.values.items()}
        steps = [s for s in kind.steps if rng.random() < 0.8] or list(kind.steps[:1])
        lines = [_fill(kind.task, values), "Use for tasks like: " + _fill(kind.task, values)]
        lines += [f"{_fill(thought, values)} ({tool})" for thought, tool, _, _ in steps]
        texts.append("\n".join(lines))
    return texts


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def search_latency(embedder: MiniLMEmbedder, sizes: tuple[int, ...] = (1000, 10_000), queries: int = 200) -> dict:
    base_texts = procedure_texts(1000)
    base = np.asarray(embedder.embed(base_texts), dtype=np.float32)
    rng = np.random.default_rng(4)
    qrng = random.Random(5)
    query_texts = [_fill(qrng.choice(k.queries), {s: qrng.choice(p) for s, p in k.values.items()}) for k in KINDS]
    query_texts = [query_texts[i % len(query_texts)] for i in range(queries)]
    t0 = time.perf_counter()
    query_vectors = [embedder.embed_query(q) for q in query_texts]
    embed_ms = (time.perf_counter() - t0) * 1000 / len(query_texts)
    out: dict = {"embed_query_ms": embed_ms, "sizes": {}}
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench-proc-"))
        index = EmbeddedVectorIndex(tmp / "index", fsync=False)
        index.ensure(IndexInfo(embedder.model_id, embedder.dimensions))
        docs = []
        for i in range(size):
            if i < len(base):
                vec = base[i]
            else:
                a, b = rng.integers(0, len(base), 2)
                w = float(rng.uniform(0.65, 0.95))
                noise = np.asarray(rng.normal(0, 0.02, base.shape[1]), dtype=np.float32)
                vec = w * base[a] + (1 - w) * base[b] + noise
                vec /= np.linalg.norm(vec)
            docs.append(
                IndexedMemory(
                    tenant=TENANT,
                    memory_id=f"p{i:06d}",
                    scope_key=scope_key(SCOPE),
                    fact=base_texts[i % len(base_texts)],
                    topics=(),
                    vector=vec.tolist(),
                    version=1,
                    attrs={"procedure_kind": ("workflow",), "status": ("deprecated" if i % 10 == 0 else "active",)},
                    kind="procedure",
                )
            )
        for start in range(0, len(docs), 500):
            index.upsert(docs[start : start + 500])
        times = []
        for text, vec in zip(query_texts, query_vectors, strict=True):
            t = time.perf_counter()
            index.search(
                SearchQuery(
                    tenant=TENANT,
                    scope_key=scope_key(SCOPE),
                    text=text,
                    vector=vec,
                    top_k=20,
                    mode="hybrid",
                    filters=procedure_filters(["workflow", "skill"], ["active"]),
                    now=int(time.time()),
                    kind="procedure",
                )
            )
            times.append((time.perf_counter() - t) * 1000)
        index.close()
        shutil.rmtree(tmp, ignore_errors=True)
        out["sizes"][size] = _percentiles(times)
    return out


def distill_time(groups: int = 200) -> float:
    """Median ms per trajectory of the local distiller on groups of three runs."""
    rng = random.Random(6)
    per_trajectory = []
    distiller = LocalDistiller()
    for g in range(groups):
        kind = KINDS[g % len(KINDS)]
        runs = [
            Trajectory(
                id=f"t{g}-{n}",
                scope=SCOPE,
                task=t.task,
                steps=[TrajectoryStep(**s.model_dump()) for s in t.steps or []],
                outcome=t.outcome,
                metadata={},
                create_time=utcnow(),
            )
            for n, t in enumerate(trajectories_for(kind, rng))
        ]
        start = time.perf_counter()
        distiller.distill(runs)
        per_trajectory.append((time.perf_counter() - start) * 1000 / len(runs))
    return statistics.median(per_trajectory)


def report() -> str:
    from contextiq.evaluation.procedures import run_procedure_eval
    from contextiq.local.inprocess import in_process_stack

    embedder = MiniLMEmbedder()
    latency = search_latency(embedder)
    rule_ms = distill_time()
    with tempfile.TemporaryDirectory() as tmp, in_process_stack(Path(tmp), embedder="minilm") as (c, drain):
        ev = run_procedure_eval(c, drain)
    job_ms = statistics.median(ev.distill_seconds) * 1000
    rows = [f"| {size:,} | {p50:.1f} | {p95:.1f} |" for size, (p50, p95) in latency["sizes"].items()]
    return "\n".join(
        [
            "### Procedural memory (embedded index, MiniLM, local distiller)",
            "",
            "Procedure search, hybrid, active procedures of one scope, top 20 fetched (what a top_k 5 search",
            "asks the index for); query embedding excluded (MiniLM `embed_query`: "
            f"{latency['embed_query_ms']:.1f} ms median per query):",
            "",
            "| procedures | p50 ms | p95 ms |",
            "| --- | --- | --- |",
            *rows,
            "",
            f"- distillation, local rules, groups of 3 runs: **{rule_ms:.2f} ms per trajectory** (median)",
            f"- a whole learning job (submit → SUCCEEDED: queue, worker, distiller, consolidation, index, moto "
            f"in process): **{job_ms:.0f} ms per trajectory** (median of {len(ev.distill_seconds)} jobs of 3 runs)",
            "",
            "Task → right procedure (`contextiq.evaluation.procedures`, generated by the repo, paraphrased requests",
            "with fresh values):",
            "",
            ev.to_markdown(),
        ]
    )


if __name__ == "__main__":
    print(report())
