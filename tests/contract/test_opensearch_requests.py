"""The exact requests the OpenSearch adapter sends, checked against OpenSearch's documented formats
(create index with k-NN mapping, ``_bulk`` NDJSON with external versions, ``_search`` with a filtered
``knn`` query or a BM25 ``match``, ``_msearch`` for hybrid), and how it reads the documented answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from opensearchpy import AWSV4SignerAuth, RequestsHttpConnection

from contextiq.config import Settings
from contextiq.stores.vector.base import Condition, IndexInfo, IndexMismatchError, SearchQuery
from contextiq.stores.vector.opensearch import (
    OpenSearchIndexError,
    OpenSearchVectorIndex,
    build_client,
    index_body,
)
from contextiq.stores.vector.text import STOPWORDS
from tests.contract.fake_opensearch import FakeOpenSearchServer, Request, fake_client
from tests.contract.vector_contract_helpers import DIM, INDEX_NAME, INFO, mem, unit

NOW = 1_750_000_000


@pytest.fixture
def server() -> FakeOpenSearchServer:
    return FakeOpenSearchServer()


@pytest.fixture
def adapter(server: FakeOpenSearchServer) -> OpenSearchVectorIndex:
    index = OpenSearchVectorIndex(fake_client(server), INDEX_NAME)
    index.ensure(INFO)
    server.requests.clear()
    return index


def only(server: FakeOpenSearchServer, method: str, path_end: str) -> Request:
    found = [r for r in server.requests if r.method == method and r.path.endswith(path_end)]
    assert len(found) == 1, [(r.method, r.path) for r in server.requests]
    return found[0]


def expected_filters(tenant: str = "t1", scope: str = "user:u1", topics: list[str] | None = None) -> list[Any]:
    filters: list[Any] = [
        {"term": {"tenant": tenant}},
        {"term": {"kind": "memory"}},
        {"term": {"scope_key": scope}},
        {"term": {"deleted": False}},
        {
            "bool": {
                "should": [
                    {"range": {"expire_at": {"gt": NOW}}},
                    {"bool": {"must_not": [{"exists": {"field": "expire_at"}}]}},
                ],
                "minimum_should_match": 1,
            }
        },
    ]
    if topics:
        filters.append({"terms": {"topics": topics}})
    return filters


# -- index creation ------------------------------------------------------------------------------------


def test_ensure_creates_a_knn_index_with_the_documented_mapping(server: FakeOpenSearchServer) -> None:
    OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(IndexInfo("amazon.titan-embed-text-v2:0", 1024))
    head = server.requests[0]
    assert (head.method, head.path, head.status) == ("HEAD", f"/{INDEX_NAME}", 404)
    put = only(server, "PUT", f"/{INDEX_NAME}-000001")  # the concrete index, behind the alias
    assert put.status == 200
    body = put.body
    assert body["aliases"] == {INDEX_NAME: {}}
    assert body["settings"]["index"] == {
        "knn": True,
        "similarity": {"contextiq_coverage": {"type": "BM25", "k1": 0.0, "b": 0.0}},
    }
    analysis = body["settings"]["analysis"]
    assert analysis["analyzer"]["contextiq_text"] == {
        "type": "custom",
        "tokenizer": "standard",
        "filter": ["contextiq_possessive", "lowercase", "contextiq_stop", "contextiq_plural"],
    }
    assert analysis["filter"] == {
        "contextiq_possessive": {"type": "stemmer", "language": "possessive_english"},
        "contextiq_stop": {"type": "stop", "stopwords": sorted(STOPWORDS)},
        "contextiq_plural": {"type": "stemmer", "language": "minimal_english"},
    }
    mappings = body["mappings"]
    assert mappings["dynamic"] == "strict"
    assert mappings["_meta"] == {
        "model_id": "amazon.titan-embed-text-v2:0",
        "dimensions": 1024,
        "schema_version": 3,
    }
    props = mappings["properties"]
    assert props["vector"] == {
        "type": "knn_vector",
        "dimension": 1024,
        "method": {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": 16, "ef_construction": 128},
        },
    }
    for keyword in ("tenant", "scope_key", "memory_id", "kind", "topics", "attrs"):
        assert props[keyword] == {"type": "keyword"}
    assert props["fact"] == {
        "type": "text",
        "analyzer": "contextiq_text",
        "fields": {"coverage": {"type": "text", "analyzer": "contextiq_text", "similarity": "contextiq_coverage"}},
    }
    assert props["version"] == {"type": "long"}
    assert props["expire_at"] == {"type": "long"}
    assert props["event_time"] == {"type": "long"}
    assert props["deleted"] == {"type": "boolean"}


def test_an_index_of_an_older_document_schema_must_be_rebuilt(server: FakeOpenSearchServer) -> None:
    body = {**index_body(INFO), "aliases": {INDEX_NAME: {}}}
    body["mappings"]["_meta"]["schema_version"] = 1
    server.handle("PUT", f"/{INDEX_NAME}-000001", {}, json.dumps(body).encode())
    with pytest.raises(IndexMismatchError, match="reindex"):
        OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(INFO)


def test_the_fake_rejects_faiss_cosinesimil_like_a_2x_domain(server: FakeOpenSearchServer) -> None:
    """Why the adapter uses Lucene: Faiss only accepts cosinesimil from OpenSearch 2.19 on."""
    body = index_body(INFO)
    body["mappings"]["properties"]["vector"]["method"]["engine"] = "faiss"
    status, response = server.handle("PUT", "/faiss-index", {}, json.dumps(body).encode())
    assert status == 400
    assert "does not support space type" in response["error"]["reason"]


def test_ensure_on_an_existing_index_reads_the_mapping_and_does_not_recreate(
    server: FakeOpenSearchServer,
) -> None:
    OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(INFO)
    server.requests.clear()
    OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(INFO)
    assert [(r.method, r.path) for r in server.requests] == [  # HEAD and GET go through the alias
        ("HEAD", f"/{INDEX_NAME}"),
        ("GET", f"/{INDEX_NAME}/_mapping"),
    ]


def test_ensure_survives_a_concurrent_creation(server: FakeOpenSearchServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two cold starts race: HEAD says missing, PUT says resource_already_exists -> check the mapping."""
    OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(INFO)
    original = server._route

    def head_lies(method: str, parts: list[str], params: dict[str, Any], body: Any) -> tuple[int, Any]:
        if method == "HEAD":
            return 404, ""
        return original(method, parts, params, body)

    monkeypatch.setattr(server, "_route", head_lies)
    server.requests.clear()
    OpenSearchVectorIndex(fake_client(server), INDEX_NAME).ensure(INFO)
    assert [(r.method, r.status) for r in server.requests] == [("HEAD", 404), ("PUT", 400), ("GET", 200)]


