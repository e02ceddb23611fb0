"""The OpenSearch adapter: a k-NN index on a managed Amazon OpenSearch Service domain (SigV4, "es").

One index holds every tenant. It is reached through an alias (``index_name``) that points at the
concrete index ``{index_name}-000001``: writes use ``require_alias=true``, so a write that arrives while
the index is dropped (e.g. during ``scripts/reindex.py``) fails and is retried by the stream instead of
auto-creating an index with a dynamic, non-k-NN mapping. Documents:

* ``_id`` = ``{tenant}:{memory_id}``; source fields ``tenant``, ``scope_key``, ``memory_id``, ``topics``
  (keyword), ``fact`` (text, standard analyzer + English stop words, BM25), ``vector`` (``knn_vector``,
  HNSW on the Lucene engine, ``cosinesimil``), ``version`` (long), ``expire_at`` (long, epoch
  seconds, absent = never), ``deleted`` (boolean). Model and dimension live in the mapping ``_meta``.
* Writes go through ``_bulk`` with ``version_type=external`` and ``version`` = the memory version, so
  OpenSearch itself rejects anything not newer than what it holds (a 409 ``version_conflict_engine_
  exception`` per item: a newer version is already indexed, which is harmless and ignored).
* A delete indexes a tombstone document (``deleted: true``) at its version, so a late upsert of an
  older version cannot resurrect the memory.

Searches put every filter inside the query so it applies during the search: for k-NN, Lucene's
efficient filtering inside the ``knn`` clause (exact pre-filtering when the filtered set is small,
filtered HNSW otherwise), so ``k`` results come back whenever ``k`` documents match; for BM25, the
same filters in ``bool.filter``. Hybrid runs both in one ``_msearch`` round trip and fuses them
client-side with ``fusion.fuse`` (same function as the embedded index; no search pipeline needed,
works on every 2.x domain).

Lucene rather than Faiss: Lucene supports ``cosinesimil`` on every 2.x version and efficient
filtering since 2.4, whereas Faiss only accepts ``cosinesimil`` from 2.19 on; at the sizes a memory
service holds per domain (up to a few million vectors) Lucene's latency is the better one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contextiq.stores.vector.base import (
    IndexedMemory,
    IndexInfo,
    IndexMismatchError,
    SearchHit,
    SearchQuery,
)
from contextiq.stores.vector.fusion import (
    DEFAULT_KEYWORD_WEIGHT,
    HybridFusion,
    Scored,
    finalize,
    fuse,
    hybrid_pool,
)
from contextiq.stores.vector.opensearch_bodies import (
    SCHEMA_VERSION,
    bulk_action,
    document_source,
    index_body,
    info_from_mapping,
    knn_body,
    match_body,
    schema_from_mapping,
    scored_hits,
)
from contextiq.stores.vector.text import keyword_query_text

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from contextiq.config import Settings

log = logging.getLogger(__name__)


class OpenSearchIndexError(RuntimeError):
    """OpenSearch refused a write or answered with something unexpected."""


class OpenSearchVectorIndex:
    """VectorIndex over one OpenSearch index; see the module docstring."""

    def __init__(
        self,
        client: OpenSearch,
        index_name: str,
        *,
        refresh: bool | str = False,
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        bulk_chunk: int = 500,
        replicas: int | None = None,
    ) -> None:
        self._client = client
        self._replicas = replicas
        self._index = index_name
        self._refresh = refresh
        self._keyword_weight = keyword_weight
        self._bulk_chunk = bulk_chunk
        self._info: IndexInfo | None = None
        self._require_alias = True  # False only for a writer of a not-yet-live generation (blue/green)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> OpenSearchVectorIndex:
        """A SigV4-signed client for ``settings.opensearch_endpoint`` (a managed domain, service "es")."""
        return cls(build_client(settings), settings.opensearch_index, replicas=settings.opensearch_replicas, **kwargs)

    @property
    def index_name(self) -> str:
        """The alias every request goes through."""
        return self._index

    @property
    def concrete_index_name(self) -> str:
        return f"{self._index}-000001"

    # -- VectorIndex -------------------------------------------------------------------------------

    def ensure(self, info: IndexInfo) -> None:
        from opensearchpy.exceptions import RequestError

        if self._info == info:
            return
        if not self._client.indices.exists(index=self._index):
            body = {**index_body(info, replicas=self._replicas), "aliases": {self._index: {}}}
            try:
                self._client.indices.create(index=self.concrete_index_name, body=body)
                self._info = info
                return
            except RequestError as exc:
                if _error_type(exc) != "resource_already_exists_exception":
                    raise
                # another writer created it concurrently: check what it created
        mapping = self._client.indices.get_mapping(index=self._index)
        have = info_from_mapping(mapping)
        schema = schema_from_mapping(mapping)
        if have == info and schema != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"OpenSearch index {self._index!r} has document schema {schema}, this code writes schema "
                f"{SCHEMA_VERSION}; rebuild it with scripts/reindex.py (drop + re-index from DynamoDB)"
            )
        if have != info:
            have_text = f"{have.model_id} ({have.dimensions} dims)" if have else "an unknown model"
            raise IndexMismatchError(
                f"OpenSearch index {self._index!r} was built with {have_text} but {info.model_id} "
                f"({info.dimensions} dims) is configured; rebuild it with scripts/reindex.py "
                "(drop + re-index from DynamoDB) or configure another CONTEXTIQ_OPENSEARCH_INDEX"
            )
        self._info = info

    def upsert(self, docs: Sequence[IndexedMemory]) -> None:
        if self._info is not None:
            for d in docs:
                if len(d.vector) != self._info.dimensions:
                    raise IndexMismatchError(
                        f"memory {d.memory_id} has a {len(d.vector)}-dimensional vector; index "
                        f"{self._index!r} holds {self._info.dimensions}-dimensional vectors"
                    )
        lines: list[str] = []
        for d in docs:
            lines.append(_dumps(bulk_action(d.tenant, d.memory_id, d.version)))
            lines.append(_dumps(document_source(d)))
        self._bulk(lines)

    def delete(self, tenant: str, memory_id: str, version: int) -> None:
        tombstone = {"tenant": tenant, "memory_id": memory_id, "version": version, "deleted": True}
        self._bulk([_dumps(bulk_action(tenant, memory_id, version)), _dumps(tombstone)])

    def search(self, query: SearchQuery) -> list[SearchHit]:
        if query.top_k <= 0:
            return []
        now = query.now if query.now > 0 else int(time.time())
        mode = query.mode
        if mode == "hybrid" and query.vector is None:
            mode = "keyword"
        if mode in ("semantic", "hybrid"):
            if query.vector is None:
                raise ValueError("semantic search needs a query vector")
            if self._info is not None and len(query.vector) != self._info.dimensions:
                raise IndexMismatchError(
                    f"query vector has {len(query.vector)} dimensions; index {self._index!r} holds "
                    f"{self._info.dimensions}-dimensional vectors"
                )
        if mode == "semantic":
            assert query.vector is not None
            hits = self._search(knn_body(query, query.vector, query.top_k, now))
        elif mode == "keyword":
            hits = self._search(match_body(query, query.top_k, now))
        else:
            assert query.vector is not None
            pool = hybrid_pool(query.top_k)
            fusion = query.fusion or HybridFusion(self._keyword_weight)
            text = keyword_query_text(query.text) if fusion.drop_function_words else query.text
            semantic, keyword = self._msearch(
                [knn_body(query, query.vector, pool, now), match_body(query, pool, now, "fact.coverage", text)]
            )
            hits = fuse(semantic, keyword, fusion)
        return finalize(hits, query.top_k, query.min_score)

    def drop(self) -> None:
        """Delete the concrete index (or indices) behind the alias; a missing index is fine."""
        from opensearchpy.exceptions import NotFoundError

        self._info = None
        try:
            aliases = self._client.indices.get_alias(name=self._index)
        except NotFoundError:
            aliases = {}
        targets = sorted(aliases) or [self._index]  # no alias: maybe a plain index of that name
        self._client.indices.delete(index=",".join(targets), ignore=[404])

    # -- blue/green rebuild (scripts/reindex.py via services.indexing.reindex) ------------------------

    def alias_targets(self) -> list[str]:
        """The concrete indexes the alias points at now (empty when it does not exist)."""
        from opensearchpy.exceptions import NotFoundError

        try:
            return sorted(self._client.indices.get_alias(name=self._index))
        except NotFoundError:
            return []

    def create_generation(self, info: IndexInfo) -> OpenSearchVectorIndex:
        """Create the next concrete index (``<alias>-000002``...) *outside* the alias and return a writer
        for it. Searches and the stream indexer keep using the live index until :meth:`swap_to`."""
        numbers = [int(n.rsplit("-", 1)[1]) for n in self.alias_targets() if n.rsplit("-", 1)[-1].isdigit()]
        name = f"{self._index}-{max(numbers, default=0) + 1:06d}"
        self._client.indices.create(index=name, body=index_body(info, replicas=self._replicas))
        writer = OpenSearchVectorIndex(
            self._client,
            name,
            refresh=False,
            keyword_weight=self._keyword_weight,
            bulk_chunk=self._bulk_chunk,
            replicas=self._replicas,
        )
        writer._require_alias = False
        writer._info = info
        return writer

    def swap_to(self, generation: OpenSearchVectorIndex) -> list[str]:
        """Point the alias at ``generation`` in one atomic ``_aliases`` call, then delete the indexes it
        pointed at before. Returns the deleted names."""
        old = self.alias_targets()
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self._index}} for name in old]
        actions.append({"add": {"index": generation.index_name, "alias": self._index}})
        self._client.indices.update_aliases(body={"actions": actions})
        self._info = generation._info
        if old:
            self._client.indices.delete(index=",".join(old), ignore=[404])
        return old

    # -- internals ---------------------------------------------------------------------------------

    def _bulk(self, lines: Sequence[str]) -> None:
        step = 2 * self._bulk_chunk
        for start in range(0, len(lines), step):
            body = "\n".join(lines[start : start + step]) + "\n"
            kwargs: dict[str, Any] = {"require_alias": "true"} if self._require_alias else {}
            if self._refresh:
                kwargs["refresh"] = _refresh_param(self._refresh)
            response = self._client.bulk(body=body, index=self._index, **kwargs)
            if not response.get("errors"):
                continue
            failures = []
            for item in response.get("items", []):
                result = next(iter(item.values()))
                status = int(result.get("status", 0))
                if status < 300 or status == 409:  # 409: an equal or newer version is indexed
                    continue
                error = result.get("error") or {}
                failures.append(f"{result.get('_id')}: {status} {error.get('type')}: {error.get('reason')}")
            if failures:
                raise OpenSearchIndexError(
                    f"bulk write to {self._index!r} failed for {len(failures)} document(s): " + "; ".join(failures[:5])
                )

    def _search(self, body: dict[str, Any]) -> list[Scored]:
        from opensearchpy.exceptions import NotFoundError

        try:
            response = self._client.search(index=self._index, body=body)
        except NotFoundError:
            return []  # no index (never created, or dropped): nothing matches
        return scored_hits(response)

    def _msearch(self, bodies: Sequence[dict[str, Any]]) -> list[list[Scored]]:
        from opensearchpy.exceptions import NotFoundError

        lines: list[str] = []
        for body in bodies:
            lines.append("{}")  # header: the index comes from the path, so IAM can scope it to the index
            lines.append(_dumps(body))
        try:
            response = self._client.msearch(body="\n".join(lines) + "\n", index=self._index)
        except NotFoundError:
            return [[] for _ in bodies]
        results: list[list[Scored]] = []
        for item in response.get("responses", []):
            if "error" in item:
                error = item["error"]
                etype = error.get("type") if isinstance(error, dict) else str(error)
                if etype == "index_not_found_exception":
                    results.append([])
                    continue
                raise OpenSearchIndexError(f"search on {self._index!r} failed: {error}")
            results.append(scored_hits(item))
        if len(results) != len(bodies):
            raise OpenSearchIndexError(f"_msearch returned {len(results)} responses for {len(bodies)} searches")
        return results


def build_client(settings: Settings) -> OpenSearch:
    """opensearch-py client for a managed domain endpoint, signing requests with SigV4."""
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    if settings.opensearch_service != "es":
        raise ValueError(
            "only managed OpenSearch Service domains (service 'es') are supported: Serverless vector "
            "search collections reject custom document ids and external versions, which the index "
            "relies on (see docs/search.md)"
        )
    if not settings.opensearch_endpoint:
        raise ValueError("CONTEXTIQ_OPENSEARCH_ENDPOINT is not set")
    host = settings.opensearch_endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found for signing OpenSearch requests")
    auth = AWSV4SignerAuth(credentials, settings.region, settings.opensearch_service)
    return OpenSearch(
        hosts=[{"host": host, "port": 443}],
        http_auth=auth,
        use_ssl=True,
        verify_certs=True,
        connection_class=RequestsHttpConnection,
        pool_maxsize=16,
        timeout=10,
        max_retries=3,
        retry_on_timeout=True,
        retry_on_status=(502, 503, 504, 429),
    )


def _error_type(exc: Any) -> str | None:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return error.get("type")
    error = getattr(exc, "error", None)
    return error if isinstance(error, str) else None


def _refresh_param(refresh: bool | str) -> str:
    return refresh if isinstance(refresh, str) else ("true" if refresh else "false")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
