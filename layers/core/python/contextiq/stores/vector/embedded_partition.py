"""One partition of the embedded index: every row of one (tenant, kind, scope_key), searched in numpy.

A partition keeps one contiguous float32 matrix (append-only; an update appends a new row and marks the
old one dead) plus numpy arrays for liveness, versions, expiry and event time, posting lists for topics
and attribute terms (``attrs.py``), per-key number arrays for range filters, and an incremental BM25
index (``bm25.py``). Dead rows are masked out; the owner rebuilds a partition once a quarter of its rows
are dead. Searches are vectorised: one matrix-vector product for cosine, a few posting-list gathers for
BM25 and filters, ``argpartition`` for the top k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from contextiq.stores.vector.attrs import term
from contextiq.stores.vector.base import Condition, Scalar
from contextiq.stores.vector.bm25 import Bm25Index, GrowableArray
from contextiq.stores.vector.fusion import Scored
from contextiq.stores.vector.text import tokenize

NO_EXPIRY = np.iinfo(np.int64).max
NO_TIME = np.iinfo(np.int64).min  # no event_time: never matches an after/before filter


@dataclass
class Doc:
    """One document to append to a partition."""

    doc_id: str
    text: str
    topics: tuple[str, ...]
    version: int
    expire_at: int | None
    vector: np.ndarray
    event_time: int | None = None
    attrs: Mapping[str, tuple[Scalar, ...]] = field(default_factory=dict)


class Partition:
    """All rows of one (tenant, kind, scope_key)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        cap = 16
        self.vectors = np.zeros((cap, dim), dtype=np.float32)
        self.alive = np.zeros(cap, dtype=bool)
        self.expire = np.full(cap, NO_EXPIRY, dtype=np.int64)
        self.version = np.zeros(cap, dtype=np.int64)
        self.etime = np.full(cap, NO_TIME, dtype=np.int64)
        self.n = 0
        self.dead = 0
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.topics: list[tuple[str, ...]] = []
        self.attrs: list[Mapping[str, tuple[Scalar, ...]]] = []
        self.row_of: dict[str, int] = {}
        self.topic_rows: dict[str, GrowableArray] = {}
        self.term_rows: dict[str, GrowableArray] = {}
        self.num_rows: dict[str, GrowableArray] = {}
        self.num_vals: dict[str, GrowableArray] = {}
        self.bm25 = Bm25Index()

    @property
    def live(self) -> int:
        return self.n - self.dead

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = self.vectors.shape[0]
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)

        def grow(arr: np.ndarray, fill: object) -> np.ndarray:
            out = np.full((new_cap, *arr.shape[1:]), fill, dtype=arr.dtype)
            out[: self.n] = arr[: self.n]
            return out

        self.vectors = grow(self.vectors, 0.0)
        self.alive = grow(self.alive, False)
        self.expire = grow(self.expire, NO_EXPIRY)
        self.version = grow(self.version, 0)
        self.etime = grow(self.etime, NO_TIME)

    @staticmethod
    def _post(index: dict[str, GrowableArray], key: str, value: float, dtype: type = np.int32) -> None:
        values = index.get(key)
        if values is None:
            values = index[key] = GrowableArray(dtype, 4)
        values.append(value)

    def append(self, docs: Sequence[Doc], vectors: np.ndarray | None = None) -> None:
        """Append rows; ``vectors`` (n, dim) may be given pre-stacked instead of per-doc."""
        if not docs:
            return
        block = np.asarray(vectors if vectors is not None else np.stack([d.vector for d in docs]), np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = (block / np.where(norms > 0, norms, np.float32(1.0))).astype(np.float32, copy=False)
        self._reserve(len(docs))
        start = self.n
        end = start + len(docs)
        self.vectors[start:end] = block
        self.alive[start:end] = True
        self.expire[start:end] = [NO_EXPIRY if d.expire_at is None else d.expire_at for d in docs]
        self.version[start:end] = [d.version for d in docs]
        self.etime[start:end] = [NO_TIME if d.event_time is None else d.event_time for d in docs]
        for offset, d in enumerate(docs):
            row = start + offset
            self.ids.append(d.doc_id)
            self.texts.append(d.text)
            self.topics.append(d.topics)
            self.attrs.append(d.attrs)
            self.row_of[d.doc_id] = row
            for topic in set(d.topics):
                self._post(self.topic_rows, topic, row)
            for key, values in d.attrs.items():
                for value in set(values):
                    self._post(self.term_rows, term(key, value), row)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        self._post(self.num_rows, key, row)
                        self._post(self.num_vals, key, float(value), np.float64)
        self.bm25.add(start, [tokenize(d.text) for d in docs])
        self.n = end

    def kill(self, doc_id: str) -> bool:
        row = self.row_of.pop(doc_id, None)
        if row is None:
            return False
        self.alive[row] = False
        self.bm25.remove(tokenize(self.texts[row]))
        self.dead += 1
        return True

    def needs_compaction(self) -> bool:
        return self.dead >= 64 and self.dead * 4 >= self.n

    def live_rows(self) -> np.ndarray:
        return np.flatnonzero(self.alive[: self.n])

    def doc(self, row: int) -> Doc:
        return Doc(
            self.ids[row],
            self.texts[row],
            self.topics[row],
            int(self.version[row]),
            None if self.expire[row] == NO_EXPIRY else int(self.expire[row]),
            self.vectors[row],
            None if self.etime[row] == NO_TIME else int(self.etime[row]),
            self.attrs[row],
        )

    def compacted(self) -> Partition:
        rows = self.live_rows()
        fresh = Partition(self.dim)
        fresh.append([self.doc(r) for r in rows.tolist()], vectors=self.vectors[rows])
        return fresh

    # -- search ------------------------------------------------------------------------------------

    def _rows_mask(self, rows: np.ndarray | None) -> np.ndarray:
        wanted = np.zeros(self.n, dtype=bool)
        if rows is not None and rows.size:
            wanted[rows] = True
        return wanted

    def _condition(self, cond: Condition) -> np.ndarray:
        if cond.is_range:
            rows = self.num_rows.get(cond.key)
            if rows is None:
                return np.zeros(self.n, dtype=bool)
            vals = self.num_vals[cond.key].view()
            keep = np.ones(vals.shape[0], dtype=bool)
            if cond.gte is not None:
                keep &= vals >= cond.gte
            if cond.lte is not None:
                keep &= vals <= cond.lte
            return self._rows_mask(rows.view()[keep])
        wanted = np.zeros(self.n, dtype=bool)
        for value in cond.values:
            posting = self.term_rows.get(term(cond.key, value))
            if posting is not None:
                wanted[posting.view()] = True
        return wanted

    def mask(
        self,
        now: int,
        topics: Sequence[str],
        after: int | None = None,
        before: int | None = None,
        filters: Sequence[Condition] = (),
    ) -> np.ndarray:
        n = self.n
        mask = self.alive[:n] & (self.expire[:n] > now)
        if topics:
            wanted = np.zeros(n, dtype=bool)
            for topic in set(topics):
                rows = self.topic_rows.get(topic)
                if rows is not None:
                    wanted[rows.view()] = True
            mask &= wanted
        if after is not None or before is not None:
            etime = self.etime[:n]
            mask &= etime != NO_TIME
            if after is not None:
                mask &= etime >= after
            if before is not None:
                mask &= etime < before
        for cond in filters:
            mask &= self._condition(cond)
        return mask

    def _top(self, scores: np.ndarray, mask: np.ndarray, limit: int) -> list[Scored]:
        cand = np.flatnonzero(mask)
        if cand.size == 0 or limit <= 0:
            return []
        vals = scores[cand]
        if cand.size > limit:
            part = np.argpartition(-vals, limit - 1)[:limit]
            cand, vals = cand[part], vals[part]
        order = np.argsort(-vals, kind="stable")
        return [
            Scored(self.ids[r], float(s), int(self.version[r]))
            for r, s in zip(cand[order].tolist(), vals[order].tolist(), strict=True)
        ]

    def semantic(self, query: np.ndarray, mask: np.ndarray, limit: int) -> list[Scored]:
        if self.n == 0:
            return []
        cos = self.vectors[: self.n] @ query
        scores = np.clip((1.0 + cos) * 0.5, 0.0, 1.0)  # fusion.cosine_to_score, vectorised
        return self._top(scores, mask, limit)

    def keyword(self, tokens: Sequence[str], mask: np.ndarray, limit: int, coverage: bool = False) -> list[Scored]:
        scores = self.bm25.scores(tokens, coverage=coverage)
        if scores is None:
            return []
        return self._top(scores, mask & (scores > 0), limit)
