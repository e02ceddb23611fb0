"""Request bodies and mapping of the OpenSearch adapter (``opensearch.py``): the index mapping and its
analysis chain, the k-NN and BM25 query bodies with their filters, and the document source. Pure
functions of their inputs, so the adapter's requests can be read and tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contextiq.stores.vector.attrs import number_bounds, term, terms
from contextiq.stores.vector.base import IndexedMemory, IndexInfo, SearchQuery
from contextiq.stores.vector.fusion import Scored
from contextiq.stores.vector.text import STOPWORDS

SCHEMA_VERSION = 3  # 2: event_time; 3: possessive + plural analysis, coverage, kind, attrs
TEXT_ANALYZER = "contextiq_text"
COVERAGE_SIMILARITY = "contextiq_coverage"
SOURCE_FIELDS = ["memory_id", "version"]


def doc_id(tenant: str, memory_id: str) -> str:
    return f"{tenant}:{memory_id}"


def index_body(
    info: IndexInfo, *, m: int = 16, ef_construction: int = 128, replicas: int | None = None
) -> dict[str, Any]:
    """The create-index request body (settings + mappings). ``replicas`` None keeps the domain's default
    (1); a Multi-AZ with Standby domain needs 3 copies of each shard, so its stages set 2."""
    replica_setting = {} if replicas is None else {"number_of_replicas": replicas}
    return {
        "settings": {
            "index": {
                **replica_setting,
                "knn": True,
                # summed idf of the matched query terms (no tf saturation, no length norm): the keyword
                # signal hybrid fusion uses (see fusion.py); Bm25Index.scores(coverage=True) mirrors it
                "similarity": {COVERAGE_SIMILARITY: {"type": "BM25", "k1": 0.0, "b": 0.0}},
            },
            "analysis": {
                # the chain text.tokenize mirrors token for token (see stores/vector/text.py)
                "filter": {
                    "contextiq_possessive": {"type": "stemmer", "language": "possessive_english"},
                    "contextiq_stop": {"type": "stop", "stopwords": sorted(STOPWORDS)},
                    "contextiq_plural": {"type": "stemmer", "language": "minimal_english"},
                },
                "analyzer": {
                    TEXT_ANALYZER: {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["contextiq_possessive", "lowercase", "contextiq_stop", "contextiq_plural"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {
                "model_id": info.model_id,
                "dimensions": info.dimensions,
                "schema_version": SCHEMA_VERSION,
            },
            "properties": {
                "tenant": {"type": "keyword"},
                "scope_key": {"type": "keyword"},
                "memory_id": {"type": "keyword"},
                "kind": {"type": "keyword"},
                "topics": {"type": "keyword"},
                "attrs": {"type": "keyword"},  # attribute terms (attrs.py); range filters compare them as strings
                "fact": {
                    "type": "text",
                    "analyzer": TEXT_ANALYZER,
                    "fields": {
                        "coverage": {"type": "text", "analyzer": TEXT_ANALYZER, "similarity": COVERAGE_SIMILARITY}
                    },
                },
                "vector": {
                    "type": "knn_vector",
                    "dimension": info.dimensions,
                    "method": {
                        "name": "hnsw",
                        "engine": "lucene",
                        "space_type": "cosinesimil",
                        "parameters": {"m": m, "ef_construction": ef_construction},
                    },
                },
                "version": {"type": "long"},
                "expire_at": {"type": "long"},
                "event_time": {"type": "long"},
                "deleted": {"type": "boolean"},
            },
        },
    }


def search_filters(query: SearchQuery, now: int) -> list[dict[str, Any]]:
    """Tenant and scope (exact), live, not expired, topics any-of."""
    filters: list[dict[str, Any]] = [
        {"term": {"tenant": query.tenant}},
        {"term": {"kind": query.kind}},
        {"term": {"scope_key": query.scope_key}},
        {"term": {"deleted": False}},
        {
            "bool": {
                "should": [
                    {"range": {"expire_at": {"gt": now}}},
                    {"bool": {"must_not": [{"exists": {"field": "expire_at"}}]}},
                ],
                "minimum_should_match": 1,
            }
        },
    ]
    if query.topics:
        filters.append({"terms": {"topics": sorted(set(query.topics))}})
    if query.after is not None or query.before is not None:
        bounds: dict[str, int] = {}
        if query.after is not None:
            bounds["gte"] = query.after
        if query.before is not None:
            bounds["lt"] = query.before
        filters.append({"range": {"event_time": bounds}})
    for cond in query.filters:
        if cond.is_range:
            lo, hi = number_bounds(cond.key, cond.gte, cond.lte)
            filters.append({"range": {"attrs": {"gte": lo, "lte": hi}}})
        else:
            filters.append({"terms": {"attrs": sorted({term(cond.key, v) for v in cond.values})}})
    return filters


def knn_body(query: SearchQuery, vector: Sequence[float], k: int, now: int) -> dict[str, Any]:
    return {
        "size": k,
        "_source": SOURCE_FIELDS,
        "query": {
            "knn": {
                "vector": {
                    "vector": [float(x) for x in vector],
                    "k": k,
                    "filter": {"bool": {"filter": search_filters(query, now)}},
                }
            }
        },
    }


def match_body(query: SearchQuery, k: int, now: int, field: str = "fact", text: str | None = None) -> dict[str, Any]:
    """BM25 on ``fact``; hybrid asks ``fact.coverage`` (the term-coverage similarity) instead, with the
    query ``text`` it chose (``query.text`` less its function words, for events)."""
    return {
        "size": k,
        "_source": SOURCE_FIELDS,
        "query": {
            "bool": {
                "must": [{"match": {field: {"query": query.text if text is None else text}}}],
                "filter": search_filters(query, now),
            }
        },
    }


def bulk_action(tenant: str, memory_id: str, version: int) -> dict[str, Any]:
    return {"index": {"_id": doc_id(tenant, memory_id), "version": version, "version_type": "external"}}


def document_source(d: IndexedMemory) -> dict[str, Any]:
    src: dict[str, Any] = {
        "tenant": d.tenant,
        "scope_key": d.scope_key,
        "memory_id": d.memory_id,
        "kind": d.kind,
        "topics": list(d.topics),
        "fact": d.fact,
        "vector": [float(x) for x in d.vector],
        "version": d.version,
        "deleted": False,
    }
    if d.expire_at is not None:
        src["expire_at"] = d.expire_at
    if d.event_time is not None:
        src["event_time"] = d.event_time
    if d.attrs:
        src["attrs"] = sorted(set(terms(d.attrs)))
    return src


def scored_hits(response: dict[str, Any]) -> list[Scored]:
    out: list[Scored] = []
    for hit in response.get("hits", {}).get("hits", []):
        src = hit.get("_source") or {}
        memory_id = src.get("memory_id") or str(hit.get("_id", "")).split(":", 1)[-1]
        out.append(Scored(memory_id, float(hit.get("_score") or 0.0), int(src.get("version", 0))))
    return out


def info_from_mapping(mapping: dict[str, Any]) -> IndexInfo | None:
    """IndexInfo from a ``GET <alias>/_mapping`` answer (keyed by the concrete index name)."""
    body: dict[str, Any] = next(iter(mapping.values()), {})
    mappings = body.get("mappings", {})
    meta = mappings.get("_meta") or {}
    vector = mappings.get("properties", {}).get("vector", {})
    if "model_id" not in meta:
        return None
    dims = int(vector.get("dimension", meta.get("dimensions", 0)))
    return IndexInfo(str(meta["model_id"]), dims)


def schema_from_mapping(mapping: dict[str, Any]) -> int:
    body: dict[str, Any] = next(iter(mapping.values()), {})
    return int((body.get("mappings", {}).get("_meta") or {}).get("schema_version", 1))
