"""A minimal in-memory OpenSearch 2.x behind opensearch-py's ``Connection`` interface.

It does two jobs for the contract suite:

1. It **checks request shapes** against OpenSearch's documented formats and rejects what a real
   domain would reject (with the documented error body and status): index creation must enable
   ``index.knn`` and map vectors as ``knn_vector`` with a supported engine/space combination (a 2.17
   domain: Faiss has no ``cosinesimil`` yet); ``_bulk`` must be NDJSON ending in a newline, with one
   action line per operation and external versions; documents must fit the strict mapping; ``_search``
   may only use the query clauses implemented here (``knn`` with a ``filter``, ``bool``, ``match``,
   ``term``, ``terms``, ``range``, ``exists``).
2. It **emulates the behaviour** the adapter relies on, computing results itself: external
   versioning with per-item 409 conflicts, k-NN with the ``cosinesimil`` score ``(1 + cos) / 2`` over
   the filtered documents (efficient filtering: exact when the filtered set is small), BM25 (k1 1.2,
   b 0.75, Lucene's idf, stats over the whole index like a single shard) for ``match``, and
   documented response bodies (``hits.hits[]._id/_score/_source``, bulk ``items[].index.status``,
   ``_msearch`` ``responses[]``).

Every request is recorded in ``server.requests`` so tests can assert exact bodies.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from opensearchpy import Connection, OpenSearch

# Lucene's English stop words ("_english_"), written out independently of the adapter's copy.
_ENGLISH_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the their
then there these they this to was will with"""
_ENGLISH = frozenset(_ENGLISH_TEXT.split())
_TOKEN = re.compile(r"\w+(?:(?:['’＇.]|(?<=\d),(?=\d))\w+)*")  # UAX #29 MidLetter/MidNumLet/MidNum
_KNOWN_FIELD_TYPES = {"keyword", "text", "knn_vector", "long", "integer", "boolean", "float", "date"}
_ENGINE_SPACES = {  # OpenSearch 2.17 (a common managed-domain version)
    "lucene": {"l2", "cosinesimil", "innerproduct"},
    "faiss": {"l2", "innerproduct"},
    "nmslib": {"l2", "l1", "linf", "cosinesimil", "innerproduct"},
}
_ENGINE_PARAMS = {
    "lucene": {"m", "ef_construction"},
    "faiss": {"m", "ef_construction", "ef_search", "encoder"},
    "nmslib": {"m", "ef_construction"},
}
_SEARCH_KEYS = {"size", "query", "_source", "track_total_hits", "min_score", "from"}
_VERSION_TYPES = {"internal", "external", "external_gte"}


class FakeOpenSearchError(Exception):
    def __init__(self, status: int, etype: str, reason: str, index: str | None = None) -> None:
        super().__init__(f"{status} {etype}: {reason}")
        self.status = status
        self.body: dict[str, Any] = {
            "error": {
                "root_cause": [{"type": etype, "reason": reason}],
                "type": etype,
                "reason": reason,
                **({"index": index} if index else {}),
            },
            "status": status,
        }


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any]
    body: Any  # parsed JSON, or a list of parsed NDJSON lines, or None
    raw: bytes | None
    status: int = 0
    response: Any = None


@dataclass
class _Doc:
    source: dict[str, Any]
    version: int
    seq: int


@dataclass
class _Index:
    name: str
    settings: dict[str, Any]
    mappings: dict[str, Any]
    docs: dict[str, _Doc] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = self.mappings.get("properties", {})
        return props


