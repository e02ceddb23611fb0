"""The keyword analyzer: possessives, punctuation, case, stop words, a plural-only stemmer; and that the
embedded tokenizer agrees with the analysis chain the OpenSearch mapping declares (run by the fake)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contextiq.stores.vector.base import IndexInfo
from contextiq.stores.vector.opensearch_bodies import TEXT_ANALYZER, index_body
from contextiq.stores.vector.text import minimal_stem, strip_possessive, tokenize
from tests.contract.fake_opensearch import FakeOpenSearchServer, _field_analyzer


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Who is Fatima Moreau's employer?", ["who", "fatima", "moreau", "employer"]),
        ("FATIMA MOREAU’S favourite dishes", ["fatima", "moreau", "favourite", "dishe"]),
        ("trips, cities; buses... glasses!", ["trip", "city", "buse", "glasse"]),
        ("She doesn't like the user's dogs", ["she", "doesn't", "like", "dog"]),
        ("e-mail: bob@example.com (2022)", ["e", "mail", "bob", "example.com", "2022"]),
        ("The user and the users", []),
        ("1,000 km at 3.14; then 1, 2", ["1,000", "km", "3.14", "1", "2"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("word", "stem"),
    [("trips", "trip"), ("cities", "city"), ("days", "day"), ("series", "sery"), ("shoes", "shoes"),
     ("bus", "bus"), ("glass", "glass"), ("is", "is"), ("news", "new"), ("queries", "query"), ("toes", "toes")],
)  # fmt: skip
def test_minimal_stem_follows_lucene(word: str, stem: str) -> None:
    assert minimal_stem(word) == stem


def test_strip_possessive_only_strips_a_final_apostrophe_s() -> None:
    assert [strip_possessive(w) for w in ["Moreau's", "Moreau’S", "Moreau＇s", "it's", "'s", "s", "Moreaus"]] == [
        "Moreau", "Moreau", "Moreau", "it", "", "s", "Moreaus",
    ]  # fmt: skip


def _opensearch_analyzer():  # type: ignore[no-untyped-def]
    server = FakeOpenSearchServer()
    server.handle("PUT", "/t", {}, __import__("json").dumps(index_body(IndexInfo("m", 4))).encode())
    idx = server.indices["t"]
    assert idx.properties["fact"]["analyzer"] == TEXT_ANALYZER
    return _field_analyzer(idx, "fact")


_ANALYZE = _opensearch_analyzer()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcsieoyuAS '’＇.,!?-_0123456789\n")), max_size=60))
def test_embedded_tokens_match_the_declared_opensearch_chain(text: str) -> None:
    assert tokenize(text) == _ANALYZE(text)
