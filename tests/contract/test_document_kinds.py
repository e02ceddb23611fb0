"""Document kinds share one VectorIndex without meeting: memories, procedures and trajectories of the same
tenant and scope, with the same text and vector, are only found by a search of their own kind; procedure
search filters kind and status on attributes. Runs against every adapter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contextiq.models.memories import scope_key
from contextiq.services.procedure_projection import procedure_filters
from contextiq.stores.vector.base import Condition, DocKind, SearchQuery, VectorIndex
from tests.contract.vector_contract_helpers import mem, unit

SCOPE = scope_key({"user_id": "u1"})
TEXT, VEC = "Book a flight to Rome", unit(1, 0.5)


def search(index: VectorIndex, kind: DocKind, mode: str, filters: tuple[Condition, ...] = ()) -> list[str]:
    query = SearchQuery(
        tenant="t1",
        scope_key=SCOPE,
        text="flight Rome",
        vector=VEC,
        mode=mode,  # type: ignore[arg-type]
        filters=filters,
        now=1,
        kind=kind,
    )
    return sorted(h.memory_id for h in index.search(query))


def procedure(doc_id: str, kind: str, status: str):  # type: ignore[no-untyped-def]
    attrs = {"procedure_kind": (kind,), "status": (status,)}
    return replace(mem(doc_id, TEXT, VEC, scope=SCOPE), attrs=attrs, kind="procedure")


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_memory_procedure_and_trajectory_searches_never_mix(index: VectorIndex, mode: str) -> None:
    index.upsert(
        [
            mem("memory", TEXT, VEC, scope=SCOPE),
            procedure("workflow", "workflow", "active"),
            procedure("old-workflow", "workflow", "deprecated"),
            procedure("skill", "skill", "active"),
            replace(mem("trajectory", TEXT, VEC, scope=SCOPE), attrs={"outcome": ("success",)}, kind="trajectory"),
        ]
    )
    assert search(index, "memory", mode) == ["memory"]
    assert search(index, "trajectory", mode) == ["trajectory"]
    assert search(index, "procedure", mode, procedure_filters(["workflow", "skill"], ["active"])) == [
        "skill",
        "workflow",
    ]
    assert search(index, "procedure", mode, procedure_filters(["workflow"], ["active", "deprecated"])) == [
        "old-workflow",
        "workflow",
    ]
    assert search(index, "trajectory", mode, (Condition("outcome", ("failure",)),)) == []