class FakeOpenSearchServer:
    def __init__(self) -> None:
        self.indices: dict[str, _Index] = {}
        self.aliases: dict[str, str] = {}  # alias -> concrete index
        self.requests: list[Request] = []
        self._seq = 0

    # -- routing ------------------------------------------------------------------------------------

    def handle(self, method: str, url: str, params: dict[str, Any], raw: bytes | None) -> tuple[int, Any]:
        path = unquote(url.split("?", 1)[0])
        parts = [p for p in path.split("/") if p]
        request = Request(method, path, dict(params), None, raw)
        self.requests.append(request)
        try:
            request.body = self._parse_body(parts, raw)
            status, response = self._route(method, parts, params, request.body)
        except FakeOpenSearchError as exc:
            status, response = exc.status, exc.body
        request.status, request.response = status, response
        return status, response

    def _parse_body(self, parts: list[str], raw: bytes | None) -> Any:
        if raw is None:
            return None
        text = raw.decode("utf-8")
        if parts and parts[-1] in ("_bulk", "_msearch"):
            if not text.endswith("\n"):
                raise FakeOpenSearchError(
                    400,
                    "illegal_argument_exception",
                    "The bulk request must be terminated by a newline [\\n]",
                )
            return [json.loads(line) for line in text.split("\n") if line.strip()]
        return json.loads(text) if text.strip() else None

    def _route(self, method: str, parts: list[str], params: dict[str, Any], body: Any) -> tuple[int, Any]:
        if len(parts) == 1 and not parts[0].startswith("_"):
            name = parts[0]
            if method == "HEAD":
                return (200, "") if (name in self.indices or name in self.aliases) else (404, "")
            if method == "PUT":
                return self._create_index(name, body)
            if method == "DELETE":
                return self._delete_indices(name.split(","))
            if method == "GET":
                idx = self._index(name)
                return 200, {idx.name: {"mappings": idx.mappings, "settings": {}}}
        if parts[-1] == "_mapping" and method == "GET" and len(parts) == 2:
            idx = self._index(parts[0])
            return 200, {idx.name: {"mappings": idx.mappings}}
        if parts[0] == "_alias" and method == "GET" and len(parts) == 2:
            alias = parts[1]
            if alias not in self.aliases:
                return 404, {"error": f"alias [{alias}] missing", "status": 404}
            return 200, {self.aliases[alias]: {"aliases": {alias: {}}}}
        if parts == ["_aliases"] and method == "POST":
            return self._update_aliases(body)
        if parts[-1] == "_bulk" and method in ("POST", "PUT"):
            return self._bulk(parts[0] if len(parts) == 2 else None, body, params)
        if parts[-1] == "_search" and method in ("POST", "GET") and len(parts) == 2:
            return 200, self._search(self._index(parts[0]), body)
        if parts[-1] == "_msearch" and method in ("POST", "GET"):
            return 200, self._msearch(parts[0] if len(parts) == 2 else None, body)
        raise FakeOpenSearchError(400, "unsupported_by_fake", f"{method} /{'/'.join(parts)}")

    def _update_aliases(self, body: dict[str, Any]) -> tuple[int, Any]:
        """``POST /_aliases``: every action applies, or none does (OpenSearch applies them atomically)."""
        aliases = dict(self.aliases)
        for action in body["actions"]:
            ((op, spec),) = action.items()
            if spec["index"] not in self.indices:
                raise FakeOpenSearchError(404, "index_not_found_exception", f"no such index [{spec['index']}]")
            if op == "add":
                aliases[spec["alias"]] = spec["index"]
            elif op == "remove" and aliases.get(spec["alias"]) == spec["index"]:
                del aliases[spec["alias"]]
            elif op == "remove":
                raise FakeOpenSearchError(404, "aliases_not_found_exception", f"aliases [{spec['alias']}] missing")
            else:
                raise FakeOpenSearchError(400, "unsupported_by_fake", f"alias action {op}")
        self.aliases = aliases
        return 200, {"acknowledged": True}

    def _index(self, name: str) -> _Index:
        idx = self.indices.get(self.aliases.get(name, name))
        if idx is None:
            raise FakeOpenSearchError(404, "index_not_found_exception", f"no such index [{name}]", name)
        return idx

    # -- index admin --------------------------------------------------------------------------------

    def _create_index(self, name: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if name in self.indices:
            raise FakeOpenSearchError(400, "resource_already_exists_exception", f"index [{name}] already exists", name)
        if name in self.aliases:
            raise FakeOpenSearchError(400, "invalid_index_name_exception", f"[{name}] an alias with the same name")
        body = body or {}
        aliases = body.get("aliases", {})
        for alias in aliases:
            if alias in self.indices:
                raise FakeOpenSearchError(
                    400, "invalid_alias_name_exception", f"Invalid alias name [{alias}]: an index exists with that name"
                )
        unknown = set(body) - {"settings", "mappings", "aliases"}
        if unknown:
            raise FakeOpenSearchError(400, "parse_exception", f"unknown key(s) {sorted(unknown)}")
        settings = body.get("settings", {})
        mappings = body.get("mappings", {})
        analyzers = settings.get("analysis", {}).get("analyzer", {})
        for aname, adef in analyzers.items():
            if adef.get("type") not in ("standard", "simple", "whitespace", "english", "custom"):
                raise FakeOpenSearchError(400, "illegal_argument_exception", f"analyzer [{aname}] type")
        has_knn_field = False
        for fname, fdef in mappings.get("properties", {}).items():
            ftype = fdef.get("type")
            if ftype not in _KNOWN_FIELD_TYPES:
                raise FakeOpenSearchError(
                    400,
                    "mapper_parsing_exception",
                    f"No handler for type [{ftype}] declared on field [{fname}]",
                )
            analyzer = fdef.get("analyzer") if ftype == "text" else None
            if analyzer is not None and analyzer not in analyzers and analyzer not in ("standard", "english"):
                raise FakeOpenSearchError(
                    400,
                    "mapper_parsing_exception",
                    f"analyzer [{fdef['analyzer']}] has not been configured",
                )
            if ftype == "knn_vector":
                has_knn_field = True
                self._check_knn_mapping(fname, fdef)
        if has_knn_field and settings.get("index", {}).get("knn") is not True:
            raise FakeOpenSearchError(
                400,
                "mapper_parsing_exception",
                "knn_vector fields need index.knn: true for approximate search",
            )
        self.indices[name] = _Index(name, settings, mappings)
        for alias in aliases:
            self.aliases[alias] = name
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    @staticmethod
    def _check_knn_mapping(fname: str, fdef: dict[str, Any]) -> None:
        dim = fdef.get("dimension")
        if not isinstance(dim, int) or not 1 <= dim <= 16000:
            raise FakeOpenSearchError(400, "mapper_parsing_exception", f"[{fname}] bad dimension {dim!r}")
        method = fdef.get("method")
        if method is None:
            return
        engine = method.get("engine", "faiss")
        space = method.get("space_type", fdef.get("space_type", "l2"))
        if method.get("name") != "hnsw" or engine not in _ENGINE_SPACES:
            raise FakeOpenSearchError(400, "mapper_parsing_exception", f"[{fname}] unsupported method {method}")
        if space not in _ENGINE_SPACES[engine]:
            raise FakeOpenSearchError(
                400,
                "mapper_parsing_exception",
                f'Validation Failed: 1: "hnsw" with "{engine}" configuration does not support space type: "{space}".;',
            )
        extra = set(method.get("parameters", {})) - _ENGINE_PARAMS[engine]
        if extra:
            raise FakeOpenSearchError(400, "mapper_parsing_exception", f"[{fname}] unknown parameters {extra}")

    def _delete_indices(self, names: list[str]) -> tuple[int, Any]:
        for name in names:
            if name in self.aliases:
                raise FakeOpenSearchError(
                    400,
                    "illegal_argument_exception",
                    f"The provided expression [{name}] matches an alias, specify the corresponding concrete "
                    "indices instead.",
                )
            if name not in self.indices:
                raise FakeOpenSearchError(404, "index_not_found_exception", f"no such index [{name}]", name)
        for name in names:
            del self.indices[name]
            for alias in [a for a, target in self.aliases.items() if target == name]:
                del self.aliases[alias]
        return 200, {"acknowledged": True}

    # -- documents ----------------------------------------------------------------------------------

    def _bulk(self, path_index: str | None, lines: list[Any], params: dict[str, Any]) -> tuple[int, Any]:
        if params.get("refresh") not in (None, "true", "false", "wait_for", True, False):
            raise FakeOpenSearchError(400, "illegal_argument_exception", f"refresh={params['refresh']}")
        items: list[dict[str, Any]] = []
        i = 0
        while i < len(lines):
            action_line = lines[i]
            if not isinstance(action_line, dict) or len(action_line) != 1:
                raise FakeOpenSearchError(400, "illegal_argument_exception", f"Malformed action {action_line}")
            (op, meta) = next(iter(action_line.items()))
            if op != "index":
                raise FakeOpenSearchError(400, "unsupported_by_fake", f"bulk action {op}")
            if i + 1 >= len(lines):
                raise FakeOpenSearchError(400, "illegal_argument_exception", "index action without source line")
            source = lines[i + 1]
            i += 2
            items.append({op: self._index_one(path_index, meta, source, params.get("require_alias") == "true")})
        errors = any(it["index"]["status"] >= 300 for it in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _index_one(
        self, path_index: str | None, meta: dict[str, Any], source: Any, require_alias: bool
    ) -> dict[str, Any]:
        unknown = set(meta) - {"_index", "_id", "version", "version_type", "routing"}
        if unknown:
            raise FakeOpenSearchError(400, "illegal_argument_exception", f"Action/metadata line {unknown}")
        name = meta.get("_index") or path_index
        doc_id = meta.get("_id")
        base: dict[str, Any] = {"_index": self.aliases.get(name or "", name), "_id": doc_id}
        try:
            if name is None:
                raise FakeOpenSearchError(400, "action_request_validation_exception", "index is missing")
            if require_alias and name not in self.aliases:
                raise FakeOpenSearchError(
                    404,
                    "index_not_found_exception",
                    f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] is not an alias",
                    name,
                )
            if name not in self.indices and name not in self.aliases:
                self._create_index(name, {})  # auto-create with a dynamic mapping: what require_alias prevents
            idx = self._index(name)
            if not isinstance(doc_id, str) or not doc_id or len(doc_id.encode()) > 512:
                raise FakeOpenSearchError(400, "action_request_validation_exception", "id is missing/too long")
            vtype = meta.get("version_type", "internal")
            if vtype not in _VERSION_TYPES:
                raise FakeOpenSearchError(400, "illegal_argument_exception", f"version_type {vtype}")
            if vtype != "external":
                raise AssertionError(f"the adapter must use version_type=external, got {vtype}")
            version = meta.get("version")
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise FakeOpenSearchError(
                    400, "action_request_validation_exception", "illegal version value [-1] for version type"
                )
            self._check_source(idx, source)
            current = idx.docs.get(doc_id)
            if current is not None and current.version >= version:
                raise FakeOpenSearchError(
                    409,
                    "version_conflict_engine_exception",
                    f"[{doc_id}]: version conflict, current version [{current.version}] is higher or equal "
                    f"to the one provided [{version}]",
                    name,
                )
            self._seq += 1
            idx.docs[doc_id] = _Doc(source, version, self._seq)
            result = "updated" if current is not None else "created"
            return {
                **base,
                "_version": version,
                "result": result,
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": self._seq,
                "_primary_term": 1,
                "status": 200 if current is not None else 201,
            }
        except FakeOpenSearchError as exc:
            return {**base, "status": exc.status, "error": dict(exc.body["error"])}

    def _check_source(self, idx: _Index, source: Any) -> None:
        if not isinstance(source, dict):
            raise FakeOpenSearchError(400, "mapper_parsing_exception", "source is not an object")
        props = idx.properties
        for key, value in source.items():
            fdef = props.get(key)
            if fdef is None:
                if idx.mappings.get("dynamic") == "strict":
                    raise FakeOpenSearchError(
                        400,
                        "strict_dynamic_mapping_exception",
                        f"mapping set to strict, dynamic introduction of [{key}] within [_doc] is not allowed",
                    )
                continue
            ftype = fdef["type"]
            values = value if isinstance(value, list) and ftype != "knn_vector" else [value]
            for v in values:
                ok = {
                    "keyword": isinstance(v, str),
                    "text": isinstance(v, str),
                    "long": isinstance(v, int) and not isinstance(v, bool),
                    "integer": isinstance(v, int) and not isinstance(v, bool),
                    "boolean": isinstance(v, bool),
                    "float": isinstance(v, (int, float)),
                    "date": isinstance(v, (int, str)),
                    "knn_vector": isinstance(v, list) and all(isinstance(x, (int, float)) for x in v),
                }[ftype]
                if not ok:
                    raise FakeOpenSearchError(400, "mapper_parsing_exception", f"failed to parse field [{key}]")
            if ftype == "knn_vector":
                if len(value) != fdef["dimension"]:
                    raise FakeOpenSearchError(
                        400,
                        "mapper_parsing_exception",
                        f"Vector dimension mismatch. Expected: {fdef['dimension']}, Given: {len(value)}",
                    )
                space = fdef.get("method", {}).get("space_type", "l2")
                if space == "cosinesimil" and not any(value):
                    raise FakeOpenSearchError(
                        400, "mapper_parsing_exception", "zero vector is not supported for cosinesimil"
                    )

    # -- search ---------------------------------------------------------------------------------------

    def _msearch(self, path_index: str | None, lines: list[Any]) -> dict[str, Any]:
        if len(lines) % 2:
            raise FakeOpenSearchError(400, "illegal_argument_exception", "msearch needs header/body pairs")
        responses = []
        for header, body in zip(lines[::2], lines[1::2], strict=True):
            name = header.get("index") or path_index or ""
            try:
                responses.append({**self._search(self._index(name), body), "status": 200})
            except FakeOpenSearchError as exc:
                responses.append(exc.body)
        return {"took": 1, "responses": responses}

    def _search(self, idx: _Index, body: dict[str, Any] | None) -> dict[str, Any]:
        body = body or {}
        unknown = set(body) - _SEARCH_KEYS
        if unknown:
            raise FakeOpenSearchError(400, "parsing_exception", f"Unknown key(s) {sorted(unknown)} in search")
        size = body.get("size", 10)
        query = body.get("query", {"match_all": {}})
        docs = list(idx.docs.items())
        scored = self._score(idx, query, docs)
        scored.sort(key=lambda t: (-t[2], t[1].seq))
        if "min_score" in body:
            scored = [s for s in scored if s[2] >= body["min_score"]]
        page = scored[: int(size)]
        fields = body.get("_source", True)
        hits = []
        for doc_id, doc, score in page:
            if fields is True:
                src = doc.source
            elif fields is False:
                src = None
            else:
                src = {k: v for k, v in doc.source.items() if k in fields}
            hit: dict[str, Any] = {"_index": idx.name, "_id": doc_id, "_score": score}
            if src is not None:
                hit["_source"] = src
            hits.append(hit)
        return {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": len(scored), "relation": "eq"},
                "max_score": page[0][2] if page else None,
                "hits": hits,
            },
        }

    def _score(self, idx: _Index, query: dict[str, Any], docs: list[tuple[str, _Doc]]) -> list[tuple[str, _Doc, float]]:
        (kind, spec) = self._single(query)
        if kind == "knn":
            return self._knn(idx, spec, docs)
        if kind == "bool":
            return self._bool_scored(idx, spec, docs)
        if kind == "match":
            return self._match(idx, spec, docs)
        if kind == "match_all":
            return [(i, d, 1.0) for i, d in docs]
        # a pure filter clause used as a query scores 1.0 (constant score)
        return [(i, d, 1.0) for i, d in docs if self._matches(idx, query, d.source)]

    @staticmethod
    def _single(query: dict[str, Any]) -> tuple[str, Any]:
        if not isinstance(query, dict) or len(query) != 1:
            raise FakeOpenSearchError(400, "parsing_exception", f"query must have exactly one clause: {query}")
        return next(iter(query.items()))

    def _knn(self, idx: _Index, spec: dict[str, Any], docs: list[tuple[str, _Doc]]) -> list[Any]:
        (fname, params) = self._single(spec)
        fdef = idx.properties.get(fname)
        if fdef is None or fdef["type"] != "knn_vector":
            raise FakeOpenSearchError(400, "query_shard_exception", f"Field '{fname}' is not knn_vector type.")
        unknown = set(params) - {"vector", "k", "filter", "min_score", "max_distance"}
        if unknown:
            raise FakeOpenSearchError(400, "parsing_exception", f"[knn] unknown field {sorted(unknown)}")
        vector = params.get("vector")
        k = params.get("k")
        if not isinstance(vector, list) or len(vector) != fdef["dimension"]:
            raise FakeOpenSearchError(400, "illegal_argument_exception", "query vector dimension mismatch")
        if not isinstance(k, int) or k < 1 or k > 10000:
            raise FakeOpenSearchError(400, "illegal_argument_exception", f"[knn] requires 0 < k <= 10000: {k}")
        space = fdef.get("method", {}).get("space_type", "l2")
        assert space == "cosinesimil", "the fake scores cosinesimil only"
        flt = params.get("filter")
        out = []
        for doc_id, doc in docs:
            v = doc.source.get(fname)
            if v is None or (flt is not None and not self._matches(idx, flt, doc.source)):
                continue
            out.append((doc_id, doc, (1.0 + _cos(vector, v)) / 2.0))
        out.sort(key=lambda t: (-t[2], t[1].seq))
        return out[:k]

    def _bool_scored(self, idx: _Index, spec: dict[str, Any], docs: list[tuple[str, _Doc]]) -> list[Any]:
        musts = _as_list(spec.get("must"))
        scorers = [{i: score for i, _d, score in self._score(idx, m, docs)} for m in musts]
        rest = {**spec, "must": []}  # filter / should / must_not, checked without scoring
        out = []
        for doc_id, doc in docs:
            if not self._matches(idx, {"bool": rest}, doc.source):
                continue
            if any(doc_id not in s for s in scorers):
                continue
            out.append((doc_id, doc, sum(s[doc_id] for s in scorers)))
        return out

    def _match(self, idx: _Index, spec: dict[str, Any], docs: list[tuple[str, _Doc]]) -> list[Any]:
        (fname, params) = self._single(spec)
        text = params["query"] if isinstance(params, dict) else params
        if isinstance(params, dict) and set(params) - {"query", "operator"}:
            raise FakeOpenSearchError(400, "parsing_exception", f"[match] unknown params {params}")
        analyze = _field_analyzer(idx, fname)
        k1, b = _bm25_params(idx, fname)
        source_field = fname.split(".", 1)[0]  # a multi-field ("fact.coverage") indexes its parent's value
        terms = analyze(str(text))
        field_docs = [
            (i, d, analyze(d.source[source_field])) for i, d in docs if isinstance(d.source.get(source_field), str)
        ]
        if not terms or not field_docs:
            return []
        n = len(field_docs)
        avgdl = sum(len(t) for _, _, t in field_docs) / n
        df = Counter(term for _, _, toks in field_docs for term in set(toks))
        out = []
        for doc_id, doc, toks in field_docs:
            tf = Counter(toks)
            score = 0.0
            for term in terms:
                if tf[term]:
                    idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                    score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(toks) / avgdl))
            if score > 0:
                out.append((doc_id, doc, score))
        return out

    def _matches(self, idx: _Index, query: dict[str, Any], src: dict[str, Any]) -> bool:
        (kind, spec) = self._single(query)
        if kind == "bool":
            unknown = set(spec) - {"must", "filter", "should", "must_not", "minimum_should_match"}
            if unknown:
                raise FakeOpenSearchError(400, "parsing_exception", f"[bool] unknown {sorted(unknown)}")
            if not all(self._matches(idx, q, src) for q in _as_list(spec.get("must")) + _as_list(spec.get("filter"))):
                return False
            if any(self._matches(idx, q, src) for q in _as_list(spec.get("must_not"))):
                return False
            should = _as_list(spec.get("should"))
            if should:
                required = int(spec.get("minimum_should_match", 0 if ("must" in spec or "filter" in spec) else 1))
                return sum(self._matches(idx, q, src) for q in should) >= required
            return True
        if kind == "term":
            (fname, value) = self._single(spec)
            if isinstance(value, dict):
                value = value["value"]
            self._check_field(idx, fname, {"keyword", "boolean", "long", "integer"})
            return value in _field_values(src, fname)
        if kind == "terms":
            (fname, values) = self._single(spec)
            self._check_field(idx, fname, {"keyword", "long", "integer"})
            if not isinstance(values, list):
                raise FakeOpenSearchError(400, "parsing_exception", "[terms] query requires an array")
            return any(v in values for v in _field_values(src, fname))
        if kind == "range":
            (fname, bounds) = self._single(spec)
            self._check_field(idx, fname, {"long", "integer", "float", "date", "keyword"})  # keyword: by string
            unknown = set(bounds) - {"gt", "gte", "lt", "lte"}
            if unknown:
                raise FakeOpenSearchError(400, "parsing_exception", f"[range] unknown {sorted(unknown)}")
            vals = _field_values(src, fname)
            return any(
                ("gt" not in bounds or v > bounds["gt"])
                and ("gte" not in bounds or v >= bounds["gte"])
                and ("lt" not in bounds or v < bounds["lt"])
                and ("lte" not in bounds or v <= bounds["lte"])
                for v in vals
            )
        if kind == "exists":
            return bool(_field_values(src, spec["field"]))
        if kind == "match":
            return bool(self._match(idx, spec, [("x", _Doc(src, 0, 0))]))
        raise FakeOpenSearchError(400, "parsing_exception", f"unknown query [{kind}]")

    @staticmethod
    def _check_field(idx: _Index, fname: str, allowed: set[str]) -> None:
        fdef = idx.properties.get(fname)
        if fdef is None or fdef["type"] not in allowed:
            raise AssertionError(f"filter on field {fname!r} of type {fdef and fdef['type']}: not {allowed}")


