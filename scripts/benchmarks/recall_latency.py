"""Recall latency at scale: one user's scope with N events and M memories, MiniLM query embedding included.

    python scripts/benchmarks/recall_latency.py                 # 100k events + 20k memories, 100 queries
    python scripts/benchmarks/recall_latency.py --events 10000 --memories 2000 --queries 50

Measures ``RecallService.recall`` end to end in process: MiniLM ``embed_query`` once, hybrid search of
the memories and of the events in the embedded index, re-reading the hits, reciprocal rank fusion and
provenance de-duplication. The re-reads go to in-memory repositories (dict lookups) instead of DynamoDB:
moto is not representative of DynamoDB latency, and in the cloud the index is OpenSearch anyway; what
this measures is the local engine's work per recall. Documents: a pool of ``--base`` distinct synthetic
sentences embedded with MiniLM; every document mixes two pool vectors plus noise (as search.py does), so
vectors and BM25 statistics keep a realistic spread without embedding 120k sentences.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines on stdout
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "layers" / "core" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "layers" / "core" / "python"))

import numpy as np  # noqa: E402

from contextiq.ai.embedders.minilm import MiniLMEmbedder  # noqa: E402
from contextiq.ids import epoch_ms  # noqa: E402
from contextiq.models.memories import Memory  # noqa: E402
from contextiq.models.recall import EventSearchRequest, RecallRequest  # noqa: E402
from contextiq.models.sessions import Event, Session  # noqa: E402
from contextiq.services.episodes import EpisodeService  # noqa: E402
from contextiq.services.memories import MemoryService  # noqa: E402
from contextiq.services.recall import RecallService  # noqa: E402
from contextiq.stores.dynamo.memories import StoredMemory  # noqa: E402
from contextiq.stores.vector.documents import event_document, memory_document  # noqa: E402
from contextiq.stores.vector.embedded import EmbeddedVectorIndex  # noqa: E402
from contextiq.stores.vector.factory import index_info_for  # noqa: E402

TENANT, USER = "bench", "u-bench"
SCOPE = {"user_id": USER}
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_SUBJ = ["I", "My sister", "Our team", "My dentist", "The landlord", "My son", "Grandma", "The coach"]
_VERB = ["booked", "cancelled", "loved", "moved to", "visited", "complained about", "paid for", "started"]
_OBJ = ["a trip to Lisbon", "the pottery class", "a flat in Berlin", "sushi in Osaka", "the chess club",
        "a new bike", "the jazz festival", "a Rust course", "the garden project", "tickets to Lima"]  # fmt: skip
_WHEN = ["last week", "yesterday", "in March", "on Friday", "this morning", "two years ago", "", ""]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)} {rng.choice(_WHEN)}".strip()


class Repo:
    """In-memory stand-ins for the memories and sessions tables."""

    def __init__(self) -> None:
        self.memories: dict[str, StoredMemory] = {}
        self.events: dict[tuple[str, int], Event] = {}
        self.sessions: dict[str, Session] = {}

    def get_many(self, tenant: str, ids: Any) -> dict[str, StoredMemory]:
        return {i: self.memories[i] for i in ids if i in self.memories}

    def get_events(self, tenant: str, keys: Any) -> dict[tuple[str, int], Event]:
        return {k: self.events[k] for k in keys if k in self.events}

    def get_sessions(self, tenant: str, ids: Any, *, now: datetime) -> dict[str, Session]:
        return {i: self.sessions[i] for i in ids if i in self.sessions}


def build(
    n_events: int, n_memories: int, base: int, path: Path
) -> tuple[RecallService, EpisodeService, MiniLMEmbedder, float]:
    rng = random.Random(7)
    embedder = MiniLMEmbedder()
    pool_text = [sentence(rng) for _ in range(base)]
    pool = np.asarray(embedder.embed(pool_text), dtype=np.float32)
    nprng = np.random.default_rng(7)

    def mixed(n: int) -> tuple[list[str], np.ndarray]:
        a, b = nprng.integers(0, base, n), nprng.integers(0, base, n)
        w = nprng.uniform(0.65, 0.95, (n, 1)).astype(np.float32)
        v = w * pool[a] + (1 - w) * pool[b] + nprng.normal(0, 0.02, (n, pool.shape[1])).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        texts = [f"{pool_text[i]} {' '.join(pool_text[j].split()[-2:])}" for i, j in zip(a, b, strict=True)]
        return texts, v

    repo = Repo()
    index = EmbeddedVectorIndex(path, fsync=False, lock=False)
    index.ensure(index_info_for(embedder))
    start = time.perf_counter()
    sessions = max(1, n_events // 20)
    for s in range(sessions):
        sid = f"s{s:06d}"
        repo.sessions[sid] = Session(id=sid, user_id=USER, app_name=None, state={}, metadata={}, create_time=T0,
                                     update_time=T0, version=1)  # fmt: skip
    texts, vectors = mixed(n_events)
    docs = []
    for i, (text, vec) in enumerate(zip(texts, vectors, strict=True)):
        sid, seq = f"s{i // 20:06d}", i % 20 + 1
        when = T0 + timedelta(minutes=i)
        repo.events[(sid, seq)] = Event(id=f"e{i:07d}", session_id=sid, seq=seq, author="user", role=None,
                                        content={"text": text}, timestamp=when, metadata={})  # fmt: skip
        docs.append(event_document(TENANT, USER, None, sid, seq, "user", text, epoch_ms(when), vec, None))
        if len(docs) == 2000:
            index.upsert(docs)
            docs = []
    index.upsert(docs)
    texts, vectors = mixed(n_memories)
    docs = []
    for i, (text, vec) in enumerate(zip(texts, vectors, strict=True)):
        m = Memory(id=f"m{i:07d}", scope=SCOPE, fact=text, topics=[], metadata={}, create_time=T0, update_time=T0,
                   event_time=T0 + timedelta(minutes=i), version=1)  # fmt: skip
        stored = StoredMemory(TENANT, m, vec.tolist(), embedder.model_id)
        repo.memories[m.id] = stored
        docs.append(memory_document(stored))
        if len(docs) == 2000:
            index.upsert(docs)
            docs = []
    index.upsert(docs)
    build_s = time.perf_counter() - start
    memories = MemoryService(repo, embedder, index)  # type: ignore[arg-type]
    episodes = EpisodeService(repo, embedder, index)
    return RecallService(memories, episodes), episodes, embedder, build_s


def _ms(samples: list[float]) -> tuple[float, float]:
    return round(statistics.median(samples), 1), round(statistics.quantiles(samples, n=20)[18], 1)


def run(n_events: int = 100_000, n_memories: int = 20_000, queries: int = 100, base: int = 2000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        service, episodes, embedder, build_s = build(n_events, n_memories, base, Path(tmp) / "index")
        rng = random.Random(11)
        asks = [f"What did {rng.choice(_SUBJ).lower()} say about {rng.choice(_OBJ)}?" for _ in range(queries)]
        for q in asks[:5]:  # warm-up
            service.recall(TENANT, RecallRequest(scope=SCOPE, query=q))
        total, embed, events = [], [], []
        for q in asks:
            t = time.perf_counter()
            embedder.embed_query(q)
            embed.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            service.recall(TENANT, RecallRequest(scope=SCOPE, query=q))
            total.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()  # POST /v1/events/search's work: embed, hybrid search, re-read
            episodes.search(TENANT, EventSearchRequest(user_id=USER, query=q))
            events.append((time.perf_counter() - t) * 1000)
    (p50, p95), (e50, e95) = _ms(total), _ms(events)
    return {
        "events": n_events, "memories": n_memories, "queries": queries, "build_s": round(build_s, 1),
        "p50_ms": p50, "p95_ms": p95, "events_p50_ms": e50, "events_p95_ms": e95,
        "embed_p50_ms": round(statistics.median(embed), 1),
    }  # fmt: skip


def report(**kwargs: Any) -> str:
    r = run(**kwargs)
    return "\n".join(
        [
            "### Recall and event search latency at scale (one user's scope, MiniLM query embedding included)",
            "",
            "In process, the embedded index built directly (no HTTP load); hits re-read from in-memory "
            "repositories (see the script's docstring). Target: recall p95 <= 60 ms at 100k events + 20k "
            "memories. Shared 2-core machine: absolute times are noisy.",
            "",
            "| events | memories | queries | recall p50 / p95 ms | events search p50 / p95 ms "
            "| embed_query p50 ms | build s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {r['events']:,} | {r['memories']:,} | {r['queries']} | {r['p50_ms']} / {r['p95_ms']} | "
            f"{r['events_p50_ms']} / {r['events_p95_ms']} | {r['embed_p50_ms']} | {r['build_s']} |",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    print(report(n_events=args.events, n_memories=args.memories, queries=args.queries))
