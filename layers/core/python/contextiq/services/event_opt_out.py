"""Which apps' turns stay out of the event index, and removing an app's turns when its tenant opts out.

Two sources, either of which opts an app out (docs/search.md, "Opting out"):

* the operator's stage setting ``event_index_opt_out`` (``Settings.events_opted_out``): an override the
  tenant cannot undo;
* the tenant's own ``index_events: false`` on the app's policy (``PUT /v1/generation-policies/{app}``),
  read from the sessions table and cached for :data:`CACHE_SECONDS` per (tenant, app) in each indexer
  process, so an indexer instance that has not seen the change may still index the app's turns for that
  long; the purge below runs after the change and removes what was indexed before it.

When the indexer sees the policy item change from indexing to not (its stream record,
:class:`~contextiq.stores.dynamo.streams.AppIndexChange`), it drops its cache entry and deletes every
indexed event of that tenant's app (:func:`purge_app_events`) at the version a session delete uses, so a
replayed INSERT cannot bring one back. Turning indexing back on (``index_events: true`` or deleting the
policy) indexes new turns; the purged ones come back with a reindex (``scripts/reindex.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from contextiq.services.indexing import OptOut, never
from contextiq.stores.dynamo.streams import AppIndexChange
from contextiq.stores.vector.base import VectorIndex
from contextiq.stores.vector.documents import EVENT_VERSION, event_doc_id

CACHE_SECONDS = 30.0
_MAX_ENTRIES = 10_000


class AppPolicies(Protocol):
    def get(self, tenant: str, app_name: str) -> Any: ...  # AppGenerationPolicy | None


class EventOptOut:
    """``(tenant, app_name) -> True`` when that app's turns must not be indexed (an :data:`OptOut`)."""

    def __init__(
        self,
        policies: AppPolicies,
        operator: OptOut = never,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policies = policies
        self._operator = operator
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    def __call__(self, tenant: str, app_name: str | None) -> bool:
        if self._operator(tenant, app_name):
            return True
        if app_name is None:
            return False  # sessions without an app have no app policy
        now = self._clock()
        hit = self._cache.get((tenant, app_name))
        if hit is not None and hit[0] > now:
            return hit[1]
        policy = self._policies.get(tenant, app_name)
        out = policy is not None and not policy.index_events
        if len(self._cache) >= _MAX_ENTRIES:
            self._cache.clear()
        self._cache[(tenant, app_name)] = (now + self._ttl, out)
        return out

    def forget(self, tenant: str, app_name: str) -> None:
        self._cache.pop((tenant, app_name), None)


def purge_app_events(index: VectorIndex, items: Iterable[dict[str, Any]]) -> int:
    """Remove these event items (plain values) from the index, as a session delete would. Returns how many."""
    done = 0
    for item in items:
        index.delete(item["tenant"], event_doc_id(item["session_id"], int(item["seq"])), EVENT_VERSION + 1)
        done += 1
    return done


def apply_app_index_change(
    change: AppIndexChange,
    opt_out: EventOptOut,
    index: VectorIndex,
    app_events: Callable[[str, str], Iterable[dict[str, Any]]],
) -> str:
    """An app policy item changed (its stream record): forget the cached choice; purge the app's indexed
    turns when it went from indexed to not. Returns what was done (for logs and tests)."""
    opt_out.forget(change.tenant, change.app_name)
    if change.indexed_before and not change.indexed_now:
        purged = purge_app_events(index, app_events(change.tenant, change.app_name))
        return f"purged {purged}"
    return "skipped"