class FakeConnection(Connection):
    """An opensearch-py ``Connection`` that answers from a ``FakeOpenSearchServer`` in memory."""

    def __init__(self, fake_server: FakeOpenSearchServer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert fake_server is not None, "pass fake_server= to OpenSearch(...)"
        self.fake_server = fake_server

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Any = None,
        body: bytes | None = None,
        timeout: Any = None,
        ignore: Any = (),
        headers: Any = None,
    ) -> tuple[int, dict[str, str], str]:
        if isinstance(body, str):
            body = body.encode()
        # opensearch-py hands query parameters over already escaped to bytes
        query = {k: v.decode() if isinstance(v, bytes) else v for k, v in (params or {}).items()}
        status, data = self.fake_server.handle(method, url, query, body)
        raw = data if isinstance(data, str) else json.dumps(data)
        if not 200 <= status < 300 and status not in (ignore or ()):
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json"}, raw


def fake_client(server: FakeOpenSearchServer) -> OpenSearch:
    return OpenSearch(hosts=[{"host": "fake-domain", "port": 443}], connection_class=FakeConnection, fake_server=server)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _field_values(src: dict[str, Any], fname: str) -> list[Any]:
    value = src.get(fname)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _analyze(text: str, stopwords: frozenset[str] = _ENGLISH) -> list[str]:
    return [t for t in (m.lower() for m in _TOKEN.findall(text)) if t not in stopwords]


