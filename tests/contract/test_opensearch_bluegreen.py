"""Reindex on OpenSearch is blue/green behind the alias: search answers throughout, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from contextiq.ai.embedders.hashing import HashingEmbedder
from contextiq.models.memories import Memory, scope_key
from contextiq.services.indexing import Tables, reindex
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.vector.base import SearchQuery
from contextiq.stores.vector.documents import memory_document as indexed_document
from contextiq.stores.vector.factory import index_info_for
from contextiq.stores.vector.opensearch import OpenSearchVectorIndex
from tests.contract.fake_opensearch import FakeOpenSearchServer, fake_client

ALIAS = "contextiq-memories-bluegreen"
SCOPE = {"user_id": "ana"}
EMBEDDER = HashingEmbedder(64)


def stored(memory_id: str, fact: str, updated: datetime) -> StoredMemory:
    memory = Memory(
        id=memory_id,
        scope=SCOPE,
        fact=fact,
        topics=[],
        metadata={},
        create_time=updated,
        update_time=updated,
        event_time=updated,
        version=1,
    )
    return StoredMemory("t1", memory, EMBEDDER.embed([fact])[0], EMBEDDER.model_id)


class Table:
    """The memories table's ``scan_all``; ``during_scan`` runs after the first item is read."""

    def __init__(self, items: list[StoredMemory], during_scan: Callable[[], None]) -> None:
        self.items = items
        self.during_scan = during_scan

    def scan_all(self) -> Iterator[StoredMemory]:
        for position, item in enumerate(list(self.items)):
            yield item
            if position == 0:
                self.during_scan()


def search(index: OpenSearchVectorIndex, text: str) -> list[str]:
    query = SearchQuery("t1", scope_key(SCOPE), text, EMBEDDER.embed_query(text), top_k=10)
    return [hit.memory_id for hit in index.search(query)]


def test_reindex_keeps_search_answering_and_catches_up_with_writes_made_meanwhile() -> None:
    server = FakeOpenSearchServer()
    live = OpenSearchVectorIndex(fake_client(server), ALIAS)
    live.ensure(index_info_for(EMBEDDER))
    old = datetime.now(UTC) - timedelta(days=3)
    items = [stored("m1", "Ana is vegetarian", old), stored("m2", "Ana lives in Porto", old)]
    live.upsert([indexed_document(s) for s in items])
    seen_during: list[list[str]] = []

    def during_scan() -> None:
        # search still answers from the live index while the new one is being filled...
        seen_during.append(search(live, "vegetarian"))
        # ...and the stream indexer keeps writing through the alias: a memory created right now
        fresh = stored("m3", "Ana started learning Japanese", datetime.now(UTC))
        table.items.append(fresh)
        live.upsert([indexed_document(fresh)])

    table = Table(items, during_scan)
    tables = Tables(memories=table.scan_all, events=lambda: iter(()))

    counts = reindex(live, EMBEDDER, tables)

    assert seen_during and "m1" in seen_during[0]  # a drop-first reindex answered [] here
    assert server.aliases[ALIAS] == f"{ALIAS}-000002"
    assert f"{ALIAS}-000001" not in server.indices  # the old generation is gone
    assert counts["dropped_indexes"] == 1 and counts["caught_up"] >= 1
    assert set(search(live, "Ana")) == {"m1", "m2", "m3"}  # m3 was written to the old index only
    swaps = [r for r in server.requests if r.path == "/_aliases"]
    assert len(swaps) == 1 and [next(iter(a)) for a in swaps[0].body["actions"]] == ["remove", "add"]

    again = reindex(live, EMBEDDER, tables)  # a second rebuild moves on to the next generation
    assert server.aliases[ALIAS] == f"{ALIAS}-000003" and again["dropped_indexes"] == 1
    assert set(search(live, "Ana")) == {"m1", "m2", "m3"}


def test_the_new_generation_is_written_without_the_alias() -> None:
    server = FakeOpenSearchServer()
    live = OpenSearchVectorIndex(fake_client(server), ALIAS)
    live.ensure(index_info_for(EMBEDDER))
    generation = live.create_generation(index_info_for(EMBEDDER))
    generation.upsert([indexed_document(stored("m1", "Ana is vegetarian", datetime.now(UTC)))])
    assert search(live, "vegetarian") == []  # not live until the swap
    live.swap_to(generation)
    assert search(live, "vegetarian") == ["m1"]
