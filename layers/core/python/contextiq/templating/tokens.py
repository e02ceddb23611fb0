"""A tokenizer-free token estimate: fast, deterministic and on the safe (high) side.

Context assembly must keep a prompt under ``max_tokens`` without knowing which model reads it, and
without loading a tokenizer in the Lambda. The estimate counts what subword tokenizers (BPE, WordPiece)
split text into: each run of letters or digits costs one token per started ``WORD_CHARS`` characters
(common words are one token, long or rare words split into pieces), and every other visible character
(punctuation, symbols, emoji) costs one token. Whitespace is free (BPE folds it into the next word).

How close it is to real tokenizers (MiniLM WordPiece and cl100k_base) is measured on the repo's own texts
by ``scripts/bench.py --only context`` (docs/context.md, docs/benchmarks.md): on whole prompts it is 1.3-1.5x
the real count and never under it, so a budget in estimated tokens is a budget in real tokens too.
"""

from __future__ import annotations

import re

WORD_CHARS = 4
_PIECE = re.compile(r"[^\W_]+|[^\w\s]|_", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text`` (0 for empty or whitespace-only text)."""
    total = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        if piece[0].isalnum():
            total += -(-len(piece) // WORD_CHARS)
        else:
            total += 1
    return total