def _stop_list(stop: Any) -> frozenset[str]:
    if stop == "_english_":
        return _ENGLISH
    return frozenset(stop) if isinstance(stop, list) else frozenset()


def _plural(word: str) -> str:
    """``minimal_english`` (Lucene's EnglishMinimalStemmer), written from its documented rules."""
    if len(word) < 3 or not word.endswith("s") or word.endswith(("us", "ss")):
        return word
    if word.endswith("ies") and len(word) > 3 and word[-4] not in "ae":
        return word[:-3] + "y"
    if word.endswith(("ies", "aes", "oes", "ees")):
        return word
    return word[:-1]


def _field_def(idx: _Index, fname: str) -> dict[str, Any]:
    """A field's mapping; ``parent.sub`` resolves a multi-field under ``fields``."""
    parent, _, sub = fname.partition(".")
    fdef: dict[str, Any] = idx.properties.get(parent, {})
    return fdef.get("fields", {}).get(sub, {}) if sub else fdef


def _bm25_params(idx: _Index, fname: str) -> tuple[float, float]:
    """(k1, b) of the field's similarity: BM25's defaults, or a custom ``BM25`` from index settings."""
    name = _field_def(idx, fname).get("similarity")
    if name is None or name == "BM25":
        return 1.2, 0.75
    index_settings = idx.settings.get("index", {})
    sdef = index_settings.get("similarity", {}).get(name)
    if sdef is None or sdef.get("type") != "BM25":
        raise FakeOpenSearchError(400, "mapper_parsing_exception", f"Unknown Similarity type [{name}]")
    return float(sdef.get("k1", 1.2)), float(sdef.get("b", 0.75))


