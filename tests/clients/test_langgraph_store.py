"""ContextIQStore against LangGraph's BaseStore contract, on the live local server.

LangGraph's own store tests are not shipped in its wheels, so their cases (libs/checkpoint/tests/test_store.py
and the InMemoryStore tests) are ported here: get/put/delete, overwrite, nested-prefix search with filters and
pagination, natural-language search, list_namespaces with prefix/suffix/wildcards/max_depth, batch order, async.
"""

from __future__ import annotations

import asyncio

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, ListNamespacesOp, MatchCondition, PutOp, SearchOp

from contextiq_sdk import Client
from contextiq_sdk.langgraph import ContextIQStore
from tests.e2e.conftest import Server

from .conftest import KEY_A, KEY_B


@pytest.fixture
def store(live: Server, uid: str) -> ContextIQStore:
    return ContextIQStore(Client(live.url, KEY_A), name=uid)


def test_put_get_overwrite_delete(store: ContextIQStore) -> None:
    ns = ("users", "alice")
    assert store.get(ns, "missing") is None
    store.put(ns, "prefs", {"text": "likes window seats", "n": 1})
    item = store.get(ns, "prefs")
    assert item is not None
    assert (item.namespace, item.key, item.value) == (ns, "prefs", {"text": "likes window seats", "n": 1})
    store.put(ns, "prefs", {"text": "likes aisle seats", "n": 2})
    again = store.get(ns, "prefs")
    assert again is not None and again.value["n"] == 2 and again.created_at == item.created_at
    assert again.updated_at >= item.updated_at
    store.put(ns, "odd key/with#chars", {"x": 1})
    assert store.get(ns, "odd key/with#chars").value == {"x": 1}
    store.delete(ns, "prefs")
    assert store.get(ns, "prefs") is None
    with pytest.raises(InvalidNamespaceError):
        store.put(("bad.label",), "k", {"x": 1})


def test_search_prefix_filter_and_pages(store: ContextIQStore) -> None:
    docs = {
        ("docs", "a"): [("d1", {"text": "quarterly report", "status": "active", "score": 4.5})],
        ("docs", "b"): [
            ("d2", {"text": "draft report", "status": "draft", "score": 3.0}),
            ("d3", {"text": "final memo", "status": "active", "score": 5.0}),
        ],
        ("other",): [("o1", {"text": "unrelated", "status": "active", "score": 9.0})],
    }
    for ns, items in docs.items():
        for key, value in items:
            store.put(ns, key, value)
    assert {i.key for i in store.search(("docs",))} == {"d1", "d2", "d3"}
    assert {i.key for i in store.search(("docs",), filter={"status": "active"})} == {"d1", "d3"}
    assert {i.key for i in store.search((), filter={"score": {"$gt": 4.0}})} == {"d1", "d3", "o1"}
    assert {i.key for i in store.search(("docs",), filter={"score": {"$lte": 4.5, "$gte": 3.0}})} == {"d1", "d2"}
    first, second = store.search(("docs",), limit=2), store.search(("docs",), limit=2, offset=2)
    assert len(first) == 2 and len(second) == 1
    assert {i.key for i in first + second} == {"d1", "d2", "d3"}


def test_natural_language_search_uses_hybrid_search(live: Server, uid: str) -> None:
    store = ContextIQStore(Client(live.url, KEY_A), name=uid, index_fields=["memory"])
    ns = ("memories", uid)
    store.put(ns, "food", {"memory": "Alice is vegetarian and avoids meat", "kind": "diet"})
    store.put(ns, "home", {"memory": "Alice lives in Paris", "kind": "place"})
    store.put(ns, "pet", {"memory": "Alice has a cat named Felix", "kind": "pet"})
    hits = store.search(("memories",), query="does Alice eat meat?", limit=2)
    assert hits[0].key == "food" and hits[0].score is not None and hits[0].score >= (hits[1].score or 0)
    assert [h.key for h in store.search(("memories",), query="cat Felix", filter={"kind": "pet"})] == ["pet"]
    scope = store.scope(ns)
    with Client(live.url, KEY_A) as c:  # stored as ordinary memories of the namespace's scope
        assert {x.fact for x in c.memories.iter(scope)} >= {"Alice lives in Paris"}
    with Client(live.url, KEY_B) as other:  # another tenant sees none of it
        assert ContextIQStore(other, name=uid).search(("memories",)) == []


def test_list_namespaces(store: ContextIQStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("x", "y")]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces() == [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("x", "y")]
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [("a", "b", "c"), ("a", "b", "d"), ("x", "b", "c")]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "e"), ("x", "b"), ("x", "y")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "e")]
    store.delete(("x", "y"), "k")
    assert ("x", "y") not in store.list_namespaces()


def test_batch_keeps_order_and_async_api(store: ContextIQStore) -> None:
    ns = ("batch",)
    results = store.batch(
        [
            PutOp(ns, "k1", {"text": "one"}),
            GetOp(ns, "k1"),
            SearchOp(ns),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ns),)),
            GetOp(ns, "nope"),
        ]
    )
    assert results[0] is None and results[1].value == {"text": "one"}
    assert [i.key for i in results[2]] == ["k1"] and results[3] == [ns] and results[4] is None

    async def scenario() -> None:
        await store.aput(ns, "k2", {"text": "two"})
        assert (await store.aget(ns, "k2")).value == {"text": "two"}
        assert {i.key for i in await store.asearch(ns)} == {"k1", "k2"}
        await store.adelete(ns, "k2")
        assert await store.aget(ns, "k2") is None

    asyncio.run(scenario())
