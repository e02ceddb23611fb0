"""Text analysis of the embedded BM25, mirrored by the OpenSearch mapping (``opensearch_bodies.index_body``).

Both run the same chain, in Lucene's order (what ``EnglishAnalyzer`` does, with a lighter stemmer):

1. words: the ``standard`` tokenizer's UAX #29 rules, approximated: Unicode word characters, with
   apostrophes and full stops kept inside a word (``Moreau's``, ``don't``, ``example.com``) and commas
   inside numbers (``1,000``); other punctuation separates words;
2. possessives: a trailing ``'s`` / ``’s`` is removed (``possessive_english``: ``Moreau's`` -> ``Moreau``),
   so a question about "Fatima Moreau's employer" matches facts about "Fatima Moreau";
3. lowercase;
4. stop words: Lucene's English list plus the words every memory carries (below);
5. a light stemmer that folds plurals only (``minimal_english``, Lucene's ``EnglishMinimalStemmer``:
   ``trips`` -> ``trip``, ``cities`` -> ``city``): it never merges words of different meaning the way
   Porter does (``university``/``universe``), which matters when keyword evidence is fused with meaning.

Hand-written rather than a library: the point is to agree token for token with OpenSearch's analyzer, and
the two Lucene filters are a few lines each (ported from Lucene's ``EnglishPossessiveFilter`` and
``EnglishMinimalStemmer``).
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

# UAX #29 word boundaries, approximated: apostrophes and full stops join word characters ("doesn't",
# "example.com", "3.14"), a comma joins digits ("1,000"); everything else separates.
_WORD = re.compile(r"\w+(?:(?:['’＇.]|(?<=\d),(?=\d))\w+)*", re.UNICODE)
_APOSTROPHES = "'’＇"


# Function words a *query* may carry that say nothing about which document is meant: question words,
# auxiliaries, pronouns, determiners and prepositions (NLTK's English list, less the negations, plus a
# few question words). Dropped from the keyword side of hybrid event search's query only
# (``keyword_query_text``); documents keep them, so nothing needs re-indexing and keyword mode is
# unchanged. Raw turns are full of them ("What should I wear?", "Oh, how exciting!"), so a question such
# as "What is Liam allergic to?" matched every turn that asks "what" (docs/search.md).
# fmt: off
QUERY_FUNCTION_WORDS = frozenset(
    {
     "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
     "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
     "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "whose", "this", "that",
     "these", "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had",
     "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as",
     "until", "while", "of", "at", "by", "for", "with", "about", "against", "between", "into", "through",
     "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off",
     "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how",
     "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "only", "own", "same",
     "so", "than", "too", "very", "can", "will", "just", "should", "now", "would", "could", "might", "may",
     "must", "shall", "ever", "also", "much", "many", "kind", "sort",
    }
)
# fmt: on


def strip_possessive(word: str) -> str:
    """Lucene's EnglishPossessiveFilter: drop a trailing 's (any apostrophe, either case of s)."""
    if len(word) >= 2 and word[-2] in _APOSTROPHES and word[-1] in "sS":
        return word[:-2]
    return word


def minimal_stem(word: str) -> str:
    """Lucene's EnglishMinimalStemmer (plurals only) on a lowercased word."""
    n = len(word)
    if n < 3 or word[-1] != "s":
        return word
    before = word[-2]
    if before in ("u", "s"):
        return word
    if before == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in ("a", "e"):
            return word[:-3] + "y"
        if word[-3] in ("i", "a", "o", "e"):
            return word
    return word[:-1]


def keyword_query_text(text: str) -> str:
    """``text`` without its query function words (``QUERY_FUNCTION_WORDS``), as words joined by spaces:
    what hybrid event search sends to the keyword side, to both adapters alike (OpenSearch analyses it
    with the index's own analyzer, which finds the same words again)."""
    return " ".join(m for m in _WORD.findall(text) if strip_possessive(m).lower() not in QUERY_FUNCTION_WORDS)


def tokenize(text: str) -> list[str]:
    """Analysed tokens in order, duplicates kept (see the module docstring)."""
    out = []
    for match in _WORD.findall(text):
        word = strip_possessive(match).lower()
        if word and word not in STOPWORDS:
            out.append(minimal_stem(word))
    return out