def _field_analyzer(idx: _Index, fname: str) -> Any:
    """The field's analyzer as a function: a ``standard`` one (optional stop words) or a ``custom`` chain
    of ``standard`` tokenizer + the filters the fake knows (lowercase, stop, possessive/minimal stemmers)."""
    analyzer = _field_def(idx, fname).get("analyzer")
    analysis = idx.settings.get("analysis", {})
    adef = analysis.get("analyzer", {}).get(analyzer, {})
    if adef.get("type") != "custom":
        stop = _stop_list(adef.get("stopwords", "_none_"))
        return lambda text: _analyze(text, stop)
    if adef.get("tokenizer") != "standard":
        raise FakeOpenSearchError(400, "unsupported_by_fake", f"tokenizer {adef.get('tokenizer')}")
    steps = []
    for name in adef.get("filter", []):
        fdef = {"type": name} if name == "lowercase" else analysis.get("filter", {}).get(name)
        if fdef is None:
            raise FakeOpenSearchError(400, "illegal_argument_exception", f"failed to find filter under [{name}]")
        if fdef["type"] == "lowercase":
            steps.append(lambda toks: [t.lower() for t in toks])
        elif fdef["type"] == "stop":
            stop = _stop_list(fdef.get("stopwords", "_english_"))
            steps.append(lambda toks, stop=stop: [t for t in toks if t not in stop])
        elif fdef["type"] == "stemmer" and fdef.get("language") == "possessive_english":
            steps.append(lambda toks: [re.sub(r"['’＇][sS]$", "", t) for t in toks])
        elif fdef["type"] == "stemmer" and fdef.get("language") == "minimal_english":
            steps.append(lambda toks: [_plural(t) for t in toks])
        else:
            raise FakeOpenSearchError(400, "unsupported_by_fake", f"token filter {fdef}")

    def run(text: str) -> list[str]:
        toks = _TOKEN.findall(text)
        for step in steps:
            toks = step(toks)
        return [t for t in toks if t]

    return run


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
