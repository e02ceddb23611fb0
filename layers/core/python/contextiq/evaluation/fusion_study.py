"""Choosing recall's fusion on a development split and measuring it on a held-out one.

``scripts/eval_recall.py --pools FILE`` records, per question, the two candidate pools recall fuses (the
memories and the events the server returns for the question, ``pool_size(k)`` each) and the BM25
baseline's top k. Here every :class:`~contextiq.services.recall_fusion.Fusion` of a small grid is
replayed on those pools with the server's own :func:`~contextiq.services.recall_fusion.fuse` (same
date window, same de-duplication), so a fusion is judged without ingesting the set again.

Selection rule (fixed before looking at the held-out split): on the development split, keep the fusions
whose any@k and all@k are, in every question kind, at least those of the better single source (memories
or events) less :data:`TOLERANCE`; among them take the highest mean of any@k and all@k over the kinds.
If none qualifies, take the smallest worst-kind shortfall. The held-out split is only reported.

    .venv/bin/python -m contextiq.evaluation.fusion_study HELDOUT.json --dev DEV1.json --dev DEV2.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contextiq.evaluation.multisession import QuestionKind
from contextiq.ids import utcnow
from contextiq.models.memories import Memory
from contextiq.models.sessions import Event
from contextiq.services.query_dates import query_window
from contextiq.services.recall_fusion import DEFAULT_FUSION, Candidate, Fusion, fuse

#: A fusion may trail the better single source by this much in a kind (one question in ~40) and qualify.
TOLERANCE = 0.025
#: What recall fused with before this study: plain RRF, k = 60, equal weights.
PREVIOUS = Fusion("rrf", 60, 1.0, support=False)
KINDS = [k.value for k in QuestionKind]


def grid() -> list[Fusion]:
    fusions = [
        Fusion("rrf", k, w, support)
        for k in (2, 5, 20, 60)
        for w in (0.25, 0.5, 0.75, 1.0)
        for support in (False, True)
    ]
    fusions += [Fusion("score", 60, w, support) for w in (0.8, 0.9, 0.95, 1.0, 1.05, 1.1) for support in (False, True)]
    fusions += [Fusion("minmax", 60, w, support) for w in (0.5, 0.75, 1.0) for support in (False, True)]
    return fusions


@dataclass(frozen=True)
class Question:
    kind: str
    phrasing: str
    wanted: frozenset[str]
    memories: tuple[Candidate, ...]
    events: tuple[Candidate, ...]
    bm25: tuple[frozenset[str], ...]
    question: str


def load(path: Path) -> list[Question]:
    data = json.loads(path.read_text())
    out = []
    for q in data["questions"]:
        memories = tuple(
            Candidate("memory", "m:" + r["memory"]["id"], r["score"], memory=Memory.model_validate(r["memory"]))
            for r in q["memories"]
        )
        events = tuple(
            Candidate("event", "e:" + r["event"]["id"], r["score"], event=Event.model_validate(r["event"]))
            for r in q["events"]
        )
        bm25 = tuple(frozenset(r) for r in q["bm25"])
        out.append(Question(q["kind"], q["phrasing"], frozenset(q["wanted"]), memories, events, bm25, q["question"]))
    return out


def reach(c: Candidate) -> set[str]:
    if c.event is not None:
        return {c.event.id}
    assert c.memory is not None
    return set(c.memory.source.event_ids) if c.memory.source else set()


Scores = dict[str, tuple[float, float]]  # kind -> (any@k, all@k)


def score(questions: Sequence[Question], reached: Iterable[list[set[str]]]) -> Scores:
    hits: dict[str, list[tuple[bool, bool]]] = {}
    for q, got in zip(questions, reached, strict=True):
        found = set().union(*got) & q.wanted if got else set()
        hits.setdefault(q.kind, []).append((bool(found), found == q.wanted))
    return {kind: (sum(a for a, _ in h) / len(h), sum(b for _, b in h) / len(h)) for kind, h in hits.items()} | {
        "all": _overall(hits)
    }


def _overall(hits: dict[str, list[tuple[bool, bool]]]) -> tuple[float, float]:
    flat = [h for rows in hits.values() for h in rows]
    return sum(a for a, _ in flat) / len(flat), sum(b for _, b in flat) / len(flat)


def retrievers(questions: Sequence[Question], k: int, fusion: Fusion, now: datetime) -> dict[str, Scores]:
    def fused(q: Question, f: Fusion) -> list[set[str]]:
        return [reach(c) for c in fuse(q.memories, q.events, query_window(q.question, now), k, f)]

    return {
        "memories": score(questions, ([reach(c) for c in q.memories[:k]] for q in questions)),
        "events": score(questions, ([reach(c) for c in q.events[:k]] for q in questions)),
        "recall (before)": score(questions, (fused(q, PREVIOUS) for q in questions)),
        "recall": score(questions, (fused(q, fusion) for q in questions)),
        "bm25": score(questions, ([set(r) for r in q.bm25] for q in questions)),
    }


def shortfall(table: dict[str, Scores]) -> float:
    """How far recall trails the better single source in its worst kind and metric (<= 0: never)."""
    gaps = [
        max(table[src][kind][i] for src in ("memories", "events")) - table["recall"][kind][i]
        for kind in KINDS
        for i in (0, 1)
    ]
    return max(gaps)


def choose(questions: Sequence[Question], k: int, now: datetime) -> tuple[Fusion, list[tuple[Fusion, float, float]]]:
    rows = []
    for f in grid():
        table = retrievers(questions, k, f, now)
        mean = sum(sum(table["recall"][kind]) / 2 for kind in KINDS) / len(KINDS)
        rows.append((f, mean, shortfall(table)))
    qualified = [r for r in rows if r[2] <= TOLERANCE]
    best = max(qualified, key=lambda r: r[1]) if qualified else min(rows, key=lambda r: r[2])
    return best[0], rows


def markdown(table: dict[str, Scores], counts: dict[str, int]) -> str:
    head = "| retriever | " + " | ".join(f"{kind} ({counts[kind]})" for kind in KINDS) + " | all |"
    lines = [head, "| --- |" + " --- |" * (len(KINDS) + 1)]
    for name, per_kind in table.items():
        cells = [f"{per_kind[kind][0]:.2f} / {per_kind[kind][1]:.2f}" for kind in [*KINDS, "all"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("heldout", type=Path, help="pools of the held-out split (eval_recall.py --pools)")
    parser.add_argument("--dev", type=Path, action="append", required=True, help="pools of a development split")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--grid", action="store_true", help="print every fusion's dev score")
    args = parser.parse_args(argv)
    now = utcnow()
    dev, heldout = [q for path in args.dev for q in load(path)], load(args.heldout)
    chosen, rows = choose(dev, args.k, now)
    if args.grid:
        for f, mean, gap in sorted(rows, key=lambda r: -r[1]):
            print(f"{f.label():32s} mean {mean:.3f} worst shortfall {gap:+.3f}")
    print(f"chosen on dev: {chosen.label()} (current default: {DEFAULT_FUSION.label()})\n")
    for name, questions in (("development", dev), ("held-out", heldout)):
        counts = {kind: sum(q.kind == kind for q in questions) for kind in KINDS}
        print(f"{name} split ({len(questions)} questions), any@{args.k} / all@{args.k}:\n")
        print(markdown(retrievers(questions, args.k, chosen, now), counts) + "\n")
    return 0


def as_json(table: dict[str, Scores]) -> dict[str, Any]:
    return {name: {kind: list(v) for kind, v in per_kind.items()} for name, per_kind in table.items()}


if __name__ == "__main__":
    sys.exit(main())
