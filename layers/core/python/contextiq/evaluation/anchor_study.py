"""How well event anchors resolve, per confidence threshold (chooses ``ANCHOR_MIN_CONFIDENCE``).

    .venv/bin/python -m contextiq.evaluation.anchor_study                 # dev splits 20241202-4
    .venv/bin/python -m contextiq.evaluation.anchor_study --seeds 20241201

For every question of the multi-session set with an event anchor (``services/query_anchors.find_anchor``),
the conversation's turns are ranked by the embedded index's BM25 (``stores/vector/bm25.py`` over the
keyword analyser's tokens: what recall's keyword anchor lookup runs) and the top
:data:`~contextiq.services.query_anchors.ANCHOR_CANDIDATES` resolved at each threshold. A resolution is
*right* when all the question's evidence turns but the anchor turn itself fall inside the window it
gives. *Unsaid* anchors are the same questions with the anchor phrase swapped for one of another
conversation whose content words (folded, as the confidence reads them) no turn of this conversation holds
all of: resolving one of those is a false anchor. No server, no embeddings: the numbers depend only on the
generator and the analyser.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

from contextiq.evaluation.multisession import MultiSessionConversation, generate_multisession
from contextiq.models.sessions import Event
from contextiq.services.query_anchors import ANCHOR_CANDIDATES, Anchor, content_words, find_anchor, resolve
from contextiq.stores.vector.bm25 import Bm25Index
from contextiq.stores.vector.text import tokenize

THRESHOLDS = (0.0, 0.25, 0.5, 0.6, 0.66, 0.7, 0.75, 0.8, 1.0)
DEV_SEEDS = (20241202, 20241203, 20241204)


@dataclass
class Row:
    said: int = 0
    resolved: int = 0
    right: int = 0
    unsaid: int = 0
    false_anchors: int = 0


@dataclass
class Study:
    rows: dict[float, Row] = field(default_factory=lambda: {t: Row() for t in THRESHOLDS})


def _events(conv: MultiSessionConversation) -> list[Event]:
    return [
        Event(id=t.turn_id, session_id=t.turn_id.rsplit("/", 1)[0], seq=n, author=t.author, role=t.role,
              content={"text": t.text}, timestamp=t.timestamp, metadata={})
        for n, t in enumerate(conv.turns)
    ]  # fmt: skip


def _candidates(index: Bm25Index, events: list[Event], phrase: str) -> list[Event]:
    scores = index.scores(tokenize(phrase))
    if scores is None:
        return []
    order = np.argsort(-scores, kind="stable")[:ANCHOR_CANDIDATES]
    return [events[i] for i in order if scores[i] > 0]


def study(conversations: list[MultiSessionConversation]) -> Study:
    out = Study()
    anchors: list[tuple[str, Anchor]] = []
    for conv in conversations:
        for q in conv.questions:
            found = find_anchor(q.question)
            if found is not None:
                anchors.append((conv.conversation_id, found))
    for conv in conversations:
        events = _events(conv)
        index = Bm25Index()
        index.add(0, [tokenize(e.content["text"]) for e in events])
        said_words = [content_words(e.content["text"]) for e in events]
        when = {e.id: e.timestamp for e in events}
        for q in conv.questions:
            anchor = find_anchor(q.question)
            if anchor is None:
                continue
            unsaid = next(
                (a for cid, a in anchors if cid != conv.conversation_id and a.relation == anchor.relation
                 and not any(a.words <= words for words in said_words)),
                None,
            )  # fmt: skip
            for threshold, row in out.rows.items():
                row.said += 1
                got = resolve(anchor, _candidates(index, events, anchor.phrase), threshold)
                if got is not None:
                    row.resolved += 1
                    answer = [e for e in q.evidence if e != got.event.id]  # the anchor turn itself can be evidence
                    row.right += all(got.window.contains(when[e]) for e in answer)
                if unsaid is not None:
                    row.unsaid += 1
                    found_unsaid = resolve(unsaid, _candidates(index, events, unsaid.phrase), threshold)
                    row.false_anchors += found_unsaid is not None
    return out


def table(result: Study) -> str:
    lines = [
        "| threshold | anchored questions | resolved | evidence in the window | unsaid anchors | resolved (false) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t, r in result.rows.items():
        lines.append(f"| {t:.2f} | {r.said} | {r.resolved} | {r.right} | {r.unsaid} | {r.false_anchors} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEV_SEEDS))
    args = parser.parse_args(argv)
    conversations = [c for seed in args.seeds for c in generate_multisession(seed=seed)]
    print(table(study(conversations)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
