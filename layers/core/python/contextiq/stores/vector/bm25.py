"""An incrementally updatable BM25 index over numpy postings (one per embedded-index partition).

Rows are appended in batches and never rewritten; removing a row only updates the statistics
(document frequency, live count, total length), and the caller masks dead rows out of the scores.
The owner compacts (rebuilds) the index once enough rows are dead.

Scoring follows Lucene's ``BM25Similarity`` (what OpenSearch uses):
``idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl))`` with ``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``,
summed over the query terms (a term repeated in the query counts once per occurrence, like a
``match`` query). Statistics are per partition (one tenant + scope), not per shard as in OpenSearch,
so absolute BM25 values differ between the two adapters while the ranking behaviour is the same.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

K1 = 1.2
B = 0.75


class GrowableArray:
    """A 1-D numpy array with amortised O(1) appends."""

    __slots__ = ("_data", "_size")

    def __init__(self, dtype: type | np.dtype, capacity: int = 8) -> None:
        self._data = np.empty(max(1, capacity), dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def extend(self, values: np.ndarray | Sequence[float] | Sequence[int]) -> None:
        arr = np.asarray(values, dtype=self._data.dtype)
        need = self._size + arr.shape[0]
        if need > self._data.shape[0]:
            grown = np.empty(max(need, 2 * self._data.shape[0]), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = arr
        self._size = need

    def append(self, value: float | int) -> None:
        self.extend([value])

    def view(self) -> np.ndarray:
        return self._data[: self._size]


class Bm25Index:
    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1 = k1
        self.b = b
        self._vocab: dict[str, int] = {}
        self._post_rows: list[GrowableArray] = []
        self._post_tfs: list[GrowableArray] = []
        self._df: list[int] = []
        self._doc_len = GrowableArray(np.float32, 1024)
        self._n_alive = 0
        self._total_len = 0

    @property
    def n_rows(self) -> int:
        return len(self._doc_len)

    @property
    def n_alive(self) -> int:
        return self._n_alive

    def add(self, first_row: int, token_lists: Sequence[Sequence[str]]) -> None:
        """Index rows ``first_row ..`` (must continue the row sequence) with their tokens."""
        if first_row != self.n_rows:
            raise ValueError(f"rows must be appended in order: expected {self.n_rows}, got {first_row}")
        rows_by_term: dict[int, list[int]] = defaultdict(list)
        tfs_by_term: dict[int, list[int]] = defaultdict(list)
        lengths = []
        for offset, tokens in enumerate(token_lists):
            row = first_row + offset
            lengths.append(len(tokens))
            for term, tf in Counter(tokens).items():
                tid = self._vocab.get(term)
                if tid is None:
                    tid = len(self._vocab)
                    self._vocab[term] = tid
                    self._post_rows.append(GrowableArray(np.int32, 4))
                    self._post_tfs.append(GrowableArray(np.float32, 4))
                    self._df.append(0)
                rows_by_term[tid].append(row)
                tfs_by_term[tid].append(tf)
        for tid, rows in rows_by_term.items():
            self._post_rows[tid].extend(rows)
            self._post_tfs[tid].extend(tfs_by_term[tid])
            self._df[tid] += len(rows)
        self._doc_len.extend(lengths)
        self._n_alive += len(token_lists)
        self._total_len += sum(lengths)

    def remove(self, tokens: Sequence[str]) -> None:
        """Take a (previously added, still live) row's tokens out of the statistics."""
        for term in set(tokens):
            tid = self._vocab.get(term)
            if tid is not None:
                self._df[tid] -= 1
        self._n_alive -= 1
        self._total_len -= len(tokens)

    def scores(self, query_tokens: Sequence[str], *, coverage: bool = False) -> np.ndarray | None:
        """Dense BM25 scores for every row (dead rows included: mask them), or None if no term matches.

        ``coverage``: BM25 with k1 = 0 and b = 0, i.e. the summed idf of the query terms a row contains,
        whatever their frequency or the row's length (what hybrid fusion uses, see fusion.py).
        """
        if self._n_alive <= 0:
            return None
        counts = Counter(t for t in query_tokens if t in self._vocab)
        if not counts:
            return None
        n = self._n_alive
        avgdl = max(self._total_len / n, 1e-9)
        doc_len = self._doc_len.view()
        out = np.zeros(self.n_rows, dtype=np.float32)
        matched = False
        for term, qtf in counts.items():
            tid = self._vocab[term]
            df = self._df[tid]
            if df <= 0:
                continue
            rows = self._post_rows[tid].view()
            tf = self._post_tfs[tid].view()
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            # rows are unique within one posting list, so fancy-index += is safe here
            if coverage:
                out[rows] += np.float32(qtf * idf)
                matched = True
                continue
            norm = self.k1 * (1.0 - self.b + self.b * (doc_len[rows] / avgdl))
            out[rows] += np.float32(qtf * idf) * (tf / (tf + norm))
            matched = True
        return out if matched else None
