"""Choosing hybrid event search's fusion on development splits and checking it on the held-out one.

Event search fuses a semantic list and a keyword-coverage list (``stores/vector/fusion.py``). This study
replays that fusion for a grid of settings over the turns of the multi-session set, without the HTTP
stack or memory generation (event search needs neither): every turn of a user is embedded (MiniLM, as
the indexer does) into one :class:`~contextiq.stores.vector.embedded_partition.Partition`, the index's own
data structure, and each question is asked of it with the index's own candidate lists
(``hybrid_pool(k)`` semantic and keyword-coverage candidates) and the index's own
:func:`~contextiq.stores.vector.fusion.fuse`. What it prints per split is what ``POST /v1/events/search``
would answer, with ``mode`` semantic, keyword and hybrid under each setting.

Selection rule (docs/evaluation.md, the one recall's fusion was chosen by): on the development splits
(seeds 20241202-4), keep the settings whose any@k and all@k are, in every question kind, at least those
of the better component (semantic or keyword search) less :data:`TOLERANCE`; among them take the highest
mean of any@k and all@k over the kinds. The held-out split (seed 20241201) is only reported.

    .venv/bin/python -m contextiq.evaluation.event_fusion_study            # dev 20241202-4, held-out 20241201
    .venv/bin/python -m contextiq.evaluation.event_fusion_study --grid     # every setting's dev score
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contextiq.ai.embedders.base import Embedder
from contextiq.evaluation.multisession import DEFAULT_SEED, MultiSessionConversation, generate_multisession
from contextiq.stores.vector.embedded_partition import Doc, Partition
from contextiq.stores.vector.fusion import HybridFusion, Scored, fuse, hybrid_pool, keyword_terms

DEV_SEEDS = (20241202, 20241203, 20241204)
TOLERANCE = 0.025
KINDS = ("single_fact", "multi_hop", "temporal", "open_domain")


@dataclass(frozen=True)
class Asked:
    kind: str
    wanted: frozenset[str]
    semantic: tuple[Scored, ...]
    keyword: dict[bool, tuple[Scored, ...]]  # query function words dropped? -> coverage list
    bm25: tuple[Scored, ...]


class _Vectors:
    """MiniLM vectors of texts, cached in a ``.npz`` per seed (``--cache``) so reruns skip the model."""

    def __init__(self, embedder: Embedder, cache: Path | None) -> None:
        self._embedder = embedder
        self._cache = cache
        self._known: dict[str, np.ndarray] = {}
        if cache is not None and cache.exists():
            with np.load(cache) as data:
                self._known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, np.asarray(self._embedder.embed(missing), np.float32), strict=True))
        return np.stack([self._known[t] for t in texts])

    def save(self) -> None:
        if self._cache is not None:
            texts = list(self._known)
            np.savez(self._cache, texts=np.array(texts), vectors=np.stack([self._known[t] for t in texts]))


def _ask_all(convs: Sequence[MultiSessionConversation], vectors_of: _Vectors, k: int) -> list[Asked]:
    """Each question asked of its user's turns: the index's candidate lists, as event search makes them."""
    out: list[Asked] = []
    pool = hybrid_pool(k)
    for conv in convs:
        turns = conv.turns
        vectors = vectors_of([t.text for t in turns])
        part = Partition(vectors.shape[1])
        part.append([Doc(t.turn_id, t.text, (), 1, None, vectors[i]) for i, t in enumerate(turns)], vectors)
        mask = part.alive[: part.n].copy()
        queries = vectors_of([q.question for q in conv.questions])
        for q, qv in zip(conv.questions, queries, strict=True):
            qv = qv / np.linalg.norm(qv)
            keyword = {
                drop: tuple(part.keyword(keyword_terms(q.question, drop), mask, pool, coverage=True))
                for drop in (False, True)
            }
            bm25 = tuple(part.keyword(keyword_terms(q.question, False), mask, k))
            out.append(Asked(q.kind.value, frozenset(q.evidence), tuple(part.semantic(qv, mask, pool)), keyword, bm25))
    return out


Scores = dict[str, tuple[float, float]]


def _score(asked: Sequence[Asked], ranked: Sequence[Sequence[Scored]], k: int) -> Scores:
    hits: dict[str, list[tuple[bool, bool]]] = {}
    for a, got in zip(asked, ranked, strict=True):
        found = {h.memory_id for h in got[:k]} & a.wanted
        hits.setdefault(a.kind, []).append((bool(found), found == a.wanted))
    flat = [h for rows in hits.values() for h in rows]
    out = {kind: (sum(x for x, _ in h) / len(h), sum(y for _, y in h) / len(h)) for kind, h in hits.items()}
    out["all"] = (sum(x for x, _ in flat) / len(flat), sum(y for _, y in flat) / len(flat))
    return out


def settings() -> list[HybridFusion]:
    """The grid: keyword weight x normalisation x function words kept or dropped."""
    return [
        HybridFusion(w, norm, drop)
        for w in (0.05, 0.1, 0.2, 0.3, 0.5)
        for norm in ("max", "minmax")
        for drop in (False, True)
    ]


def tables(asked: Sequence[Asked], k: int, fusions: Sequence[HybridFusion]) -> dict[str, Scores]:
    out = {
        "semantic": _score(asked, [a.semantic for a in asked], k),
        "keyword (bm25)": _score(asked, [a.bm25 for a in asked], k),
    }
    for f in fusions:
        out[f.label()] = _score(asked, [fuse(a.semantic, a.keyword[f.drop_function_words], f) for a in asked], k)
    return out


def _mean(s: Scores) -> float:
    return sum(sum(s[kind]) / 2 for kind in KINDS) / len(KINDS)


def _shortfall(s: Scores, components: Sequence[Scores]) -> float:
    return max(max(c[kind][i] for c in components) - s[kind][i] for kind in KINDS for i in (0, 1))


def choose(
    table: dict[str, Scores], fusions: Sequence[HybridFusion]
) -> tuple[HybridFusion, list[tuple[str, float, float]]]:
    comps = [table["semantic"], table["keyword (bm25)"]]
    rows = [(f.label(), _mean(table[f.label()]), _shortfall(table[f.label()], comps)) for f in fusions]
    qualified = [(f, r) for f, r in zip(fusions, rows, strict=True) if r[2] <= TOLERANCE]
    if qualified:
        best = max(qualified, key=lambda t: t[1][1])[0]
    else:
        best = min(zip(fusions, rows, strict=True), key=lambda t: t[1][2])[0]
    return best, rows


def markdown(table: dict[str, Scores], names: Sequence[str], counts: dict[str, int]) -> str:
    head = "| event search | " + " | ".join(f"{kind} ({counts[kind]})" for kind in KINDS) + " | all |"
    lines = [head, "| --- |" + " --- |" * (len(KINDS) + 1)]
    for name in names:
        cells = [f"{table[name][kind][0]:.2f} / {table[name][kind][1]:.2f}" for kind in [*KINDS, "all"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from contextiq.ai.embedders.minilm import MiniLMEmbedder  # a lazy model: nothing loads until it embeds
    from contextiq.services.episodes import EVENT_FUSION
    from contextiq.stores.vector.fusion import DEFAULT_FUSION

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=int, action="append", help="development seeds (default 20241202-4)")
    parser.add_argument("--heldout", type=int, default=DEFAULT_SEED)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--grid", action="store_true", help="print every setting's dev score")
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=30, help="turns per session")
    parser.add_argument("--cache", type=Path, help="a directory for the turns' vectors (one .npz per seed)")
    args = parser.parse_args(argv)
    embedder = MiniLMEmbedder(threads=None)
    fusions = settings()

    def asked(seed: int) -> list[Asked]:
        if args.cache is not None:
            args.cache.mkdir(parents=True, exist_ok=True)
        vectors = _Vectors(embedder, args.cache / f"minilm-{seed}.npz" if args.cache else None)
        convs = generate_multisession(seed=seed, users=args.users, sessions=args.sessions, turns_per_session=args.turns)
        out = _ask_all(convs, vectors, args.k)
        vectors.save()
        return out

    dev = [a for seed in args.dev or DEV_SEEDS for a in asked(seed)]
    dev_table = tables(dev, args.k, fusions)
    chosen, rows = choose(dev_table, fusions)
    if args.grid:
        for label, mean, gap in sorted(rows, key=lambda r: -r[1]):
            print(f"{label:40s} mean {mean:.3f}  worst shortfall {gap:+.3f}  all {dev_table[label]['all']}")
    print(f"\nchosen on dev: {chosen.label()} (current: {EVENT_FUSION.label()}; memories: {DEFAULT_FUSION.label()})\n")
    heldout = asked(args.heldout)
    held_table = tables(heldout, args.k, [*fusions])
    names = ["semantic", "keyword (bm25)", EVENT_FUSION.label(), chosen.label()]
    names = list(dict.fromkeys(names))
    for title, questions, table in (("development", dev, dev_table), ("held-out", heldout, held_table)):
        counts = {kind: sum(a.kind == kind for a in questions) for kind in KINDS}
        print(f"{title} ({len(questions)} questions), any@{args.k} / all@{args.k}:\n")
        print(markdown(table, names, counts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
