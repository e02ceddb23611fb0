"""Search latency of the embedded vector index: one scope of N memories, MiniLM query embeddings.

    python scripts/benchmarks/search.py                       # 1k, 10k, 100k memories, 200 queries
    python scripts/benchmarks/search.py --sizes 1000 10000 --queries 100 --json out.json

For every size it reports search latency (p50/p95, ms) per mode with the query embedding excluded,
and for hybrid (the default mode) also with it included (MiniLM ``embed_query`` + search, what the
API does), the time to build the index (every upsert fsync'd to the write-ahead log), the time to
re-open it from disk, and the process RSS.

Stored memories: synthetic facts from templates. The 1k size embeds every fact with MiniLM. Larger
sizes embed a pool of ``--base`` distinct facts and derive the rest: each derived memory mixes two pool
vectors (weights 0.65-0.95 / rest) plus small Gaussian noise, renormalised, with text = the first fact
plus two words of the second, so vectors and BM25 statistics keep a realistic spread without
embedding 100k sentences (about 5 minutes at 340/s). Queries are generated questions in the same
domain, embedded for real.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One BLAS thread (set before numpy loads OpenBLAS): the matrix-vector product is memory-bound, and
# spinning BLAS threads fight torch for the 2 cores (see docs/search.md, "Threads").
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "layers" / "core" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "layers" / "core" / "python"))

import numpy as np  # noqa: E402

from contextiq.ai.embedders.minilm import MiniLMEmbedder  # noqa: E402
from contextiq.stores.vector.base import IndexedMemory, IndexInfo, SearchQuery  # noqa: E402
from contextiq.stores.vector.embedded import EmbeddedVectorIndex  # noqa: E402

TENANT = "bench"
SCOPE = "user:bench"
MODES = ("hybrid", "semantic", "keyword")

_NAMES = ["Alice", "Bob", "Chen", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Luca"]
_CITIES = ["Lisbon", "Berlin", "Tokyo", "Austin", "Nairobi", "Oslo", "Lima", "Seoul", "Dublin", "Porto"]
_FOODS = ["sushi", "tacos", "ramen", "falafel", "pho", "paella", "curry", "pasta", "dumplings", "salad"]
_HOBBIES = ["chess", "climbing", "pottery", "sailing", "running", "painting", "gardening", "cycling", "jazz"]
_TOOLS = ["Python", "Rust", "Go", "TypeScript", "Terraform", "Kubernetes", "PostgreSQL", "React", "Java"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ALLERGENS = ["peanuts", "shellfish", "gluten", "lactose", "cats", "pollen", "penicillin"]

_FACT_TEMPLATES = [
    "The user lives in {city} with {name}.",
    "The user is allergic to {allergen}.",
    "The user's favourite food is {food}, especially on {day}s.",
    "The user practises {hobby} every {day}.",
    "The user works mostly in {tool} and wants to learn {tool2}.",
    "The user's sister {name} moved to {city} last year.",
    "The user prefers meetings before noon on {day}.",
    "The user avoids {food} because of {allergen}.",
    "The user's flight to {city} leaves on {day}.",
    "The user asked for code reviews in {tool} to be short.",
    "The user has a dog named {name} who likes {hobby}.",
    "The user's manager is {name}, based in {city}.",
    "The user is vegetarian and dislikes {food}.",
    "The user deploys {tool} services to {city} region.",
    "The user took up {hobby} after moving to {city}.",
]
_QUERY_TEMPLATES = [
    "where does the user live?",
    "what is the user allergic to?",
    "what food does the user like?",
    "what does the user do on {day}?",
    "which programming language does the user use?",
    "who is {name}?",
    "when is the user's flight to {city}?",
    "does the user eat {food}?",
    "what hobbies does the user have?",
    "who is the user's manager?",
    "what should I know before booking a meeting?",
    "is the user vegetarian?",
    "does the user know {tool}?",
    "what happened in {city}?",
]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        city=rng.choice(_CITIES),
        name=rng.choice(_NAMES),
        food=rng.choice(_FOODS),
        hobby=rng.choice(_HOBBIES),
        tool=rng.choice(_TOOLS),
        tool2=rng.choice(_TOOLS),
        day=rng.choice(_DAYS),
        allergen=rng.choice(_ALLERGENS),
    )


def synthetic_facts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [_fill(rng.choice(_FACT_TEMPLATES), rng) for _ in range(n)]


def synthetic_queries(n: int, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    return [_fill(rng.choice(_QUERY_TEMPLATES), rng) for _ in range(n)]


def corpus(size: int, embedder: MiniLMEmbedder, base: int, seed: int = 3) -> tuple[list[str], np.ndarray]:
    """``size`` facts and unit float32 vectors (embedded for real up to ``base``, derived beyond)."""
    if size <= base:
        facts = synthetic_facts(size)
        return facts, embedder.encode(facts)
    pool_facts = synthetic_facts(base)
    pool = embedder.encode(pool_facts)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, base, size)
    b = rng.integers(0, base, size)
    w = rng.uniform(0.65, 0.95, size).astype(np.float32)[:, None]
    vectors = w * pool[a] + (1 - w) * pool[b] + rng.normal(0, 0.01, (size, pool.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    facts = []
    for i in range(size):
        extra = pool_facts[b[i]].rstrip(".").split()[-2:]
        facts.append(f"{pool_facts[a[i]]} {' '.join(extra)} #{i}")
    return facts, vectors.astype(np.float32)


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1000.0
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def run(
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
    queries: int = 200,
    base: int = 3_000,
    top_k: int = 10,
    workdir: Path | None = None,
) -> dict[str, Any]:
    embedder = MiniLMEmbedder()
    t0 = time.perf_counter()
    embedder.warm_up()
    load_s = time.perf_counter() - t0
    query_texts = synthetic_queries(queries)
    query_vectors = embedder.encode(query_texts)
    info = IndexInfo(embedder.model_id, embedder.dimensions)
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="ciq-bench-"))
    results: list[dict[str, Any]] = []
    try:
        for size in sizes:
            facts, vectors = corpus(size, embedder, base)
            path = root / f"index-{size}"
            shutil.rmtree(path, ignore_errors=True)
            rss_before = rss_mb()
            index = EmbeddedVectorIndex(path)
            index.ensure(info)
            t0 = time.perf_counter()
            for start in range(0, size, 1000):
                index.upsert(
                    [
                        IndexedMemory(TENANT, f"m{i:07d}", SCOPE, facts[i], (), vectors[i], 1)
                        for i in range(start, min(size, start + 1000))
                    ]
                )
            build_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            index.close()  # snapshot
            close_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            index = EmbeddedVectorIndex(path)
            reopen_s = time.perf_counter() - t0
            rss_after = rss_mb()
            row: dict[str, Any] = {
                "size": size,
                "derived_vectors": size > base,
                "build_s": round(build_s, 2),
                "snapshot_s": round(close_s, 2),
                "reopen_s": round(reopen_s, 2),
                "rss_mb": round(rss_after, 1),
                "rss_delta_mb": round(rss_after - rss_before, 1),
                "disk_mb": round(sum(f.stat().st_size for f in path.iterdir()) / 2**20, 1),
            }
            for mode in MODES:
                timings = []
                for i in range(queries + 10):
                    qi = i % queries
                    vec = None if mode == "keyword" else query_vectors[qi]
                    query = SearchQuery(TENANT, SCOPE, query_texts[qi], vec, top_k=top_k, mode=mode)  # type: ignore[arg-type]
                    t0 = time.perf_counter()
                    index.search(query)
                    if i >= 10:  # the first ones warm caches
                        timings.append(time.perf_counter() - t0)
                row[f"{mode}_p50_ms"], row[f"{mode}_p95_ms"] = _percentiles(timings)
            timings = []
            for i in range(queries + 10):
                qi = i % queries
                t0 = time.perf_counter()
                vec = embedder.embed_query(query_texts[qi])
                index.search(SearchQuery(TENANT, SCOPE, query_texts[qi], vec, top_k=top_k))
                if i >= 10:
                    timings.append(time.perf_counter() - t0)
            row["hybrid_with_embedding_p50_ms"], row["hybrid_with_embedding_p95_ms"] = _percentiles(timings)
            index.close()
            results.append(row)
            del facts, vectors, index
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "rows": results,
        "queries": queries,
        "top_k": top_k,
        "base_embedded": base,
        "model_load_s": round(load_s, 2),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "numpy": np.__version__,
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
    }


def to_markdown(result: dict[str, Any]) -> str:
    head = (
        "| memories | hybrid p50 / p95 | semantic p50 / p95 | keyword p50 / p95 | hybrid + embedding p50 / p95 "
        "| build | snapshot | reopen | RSS (delta) | disk |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in result["rows"]:
        size = f"{r['size']:,}" + (" *" if r["derived_vectors"] else "")
        lines.append(
            f"| {size} "
            f"| {r['hybrid_p50_ms']:.1f} / {r['hybrid_p95_ms']:.1f} ms "
            f"| {r['semantic_p50_ms']:.1f} / {r['semantic_p95_ms']:.1f} ms "
            f"| {r['keyword_p50_ms']:.1f} / {r['keyword_p95_ms']:.1f} ms "
            f"| {r['hybrid_with_embedding_p50_ms']:.1f} / {r['hybrid_with_embedding_p95_ms']:.1f} ms "
            f"| {r['build_s']:.2f} s | {r['snapshot_s']:.2f} s | {r['reopen_s']:.2f} s "
            f"| {r['rss_mb']:.0f} MB ({r['rss_delta_mb']:+.0f}) | {r['disk_mb']:.0f} MB |"
        )
    note = (
        f"\n{result['queries']} queries, top_k={result['top_k']}, one scope; * = vectors derived from "
        f"{result['base_embedded']:,} embedded facts. {result['machine']['cpus']} CPUs, "
        f"Python {result['machine']['python']}, numpy {result['machine']['numpy']}.\n"
    )
    return head + "\n".join(lines) + "\n" + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--base", type=int, default=3_000, help="facts embedded for real before deriving")
    parser.add_argument("--json", type=Path, help="also write the raw result here")
    args = parser.parse_args(argv)
    result = run(tuple(args.sizes), args.queries, base=args.base)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
