"""Text analysis shared by the embedded BM25 and mirrored by the OpenSearch mapping.

The OpenSearch index analyses ``fact`` with the ``standard`` analyzer and ``STOPWORDS`` as its explicit
stop-word list; this tokenizer approximates it (Unicode words, lowercased, apostrophes kept inside words) and
uses the same stop words (Lucene's English list plus a few words every memory carries), so keyword
matches agree between the embedded index and OpenSearch.
"""

from __future__ import annotations

import re

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, which is what OpenSearch's "_english_" expands to.
# fmt: off
ENGLISH_STOPWORDS = frozenset(
    {
     "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
     "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
     "this", "to", "was", "will", "with",
    }
)
# fmt: on

# Words every memory fact carries ("The user ...", the canonical form extraction writes): they say nothing
# about which fact is meant, yet a query like "what does the user eat?" would match all of them on
# "user", and max-normalised keyword scores would lift an unrelated fact above the right one.
MEMORY_STOPWORDS = frozenset({"user", "user's", "users", "users'"})
STOPWORDS = ENGLISH_STOPWORDS | MEMORY_STOPWORDS

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens without stop words, in order (duplicates kept)."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOPWORDS]
