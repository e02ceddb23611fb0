"""The VectorIndex contract: every test runs against the embedded index (for real, in a temp dir) and
the OpenSearch adapter (over an in-memory fake OpenSearch that checks request formats)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from contextiq.stores.vector.base import (
    Condition,
    HybridFusion,
    IndexInfo,
    IndexMismatchError,
    SearchQuery,
    VectorIndex,
)
from contextiq.stores.vector.fusion import cosine_to_score
from tests.contract.vector_contract_helpers import DIM, INFO, Backend, mem, unit

NOW = 1_750_000_000


def q(
    text: str = "",
    vector: list[float] | None = None,
    *,
    mode: str = "hybrid",
    tenant: str = "t1",
    scope: str = "user:u1",
    top_k: int = 10,
    min_score: float | None = None,
    topics: tuple[str, ...] = (),
    now: int = NOW,
    after: int | None = None,
    before: int | None = None,
    filters: tuple[Condition, ...] = (),
    kind: str = "memory",
) -> SearchQuery:
    return SearchQuery(
        tenant=tenant,
        scope_key=scope,
        text=text,
        vector=vector,
        top_k=top_k,
        mode=mode,  # type: ignore[arg-type]
        min_score=min_score,
        topics=topics,
        now=now,
        after=after,
        before=before,
        filters=filters,
        kind=kind,  # type: ignore[arg-type]
    )


def ids(hits: list) -> list[str]:
    return [h.memory_id for h in hits]


ALL_MODES = ["semantic", "keyword", "hybrid"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_upsert_then_search_finds_it(index: VectorIndex, mode: str) -> None:
    index.upsert([mem("m1", "The user is vegetarian", unit(1, 0.2), version=3)])
    hits = index.search(q("vegetarian", unit(1, 0.2), mode=mode))
    assert ids(hits) == ["m1"]
    assert hits[0].version == 3
    assert hits[0].score > 0


@pytest.mark.parametrize("mode", ALL_MODES)
def test_other_tenant_and_other_scope_never_returned(index: VectorIndex, mode: str) -> None:
    fact, vec = "The user lives in Lisbon", unit(1, 1)
    index.upsert(
        [
            mem("mine", fact, vec),
            mem("other-tenant", fact, vec, tenant="t2"),
            mem("other-scope", fact, vec, scope="user:u2"),
            mem("prefix-scope", fact, vec, scope="user:u1:agent:a"),
        ]
    )
    assert ids(index.search(q("Lisbon", vec, mode=mode))) == ["mine"]
    assert ids(index.search(q("Lisbon", vec, mode=mode, tenant="t2"))) == ["other-tenant"]
    assert ids(index.search(q("Lisbon", vec, mode=mode, scope="user:u2"))) == ["other-scope"]
    assert index.search(q("Lisbon", vec, mode=mode, tenant="t3")) == []
    assert index.search(q("Lisbon", vec, mode=mode, scope="user")) == []


def test_same_memory_id_in_two_tenants_is_two_documents(index: VectorIndex) -> None:
    index.upsert([mem("m1", "likes tea", unit(1)), mem("m1", "likes coffee", unit(0, 1), tenant="t2")])
    index.delete("t2", "m1", version=2)
    assert ids(index.search(q("likes", unit(1)))) == ["m1"]
    assert index.search(q("likes", unit(1), tenant="t2")) == []


@pytest.mark.parametrize("mode", ALL_MODES)
def test_delete_tombstones(index: VectorIndex, mode: str) -> None:
    index.upsert([mem("m1", "allergic to peanuts", unit(1), version=1), mem("m2", "allergic to cats", unit(1, 0.1))])
    index.delete("t1", "m1", version=2)
    assert ids(index.search(q("allergic", unit(1), mode=mode))) == ["m2"]


def test_stale_upsert_after_delete_does_not_resurrect(index: VectorIndex) -> None:
    index.upsert([mem("m1", "plays chess", unit(1), version=1)])
    index.delete("t1", "m1", version=2)
    index.upsert([mem("m1", "plays chess", unit(1), version=1)])  # late stream record
    index.upsert([mem("m1", "plays chess", unit(1), version=2)])  # same version as the tombstone
    assert index.search(q("chess", unit(1))) == []
    index.upsert([mem("m1", "plays chess again", unit(1), version=3)])  # a genuinely newer version
    hits = index.search(q("chess", unit(1)))
    assert ids(hits) == ["m1"]
    assert hits[0].version == 3


def test_delete_before_upsert_blocks_older_versions(index: VectorIndex) -> None:
    index.delete("t1", "m1", version=5)  # the REMOVE record overtook the INSERT
    index.upsert([mem("m1", "owns a boat", unit(1), version=4)])
    assert index.search(q("boat", unit(1))) == []


def test_stale_delete_is_ignored(index: VectorIndex) -> None:
    index.upsert([mem("m1", "speaks French", unit(1), version=3)])
    index.delete("t1", "m1", version=2)
    index.delete("t1", "m1", version=3)
    assert ids(index.search(q("French", unit(1)))) == ["m1"]


def test_repeated_upsert_is_idempotent(index: VectorIndex) -> None:
    doc = mem("m1", "works as a nurse", unit(1), version=2)
    for _ in range(3):
        index.upsert([doc])
    index.upsert([doc, doc])
    hits = index.search(q("nurse", unit(1)))
    assert ids(hits) == ["m1"]
    assert hits[0].version == 2


def test_out_of_order_versions_keep_the_newest(index: VectorIndex) -> None:
    index.upsert([mem("m1", "favourite colour is green", unit(0, 1), version=2)])
    index.upsert([mem("m1", "favourite colour is blue", unit(1), version=1)])
    assert index.search(q("blue", mode="keyword", vector=None)) == []
    hits = index.search(q("green", mode="keyword", vector=None))
    assert ids(hits) == ["m1"]
    assert hits[0].version == 2
    # the vector of v2 is the one searched
    sem = index.search(q("", unit(0, 1), mode="semantic"))
    assert sem[0].score == pytest.approx(1.0, abs=1e-5)


def test_newer_version_replaces_text_vector_and_topics(index: VectorIndex) -> None:
    index.upsert([mem("m1", "lives in Paris", unit(1), version=1, topics=("home",))])
    index.upsert([mem("m1", "lives in Berlin", unit(0, 1), version=2, topics=("travel",))])
    assert index.search(q("Paris", mode="keyword")) == []
    assert ids(index.search(q("Berlin", mode="keyword"))) == ["m1"]
    assert index.search(q("Berlin", unit(0, 1), topics=("home",))) == []
    assert ids(index.search(q("Berlin", unit(0, 1), topics=("travel",)))) == ["m1"]
    hits = index.search(q("", unit(0, 1), mode="semantic"))
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(hits) == 1


def test_in_batch_duplicates_keep_the_highest_version(index: VectorIndex) -> None:
    index.upsert([mem("m1", "drinks oolong", unit(1), version=2), mem("m1", "drinks sencha", unit(1), version=1)])
    assert ids(index.search(q("oolong", mode="keyword"))) == ["m1"]
    assert index.search(q("sencha", mode="keyword")) == []


@pytest.mark.parametrize("mode", ALL_MODES)
def test_expired_documents_never_match(index: VectorIndex, mode: str) -> None:
    index.upsert(
        [
            mem("past", "meeting on Monday", unit(1), expire_at=NOW - 1),
            mem("edge", "meeting on Tuesday", unit(1), expire_at=NOW),
            mem("future", "meeting on Friday", unit(1), expire_at=NOW + 3600),
            mem("forever", "meeting weekly", unit(1)),
        ]
    )
    assert sorted(ids(index.search(q("meeting", unit(1), mode=mode)))) == ["forever", "future"]
    later = index.search(q("meeting", unit(1), mode=mode, now=NOW + 7200))
    assert ids(later) == ["forever"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_after_is_inclusive_before_is_exclusive_and_undated_documents_never_match_a_window(
    index: VectorIndex, mode: str
) -> None:
    t = 1_700_000_000_000  # epoch ms
    index.upsert(
        [
            mem("early", "trip to Rome", unit(1), event_time=t - 1),
            mem("start", "trip to Oslo", unit(1), event_time=t),
            mem("mid", "trip to Lima", unit(1), event_time=t + 500),
            mem("end", "trip to Pune", unit(1), event_time=t + 1000),
            mem("undated", "trip to Kyiv", unit(1)),
        ]
    )
    assert len(index.search(q("trip", unit(1), mode=mode))) == 5
    assert sorted(ids(index.search(q("trip", unit(1), mode=mode, after=t)))) == ["end", "mid", "start"]
    assert sorted(ids(index.search(q("trip", unit(1), mode=mode, before=t + 1000)))) == ["early", "mid", "start"]
    assert ids(index.search(q("trip", unit(1), mode=mode, after=t + 1, before=t + 1000))) == ["mid"]
    assert index.search(q("trip", unit(1), mode=mode, after=t + 1001)) == []


@pytest.mark.parametrize("mode", ALL_MODES)
def test_attribute_filters_equality_any_of_lists_ranges_and_and(index: VectorIndex, mode: str) -> None:
    index.upsert(
        [
            mem("red3", "tea note", unit(1), attrs={"metadata.color": ("red",), "metadata.n": (3,)}),
            mem("blue10", "tea note", unit(1), attrs={"metadata.color": ("blue",), "metadata.n": (10.5,)}),
            mem("tags", "tea note", unit(1), attrs={"metadata.tags": ("a", "b"), "metadata.ok": (True,)}),
            mem("neg", "tea note", unit(1), attrs={"metadata.n": (-2,), "metadata.color": ("3",)}),
            mem("bare", "tea note", unit(1)),
        ]
    )

    def found(*conds: Condition) -> list[str]:
        return sorted(ids(index.search(q("tea", unit(1), mode=mode, filters=conds))))

    assert found() == ["bare", "blue10", "neg", "red3", "tags"]
    assert found(Condition("metadata.color", values=("red",))) == ["red3"]
    assert found(Condition("metadata.color", values=("red", "blue"))) == ["blue10", "red3"]
    assert found(Condition("metadata.color", values=(3,))) == []  # the number 3 is not the string "3"
    assert found(Condition("metadata.n", values=(3.0,))) == ["red3"]  # 3 == 3.0
    assert found(Condition("metadata.tags", values=("b",))) == ["tags"]  # any element of a list
    assert found(Condition("metadata.ok", values=(True,))) == ["tags"]
    assert found(Condition("metadata.ok", values=(1,))) == []  # true is not 1
    assert found(Condition("metadata.n", gte=3)) == ["blue10", "red3"]
    assert found(Condition("metadata.n", lte=3)) == ["neg", "red3"]
    assert found(Condition("metadata.n", gte=-5, lte=0)) == ["neg"]
    assert found(Condition("metadata.n", gte=3.5, lte=10.5)) == ["blue10"]
    assert found(Condition("metadata.color", values=("red", "blue")), Condition("metadata.n", gte=5)) == ["blue10"]
    assert found(Condition("metadata.missing", values=("x",))) == []


@pytest.mark.parametrize("mode", ALL_MODES)
def test_kinds_never_mix(index: VectorIndex, mode: str) -> None:
    index.upsert([mem("m1", "flight to Oslo", unit(1)), mem("e1", "flight to Oslo", unit(1), kind="event")])
    assert ids(index.search(q("Oslo", unit(1), mode=mode))) == ["m1"]
    assert ids(index.search(q("Oslo", unit(1), mode=mode, kind="event"))) == ["e1"]
    index.delete("t1", "e1", version=2)
    assert index.search(q("Oslo", unit(1), mode=mode, kind="event")) == []
    assert ids(index.search(q("Oslo", unit(1), mode=mode))) == ["m1"]


def test_now_zero_means_the_current_time(index: VectorIndex) -> None:
    index.upsert([mem("old", "expired fact", unit(1), expire_at=int(time.time()) - 10)])
    assert index.search(q("expired", unit(1), now=0)) == []


@pytest.mark.parametrize("mode", ALL_MODES)
def test_topics_filter_is_any_of(index: VectorIndex, mode: str) -> None:
    index.upsert(
        [
            mem("food", "likes spicy food", unit(1), topics=("food", "preferences")),
            mem("travel", "likes spicy trips", unit(1), topics=("travel",)),
            mem("none", "likes spicy things", unit(1)),
        ]
    )
    assert sorted(ids(index.search(q("spicy", unit(1), mode=mode)))) == ["food", "none", "travel"]
    assert ids(index.search(q("spicy", unit(1), mode=mode, topics=("food",)))) == ["food"]
    assert sorted(ids(index.search(q("spicy", unit(1), mode=mode, topics=("food", "travel"))))) == [
        "food",
        "travel",
    ]
    assert index.search(q("spicy", unit(1), mode=mode, topics=("work",))) == []


def test_semantic_scores_are_opensearch_cosinesimil_scores(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("same", "a", unit(1)),
            mem("close", "b", unit(1, 0.5)),
            mem("orthogonal", "c", unit(0, 1)),
            mem("opposite", "d", unit(-1)),
        ]
    )
    hits = index.search(q("", unit(1), mode="semantic"))
    assert ids(hits) == ["same", "close", "orthogonal", "opposite"]
    expected = [1.0, cosine_to_score(1 / (1.25**0.5)), 0.5, 0.0]
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)


def test_min_score_applies_to_the_final_score(index: VectorIndex) -> None:
    index.upsert([mem("same", "tea", unit(1)), mem("close", "tea", unit(1, 0.5)), mem("far", "tea", unit(0, 1))])
    sem = index.search(q("", unit(1), mode="semantic", min_score=0.9))
    assert ids(sem) == ["same", "close"]
    assert all(h.score >= 0.9 for h in sem)
    hybrid = index.search(q("tea", unit(1), mode="hybrid", min_score=0.99))
    assert ids(hybrid) == ["same"]
    assert index.search(q("tea", unit(1), min_score=1.5)) == []


def test_top_k_bounds_the_result(index: VectorIndex) -> None:
    index.upsert([mem(f"m{i:02d}", f"note number {i}", unit(1, i / 10)) for i in range(25)])
    for mode in ALL_MODES:
        assert len(index.search(q("note", unit(1), mode=mode, top_k=5))) == 5
        assert len(index.search(q("note", unit(1), mode=mode, top_k=100))) == 25
        assert index.search(q("note", unit(1), mode=mode, top_k=0)) == []
    assert ids(index.search(q("", unit(1), mode="semantic", top_k=3))) == ["m00", "m01", "m02"]


def test_keyword_mode_finds_the_exact_word(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("cat", "The user has a cat named Miso", unit(1)),
            mem("dog", "The user has a dog", unit(1)),
            mem("fish", "Goldfish bowl on the desk", unit(1)),
        ]
    )
    assert ids(index.search(q("Miso", mode="keyword"))) == ["cat"]
    assert ids(index.search(q("MISO?", mode="keyword"))) == ["cat"]
    assert ids(index.search(q("dog", mode="keyword"))) == ["dog"]  # no stemming or substring match
    assert index.search(q("the a of", mode="keyword")) == []  # stop words only
    assert index.search(q("zebra", mode="keyword")) == []
    assert index.search(q("the user", mode="keyword")) == []  # words every memory carries are stop words
    ranked = index.search(q("has cat", mode="keyword"))
    assert ids(ranked)[0] == "cat"
    assert set(ids(ranked)) == {"cat", "dog"}
    assert all(h.score > 0 for h in ranked)


def test_keyword_ranking_prefers_rare_terms_and_short_documents(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("rare", "sailing", unit(1)),
            mem("long", "sailing and other things like hiking biking climbing running", unit(1)),
            mem("c1", "hiking", unit(1)),
            mem("c2", "hiking", unit(1)),
            mem("c3", "hiking", unit(1)),
        ]
    )
    hits = index.search(q("sailing hiking", mode="keyword"))
    assert ids(hits)[0] == "rare"
    assert ids(hits).index("rare") < ids(hits).index("long")


def test_semantic_mode_ranks_by_vector_only(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("words", "pizza pizza pizza", unit(0, 0, 1)),
            mem("near", "something else", unit(1, 0.1)),
            mem("mid", "another thing", unit(1, 1)),
        ]
    )
    assert ids(index.search(q("pizza", unit(1), mode="semantic"))) == ["near", "mid", "words"]


def test_hybrid_fuses_both_signals(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("both", "flight to Tokyo on Tuesday", unit(1, 1.5)),  # cos 0.55 with the query
            mem("semantic-only", "trip to Japan next week", unit(1, 1)),  # cos 0.71
            mem("keyword-only", "Tokyo subway map", unit(0, 0, 1)),
            mem("neither", "likes jazz", unit(0, 0, 0, 1)),
        ]
    )
    query_vec = unit(1)
    semantic = index.search(q("Tokyo flight", query_vec, mode="semantic"))
    assert ids(semantic)[0] == "semantic-only"
    hybrid = index.search(q("Tokyo flight", query_vec, mode="hybrid"))
    assert ids(hybrid)[0] == "both"  # keyword evidence lifts it above the pure semantic winner
    ranks = {h.memory_id: i for i, h in enumerate(hybrid)}
    assert ranks["keyword-only"] < ranks["neither"]  # same semantic score, but a keyword match
    by_id = {h.memory_id: h.score for h in hybrid}
    sem_by_id = {h.memory_id: h.score for h in semantic}
    # without a keyword match the hybrid score is the semantic score
    assert by_id["semantic-only"] == pytest.approx(sem_by_id["semantic-only"], abs=1e-5)
    assert by_id["neither"] == pytest.approx(sem_by_id["neither"], abs=1e-5)
    assert by_id["both"] > sem_by_id["both"]
    assert all(0.0 <= s <= 1.0 for s in by_id.values())


def test_a_query_keyword_weight_overrides_the_index_default(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("both", "flight to Tokyo on Tuesday", unit(1, 1.5)),  # cos 0.55 with the query
            mem("semantic-only", "trip to Japan next week", unit(1, 1)),  # cos 0.71
        ]
    )
    query_vec = unit(1)
    assert ids(index.search(q("Tokyo flight", query_vec)))[0] == "both"  # the default weight, 0.5
    semantic = index.search(q("Tokyo flight", query_vec, mode="semantic"))
    unweighted = index.search(replace(q("Tokyo flight", query_vec), fusion=HybridFusion(0.0)))
    assert ids(unweighted) == ids(semantic) == ["semantic-only", "both"]
    assert [h.score for h in unweighted] == pytest.approx([h.score for h in semantic], abs=1e-5)
    light = index.search(replace(q("Tokyo flight", query_vec), fusion=HybridFusion(0.1)))
    by_id = {h.memory_id: h.score for h in light}
    sem = {h.memory_id: h.score for h in semantic}
    assert by_id["both"] == pytest.approx(1 - (1 - sem["both"]) * (1 - 0.1), abs=1e-5)


def test_hybrid_can_drop_the_querys_function_words_from_its_keyword_side(index: VectorIndex) -> None:
    # event search's fusion: "what" in a question is no evidence for a turn that asks "what" itself
    index.upsert(
        [
            mem("asks-what", "What should I wear to work?", unit(0, 1)),  # orthogonal to the query
            mem("answer", "I'm allergic to cats", unit(1, 1)),
        ]
    )
    query_vec = unit(1)
    semantic = {h.memory_id: h.score for h in index.search(q("What is Liam allergic to?", query_vec, mode="semantic"))}
    plain = {h.memory_id: h.score for h in index.search(q("What is Liam allergic to?", query_vec))}
    dropped = index.search(
        replace(q("What is Liam allergic to?", query_vec), fusion=HybridFusion(0.5, "max", drop_function_words=True))
    )
    by_id = {h.memory_id: h.score for h in dropped}
    assert plain["asks-what"] > semantic["asks-what"]  # "what" matched
    assert by_id["asks-what"] == pytest.approx(semantic["asks-what"], abs=1e-5)  # not asked any more
    assert by_id["answer"] == pytest.approx(1 - (1 - semantic["answer"]) * 0.5, abs=1e-5)  # "allergic": k = 1
    # a question of function words only has no keyword side at all: hybrid is semantic
    only = index.search(replace(q("What is it?", query_vec), fusion=HybridFusion(0.5, drop_function_words=True)))
    assert [h.score for h in only] == pytest.approx(
        [h.score for h in index.search(q("What is it?", query_vec, mode="semantic"))], abs=1e-5
    )


def test_hybrid_minmax_gives_the_weakest_keyword_match_nothing(index: VectorIndex) -> None:
    index.upsert(
        [
            mem("rare", "kayak on the fjord", unit(0, 1)),
            mem("common-1", "a kayak", unit(0, 0, 1)),
            mem("common-2", "kayak rental", unit(0, 0, 0, 1)),
            mem("fjord", "the fjord", unit(1, 1)),
        ]
    )
    query_vec = unit(1)
    semantic = {h.memory_id: h.score for h in index.search(q("kayak fjord", query_vec, mode="semantic"))}
    fused = {
        h.memory_id: h.score
        for h in index.search(replace(q("kayak fjord", query_vec), fusion=HybridFusion(0.5, "minmax")))
    }
    # coverage: "kayak" (3 documents) < "fjord" (2) < both; min-max: the kayak-only ones get k = 0
    assert fused["common-1"] == pytest.approx(semantic["common-1"], abs=1e-5)
    assert fused["common-2"] == pytest.approx(semantic["common-2"], abs=1e-5)
    assert fused["rare"] == pytest.approx(1 - (1 - semantic["rare"]) * 0.5, abs=1e-5)
    assert semantic["fjord"] < fused["fjord"] < 1 - (1 - semantic["fjord"]) * 0.5


def test_hybrid_without_a_vector_is_keyword_search(index: VectorIndex) -> None:
    index.upsert([mem("m1", "knows Rust", unit(1)), mem("m2", "knows Go", unit(1))])
    assert ids(index.search(q("Rust", None, mode="hybrid"))) == ["m1"]


def test_semantic_search_requires_a_vector(index: VectorIndex) -> None:
    index.upsert([mem("m1", "x", unit(1))])
    with pytest.raises(ValueError):
        index.search(q("x", None, mode="semantic"))


def test_ensure_is_idempotent(backend: Backend) -> None:
    backend.index.upsert([mem("m1", "keeps bees", unit(1))])
    backend.index.ensure(INFO)
    other = backend.reopen()
    other.ensure(INFO)
    assert ids(other.search(q("bees", unit(1)))) == ["m1"]


@pytest.mark.parametrize(
    "info", [IndexInfo("another-model", DIM), IndexInfo(INFO.model_id, DIM * 2)], ids=["model", "dims"]
)
def test_model_or_dimension_mismatch_raises(backend: Backend, info: IndexInfo) -> None:
    with pytest.raises(IndexMismatchError, match=r"reindex"):
        backend.index.ensure(info)
    other = backend.reopen()  # e.g. a new process configured with another model
    with pytest.raises(IndexMismatchError, match=info.model_id):
        other.ensure(info)


def test_vector_of_the_wrong_dimension_is_rejected(index: VectorIndex) -> None:
    with pytest.raises(IndexMismatchError):
        index.upsert([mem("m1", "x", [1.0] * (DIM + 1))])
    with pytest.raises(IndexMismatchError):
        index.search(q("x", [1.0] * (DIM - 1), mode="semantic"))


def test_drop_then_search_is_empty_and_ensure_recreates(backend: Backend) -> None:
    index = backend.index
    index.upsert([mem("m1", "collects stamps", unit(1))])
    index.delete("t1", "m2", version=9)
    index.drop()
    assert index.search(q("stamps", unit(1))) == []
    assert index.search(q("stamps", mode="keyword")) == []
    index.drop()  # dropping a missing index is fine
    index.ensure(IndexInfo("new-model", DIM * 2))  # a rebuild may switch models
    index.upsert([mem("m2", "collects coins", [1.0] + [0.0] * (DIM * 2 - 1), version=1)])
    assert ids(index.search(q("coins", mode="keyword"))) == ["m2"]  # the old tombstone is gone too


def test_writes_after_drop_need_ensure(backend: Backend) -> None:
    backend.index.drop()
    writer = backend.reopen()  # another process that ensured before the drop, or never did
    with pytest.raises(RuntimeError):
        writer.upsert([mem("m1", "x", unit(1))])
    with pytest.raises(RuntimeError):
        writer.delete("t1", "m1", version=1)
    assert writer.search(q("x", unit(1))) == []


def test_search_on_an_empty_index(index: VectorIndex) -> None:
    for mode in ALL_MODES:
        assert index.search(q("anything", unit(1), mode=mode)) == []


def test_reopened_instance_sees_the_data(backend: Backend) -> None:
    """For the embedded index this is persistence across a restart; for OpenSearch, a new client."""
    backend.index.upsert(
        [
            mem("m1", "runs marathons", unit(1), version=4, topics=("sport",), expire_at=NOW + 60),
            mem("m2", "swims", unit(0, 1), version=1),
        ]
    )
    backend.index.delete("t1", "m2", version=2)
    other = backend.reopen()
    hits = other.search(q("marathons", unit(1), topics=("sport",)))
    assert ids(hits) == ["m1"]
    assert hits[0].version == 4
    assert other.search(q("marathons", unit(1), now=NOW + 61)) == []
    other.upsert([mem("m2", "swims", unit(0, 1), version=1)])  # the tombstone survived
    other.upsert([mem("m1", "runs marathons slowly", unit(1), version=3)])  # so did the version
    assert ids(other.search(q("swims marathons slowly", mode="keyword"))) == ["m1"]
    assert other.search(q("slowly", mode="keyword")) == []


def test_kind_time_and_attributes_survive_a_reopen(backend: Backend) -> None:
    backend.index.upsert(
        [
            mem("e1", "said hello", unit(1), kind="event", event_time=5_000, attrs={"session_id": ("s1",)}),
            mem("m1", "said hello", unit(1), event_time=9_000, attrs={"metadata.n": (4,)}),
        ]
    )
    if backend.kind == "embedded":
        backend.index.snapshot()  # type: ignore[attr-defined]
        backend.index.upsert(
            [mem("e2", "said bye", unit(1), kind="event", event_time=6_000, attrs={"session_id": ("s2",)})]
        )
    other = backend.reopen()
    sessions = (Condition("session_id", values=("s1", "s2")),)
    found = other.search(q("said", unit(1), kind="event", after=4_000, filters=sessions))
    assert sorted(ids(found)) == (["e1", "e2"] if backend.kind == "embedded" else ["e1"])
    assert ids(other.search(q("hello", unit(1), filters=(Condition("metadata.n", gte=4),), before=9_001))) == ["m1"]
