"""Document kinds share one VectorIndex without meeting: memories use the bare scope key, procedures and
trajectories their own partitions (services.procedures.index_scope). Runs against every adapter."""

from __future__ import annotations

import pytest

from contextiq.models.memories import scope_key
from contextiq.services.procedures import index_scope, status_tag
from contextiq.stores.vector.base import SearchQuery, VectorIndex
from tests.contract.vector_contract_helpers import mem, unit

SCOPE = {"user_id": "u1"}
TEXT, VEC = "Book a flight to Rome", unit(1, 0.5)


def search(index: VectorIndex, scope: str, mode: str, topics: tuple[str, ...] = ()) -> list[str]:
    query = SearchQuery(tenant="t1", scope_key=scope, text="flight Rome", vector=VEC, mode=mode, topics=topics, now=1)
    return [h.memory_id for h in index.search(query)]


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_memory_procedure_and_trajectory_searches_never_mix(index: VectorIndex, mode: str) -> None:
    active, deprecated = status_tag("workflow", "active"), status_tag("workflow", "deprecated")
    index.upsert(
        [
            mem("memory", TEXT, VEC, scope=scope_key(SCOPE)),
            mem("procedure", TEXT, VEC, scope=index_scope("procedure", SCOPE), topics=(active,)),
            mem("old-procedure", TEXT, VEC, scope=index_scope("procedure", SCOPE), topics=(deprecated,)),
            mem("trajectory", TEXT, VEC, scope=index_scope("trajectory", SCOPE), topics=("outcome:success",)),
        ]
    )
    assert search(index, scope_key(SCOPE), mode) == ["memory"]
    assert search(index, index_scope("procedure", SCOPE), mode, (active,)) == ["procedure"]
    assert sorted(search(index, index_scope("procedure", SCOPE), mode, (active, deprecated))) == [
        "old-procedure",
        "procedure",
    ]
    assert search(index, index_scope("trajectory", SCOPE), mode) == ["trajectory"]
    assert search(index, index_scope("procedure", {"user_id": "u2"}), mode) == []
