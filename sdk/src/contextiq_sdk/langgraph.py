"""A LangGraph ``BaseStore`` on ContextIQ (``pip install 'contextiq-sdk[langgraph]'``).

One LangGraph namespace is one ContextIQ scope, ``{"langgraph": "<store>:<label/label/...>"}``; one item is one
memory whose fact is the item's text (``index`` fields, else a ``text``/``content``/``fact`` string, else the
JSON of the value), tagged with a topic derived from the key, with ``{"key", "value"}`` in its metadata. A
search with a natural-language ``query`` runs ContextIQ's hybrid search in each matching namespace and merges by
score; ``filter`` uses LangGraph's own matching. The API has no "list scopes", so the store keeps a registry of
its namespaces as memories of the scope ``{"langgraph_namespaces": "<store>"}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path
from langgraph.store.memory import _compare_values, _does_match

from contextiq_sdk import models as m
from contextiq_sdk.client import Client

MAX_FACT = 2000
TEXT_FIELDS = ("text", "content", "fact", "memory")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _join(namespace: tuple[str, ...]) -> str:
    return "/".join(label.replace("%", "%25").replace("/", "%2F").replace("#", "%23") for label in namespace)


class ContextIQStore(BaseStore):
    """LangGraph store backed by ContextIQ. ``index_fields`` are the value paths whose text is searched."""

    def __init__(
        self,
        client: Client | None = None,
        *,
        name: str = "default",
        index_fields: list[str] | None = None,
    ) -> None:
        self.client = client or Client()
        self.name = name
        self.index_fields = index_fields
        self._registered: set[tuple[str, ...]] = set()

    # --- mapping ---------------------------------------------------------------------------------------

    def scope(self, namespace: tuple[str, ...]) -> dict[str, str]:
        value = f"{self.name}:{_join(namespace)}"
        return {"langgraph": value if len(value) <= 128 else f"{self.name}:sha:{_digest(value)}"}

    @property
    def _registry(self) -> dict[str, str]:
        return {"langgraph_namespaces": self.name}

    @staticmethod
    def _key_topic(key: str) -> str:
        return "lgkey:" + _digest(key)

    def _fact(self, value: Mapping[str, Any]) -> str:
        texts: list[str] = []
        if self.index_fields:
            for path in self.index_fields:
                texts += [t for t in get_text_at_path(value, path) if t]
        else:
            texts = [value[f] for f in TEXT_FIELDS if isinstance(value.get(f), str) and value[f].strip()][:1]
        text = " ".join(texts).strip() or json.dumps(value, ensure_ascii=False, sort_keys=True)
        return text[:MAX_FACT]

    @staticmethod
    def _item(memory: m.Memory, namespace: tuple[str, ...], score: float | None = None) -> SearchItem:
        return SearchItem(
            namespace=namespace,
            key=memory.metadata["key"],
            value=memory.metadata["value"],
            created_at=memory.create_time,
            updated_at=memory.update_time,
            score=score,
        )

    # --- operations ------------------------------------------------------------------------------------

    def _find(self, namespace: tuple[str, ...], key: str) -> m.Memory | None:
        page = self.client.memories.list(self.scope(namespace), topic=self._key_topic(key), limit=1)
        return page.items[0] if page.items else None

    def _get(self, op: GetOp) -> Item | None:
        memory = self._find(op.namespace, op.key)
        return self._item(memory, op.namespace) if memory else None

    def _put(self, op: PutOp) -> None:
        existing = self._find(op.namespace, op.key)
        if op.value is None:
            if existing:
                self.client.memories.delete(existing.id)
                self._maybe_unregister(op.namespace)
            return
        metadata = {"key": op.key, "value": op.value}
        if existing:
            self.client.memories.update(existing.id, fact=self._fact(op.value), metadata=metadata)
        else:
            scope = self.scope(op.namespace)
            self.client.memories.add(scope, self._fact(op.value), topics=[self._key_topic(op.key)], metadata=metadata)
            self._register(op.namespace)

    def _register(self, namespace: tuple[str, ...]) -> None:
        if namespace in self._registered:
            return
        topic = self._key_topic(_join(namespace))
        if not self.client.memories.list(self._registry, topic=topic, limit=1).items:
            self.client.memories.add(
                self._registry, _join(namespace), topics=[topic], metadata={"namespace": list(namespace)}
            )
        self._registered.add(namespace)

    def _maybe_unregister(self, namespace: tuple[str, ...]) -> None:
        if self.client.memories.list(self.scope(namespace), limit=1).items:
            return
        topic = self._key_topic(_join(namespace))
        for entry in self.client.memories.list(self._registry, topic=topic, limit=10).items:
            self.client.memories.delete(entry.id)
        self._registered.discard(namespace)

    def _namespaces(self) -> list[tuple[str, ...]]:
        return sorted(tuple(e.metadata["namespace"]) for e in self.client.memories.iter(self._registry, page_size=100))

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = op.namespace_prefix
        namespaces = [ns for ns in self._namespaces() if ns[: len(prefix)] == prefix]
        found: list[SearchItem] = []
        want = op.offset + op.limit
        for ns in namespaces:
            if op.query:
                top_k = 100 if op.filter else min(100, want)
                hits = self.client.memories.search(self.scope(ns), op.query, top_k=top_k).results
                found += [self._item(h.memory, ns, h.score) for h in hits]
            else:
                found += [self._item(x, ns) for x in self.client.memories.iter(self.scope(ns), page_size=100)]
        if op.filter:
            found = [item for item in found if all(_compare_values(item.value.get(k), v) for k, v in op.filter.items())]
        if op.query:
            found.sort(key=lambda item: item.score or 0.0, reverse=True)
        else:
            found.sort(key=lambda item: item.updated_at, reverse=True)
        return found[op.offset : op.offset + op.limit]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = self._namespaces()
        if op.match_conditions:
            namespaces = [ns for ns in namespaces if all(_does_match(c, ns) for c in op.match_conditions)]
        if op.max_depth is not None:
            namespaces = sorted({ns[: op.max_depth] for ns in namespaces})
        return namespaces[op.offset : op.offset + op.limit]

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, PutOp):
                self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise ValueError(f"unknown operation {type(op).__name__}")
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """The same operations on a worker thread (the sync client is thread-safe)."""
        return await asyncio.to_thread(self.batch, list(ops))