# -- writes -----------------------------------------------------------------------------------------------


def test_upsert_sends_ndjson_bulk_with_external_versions(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    adapter.upsert(
        [
            mem("m1", "likes tea", unit(1), version=3, topics=("food",), expire_at=NOW + 60),
            mem("m2", "likes coffee", unit(0, 1), version=1),
        ]
    )
    bulk = only(server, "POST", f"/{INDEX_NAME}/_bulk")
    assert bulk.raw is not None
    assert bulk.raw.endswith(b"\n")
    assert bulk.body[0] == {"index": {"_id": "t1:m1", "version": 3, "version_type": "external"}}
    assert bulk.body[1] == {
        "tenant": "t1",
        "scope_key": "user:u1",
        "memory_id": "m1",
        "kind": "memory",
        "topics": ["food"],
        "fact": "likes tea",
        "vector": unit(1),
        "version": 3,
        "deleted": False,
        "expire_at": NOW + 60,
    }
    assert bulk.body[2] == {"index": {"_id": "t1:m2", "version": 1, "version_type": "external"}}
    assert "expire_at" not in bulk.body[3]  # absent = never expires
    assert len(bulk.body) == 4
    assert [item["index"]["status"] for item in bulk.response["items"]] == [201, 201]
    assert bulk.params == {"require_alias": "true"}  # no forced refresh by default


def test_version_conflicts_are_harmless(adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer) -> None:
    adapter.upsert([mem("m1", "v2", unit(1), version=2)])
    adapter.upsert([mem("m1", "v1", unit(1), version=1), mem("m2", "new", unit(1), version=1)])
    last = server.requests[-1]
    assert last.response["errors"] is True
    statuses = [item["index"]["status"] for item in last.response["items"]]
    assert statuses == [409, 201]
    assert last.response["items"][0]["index"]["error"]["type"] == "version_conflict_engine_exception"


def test_other_bulk_item_errors_raise(adapter: OpenSearchVectorIndex) -> None:
    with pytest.raises(OpenSearchIndexError, match="mapper_parsing_exception"):
        adapter.upsert([mem("m1", "zero vector", [0.0] * DIM)])  # cosinesimil rejects zero vectors


def test_delete_indexes_a_tombstone_at_the_version(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    adapter.delete("t1", "m1", version=7)
    bulk = only(server, "POST", f"/{INDEX_NAME}/_bulk")
    assert bulk.body == [
        {"index": {"_id": "t1:m1", "version": 7, "version_type": "external"}},
        {"tenant": "t1", "memory_id": "m1", "version": 7, "deleted": True},
    ]


def test_bulk_is_chunked_and_refresh_is_passed(server: FakeOpenSearchServer) -> None:
    index = OpenSearchVectorIndex(fake_client(server), INDEX_NAME, refresh="wait_for", bulk_chunk=10)
    index.ensure(INFO)
    index.upsert([mem(f"m{i}", "fact", unit(1), version=1) for i in range(25)])
    bulks = [r for r in server.requests if r.path.endswith("/_bulk")]
    assert [len(r.body) // 2 for r in bulks] == [10, 10, 5]
    assert all(r.params == {"require_alias": "true", "refresh": "wait_for"} for r in bulks)


# -- searches ----------------------------------------------------------------------------------------------


def test_semantic_search_is_a_knn_query_with_an_efficient_filter(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    adapter.upsert([mem("m1", "likes tea", unit(1), topics=("food",))])
    query = SearchQuery("t1", "user:u1", "tea", unit(1), top_k=5, mode="semantic", topics=("food", "drink"), now=NOW)
    hits = adapter.search(query)
    search = only(server, "POST", f"/{INDEX_NAME}/_search")
    assert search.body == {
        "size": 5,
        "_source": ["memory_id", "version"],
        "query": {
            "knn": {
                "vector": {
                    "vector": unit(1),
                    "k": 5,
                    "filter": {"bool": {"filter": expected_filters(topics=["drink", "food"])}},
                }
            }
        },
    }
    assert "post_filter" not in search.body
    hit = search.response["hits"]["hits"][0]
    assert hit["_id"] == "t1:m1"
    assert hits[0].memory_id == "m1"
    assert hits[0].score == pytest.approx(hit["_score"])


def test_keyword_search_is_a_bm25_match_with_the_same_filters(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    adapter.upsert([mem("m1", "likes green tea", unit(1))])
    hits = adapter.search(SearchQuery("t1", "user:u1", "green tea", None, top_k=3, mode="keyword", now=NOW))
    search = only(server, "POST", f"/{INDEX_NAME}/_search")
    assert search.body == {
        "size": 3,
        "_source": ["memory_id", "version"],
        "query": {
            "bool": {
                "must": [{"match": {"fact": {"query": "green tea"}}}],
                "filter": expected_filters(),
            }
        },
    }
    assert [h.memory_id for h in hits] == ["m1"]


def test_event_time_window_is_a_range_filter_on_epoch_ms(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    adapter.upsert([mem("m1", "likes tea", unit(1), event_time=1_700_000_000_000)])
    bulk = only(server, "POST", "/_bulk")
    assert bulk.body[1]["event_time"] == 1_700_000_000_000
    query = SearchQuery("t1", "user:u1", "tea", None, mode="keyword", now=NOW, after=1, before=1_800_000_000_000)
    assert [h.memory_id for h in adapter.search(query)] == ["m1"]
    search = only(server, "POST", f"/{INDEX_NAME}/_search")
    assert search.body["query"]["bool"]["filter"] == [
        *expected_filters(),
        {"range": {"event_time": {"gte": 1, "lt": 1_800_000_000_000}}},
    ]


def test_attribute_filters_are_terms_and_string_ranges_on_attrs(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    from contextiq.stores.vector.attrs import number_bounds, term

    doc = mem("m1", "likes tea", unit(1), attrs={"metadata.color": ("red",), "metadata.n": (3,)})
    adapter.upsert([doc])
    assert only(server, "POST", "/_bulk").body[1]["attrs"] == sorted(
        [term("metadata.color", "red"), term("metadata.n", 3)]
    )
    conds = (Condition("metadata.color", values=("red", "blue")), Condition("metadata.n", gte=2, lte=None))
    query = SearchQuery("t1", "user:u1", "tea", None, mode="keyword", now=NOW, filters=conds)
    assert [h.memory_id for h in adapter.search(query)] == ["m1"]
    search = only(server, "POST", f"/{INDEX_NAME}/_search")
    lo, hi = number_bounds("metadata.n", 2, None)
    assert search.body["query"]["bool"]["filter"][-2:] == [
        {"terms": {"attrs": sorted([term("metadata.color", "red"), term("metadata.color", "blue")])}},
        {"range": {"attrs": {"gte": lo, "lte": hi}}},
    ]


def test_hybrid_search_runs_both_in_one_msearch(adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer) -> None:
    adapter.upsert([mem("m1", "likes tea", unit(1))])
    adapter.search(SearchQuery("t1", "user:u1", "tea", unit(1), top_k=10, mode="hybrid", now=NOW))
    msearch = only(server, "POST", f"/{INDEX_NAME}/_msearch")
    assert msearch.raw is not None
    assert msearch.raw.endswith(b"\n")
    header1, knn, header2, match = msearch.body
    assert header1 == header2 == {}  # the index is in the path
    assert knn["query"]["knn"]["vector"]["k"] == 50
    assert knn["size"] == 50
    assert knn["query"]["knn"]["vector"]["filter"] == {"bool": {"filter": expected_filters()}}
    assert match["query"]["bool"]["must"] == [{"match": {"fact.coverage": {"query": "tea"}}}]
    assert match["size"] == 50
    assert [r["status"] for r in msearch.response["responses"]] == [200, 200]


def test_searching_a_missing_index_returns_nothing(server: FakeOpenSearchServer) -> None:
    index = OpenSearchVectorIndex(fake_client(server), "missing")
    for mode in ("semantic", "keyword", "hybrid"):
        assert index.search(SearchQuery("t1", "s", "x", unit(1), mode=mode, now=NOW)) == []  # type: ignore[arg-type]
    statuses = [r.status for r in server.requests]
    assert statuses == [404, 404, 200]  # _msearch answers 200 with a per-search error


def test_drop_deletes_the_index(adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer) -> None:
    adapter.drop()
    assert [(r.method, r.path, r.status) for r in server.requests] == [
        ("GET", f"/_alias/{INDEX_NAME}", 200),
        ("DELETE", f"/{INDEX_NAME}-000001", 200),
    ]
    assert server.indices == {}
    assert server.aliases == {}


def test_a_write_after_drop_fails_instead_of_auto_creating_a_dynamic_index(
    adapter: OpenSearchVectorIndex, server: FakeOpenSearchServer
) -> None:
    """Without require_alias, OpenSearch would auto-create the index with a dynamic (non k-NN) mapping."""
    other_process = OpenSearchVectorIndex(fake_client(server), INDEX_NAME)
    other_process.ensure(INFO)
    adapter.drop()  # e.g. scripts/reindex.py, while an indexer is still running
    with pytest.raises(OpenSearchIndexError, match="require_alias"):
        other_process.upsert([mem("m1", "likes tea", unit(1))])
    assert server.indices == {}
    adapter.ensure(INFO)  # the rebuild recreates it properly; the indexer's retry then succeeds
    other_process.upsert([mem("m1", "likes tea", unit(1))])
    assert [
        h.memory_id for h in other_process.search(SearchQuery("t1", "user:u1", "tea", None, mode="keyword", now=NOW))
    ] == ["m1"]


# -- client construction -------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_from_settings_signs_requests_for_a_managed_domain(aws_env: None) -> None:
    settings = Settings(
        vector_index="opensearch",
        opensearch_endpoint="https://search-contextiq-abc.eu-west-1.es.amazonaws.com/",
        opensearch_index="memories-dev",
    )
    index = OpenSearchVectorIndex.from_settings(settings)
    assert index.index_name == "memories-dev"
    connection = index._client.transport.connection_pool.connections[0]
    assert isinstance(connection, RequestsHttpConnection)
    assert connection.host == "https://search-contextiq-abc.eu-west-1.es.amazonaws.com:443"
    auth = connection.session.auth
    assert isinstance(auth, AWSV4SignerAuth)
    assert auth.service == "es"
    signed = auth(requests.Request("POST", f"{connection.host}/memories-dev/_search", data=b"{}").prepare())
    assert "/eu-west-1/es/aws4_request" in signed.headers["Authorization"]
    assert signed.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


def test_serverless_and_missing_endpoints_are_refused(aws_env: None) -> None:
    with pytest.raises(ValueError, match="Serverless"):
        build_client(Settings(opensearch_endpoint="https://x.eu-west-1.aoss.amazonaws.com", opensearch_service="aoss"))
    with pytest.raises(ValueError, match="ENDPOINT"):
        build_client(Settings(opensearch_endpoint=""))


def test_factory_builds_opensearch_with_read_your_writes_refresh(aws_env: None) -> None:
    """Consolidation reads its own writes: the factory's OpenSearch index waits for refresh on writes."""
    from contextiq.stores.vector.factory import build_vector_index

    settings = Settings(vector_index="opensearch", opensearch_endpoint="search-ciq.us-east-1.es.amazonaws.com")
    index = build_vector_index(settings)
    assert index._refresh == "wait_for"  # type: ignore[attr-defined]
    off = build_vector_index(settings.model_copy(update={"opensearch_refresh": "false"}))
    assert off._refresh is False  # type: ignore[attr-defined]


def test_indexes_get_the_stages_replica_count_when_one_is_set(server: FakeOpenSearchServer) -> None:
    """A Multi-AZ with Standby domain needs 3 copies of every shard: prod creates its indexes with 2 replicas."""
    standby = OpenSearchVectorIndex(fake_client(server), INDEX_NAME, replicas=2)
    standby.ensure(INFO)
    created = only(server, "PUT", f"/{INDEX_NAME}-000001")
    assert created.body["settings"]["index"]["number_of_replicas"] == 2
    server.requests.clear()
    standby.create_generation(INFO)  # blue/green reindex: the new generation too
    rebuilt = only(server, "PUT", f"/{INDEX_NAME}-000002")
    assert rebuilt.body["settings"]["index"]["number_of_replicas"] == 2
    assert "number_of_replicas" not in index_body(INFO)["settings"]["index"]  # the domain's default elsewhere
    assert Settings(opensearch_replicas=2).opensearch_replicas == 2
