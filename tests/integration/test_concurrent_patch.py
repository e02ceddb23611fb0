"""20 writers PATCH one memory (and one procedure) at once without If-Match, through the API on moto.

docs/design.md says such a write applies to the latest version: each lost race re-reads and re-applies
(up to 64 rounds). So every writer gets a 200, none a 409, each change is one revision, and the final
content is the last revision's. The writers are threads on one in-process app (its sync routes run in
a thread pool), and the repository's conditional writes really collide: the conflicts are counted, and
with a single attempt the same load gives 409s, so the test would fail without the retry.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest

from contextiq.errors import VersionConflictError

WRITERS = 20
SCOPE = {"user_id": "u1"}


def _count_conflicts(monkeypatch: pytest.MonkeyPatch, repo: Any, method: str) -> list[int]:
    """Count the version conflicts the repository's conditional write raises (the races really happen)."""
    conflicts = [0]
    put = getattr(repo, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            return put(*args, **kwargs)
        except VersionConflictError:
            conflicts[0] += 1
            raise

    monkeypatch.setattr(repo, method, counted)
    return conflicts


def _first_reads_meet(monkeypatch: pytest.MonkeyPatch, repo: Any) -> threading.Barrier:
    """Each writer's first read of the record waits until all have read, so they all start from one version
    and the race is certain, not left to the scheduler (on a loaded machine threads may run one by one).
    Reads after that (the retries) do not wait."""
    read = repo.get
    met = [False]
    barrier = threading.Barrier(WRITERS, action=lambda: met.__setitem__(0, True))

    def read_then_meet(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        if not met[0]:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
        return found

    monkeypatch.setattr(repo, "get", read_then_meet)
    return barrier


def _at_once(call: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(writer, range(WRITERS)))


def _patch_memory_race(api, container, monkeypatch) -> tuple[str, list[Any], list[int]]:  # type: ignore[no-untyped-def]
    memory = api.post("/v1/memories", json={"scope": SCOPE, "fact": "fact 0"}).json()
    conflicts = _count_conflicts(monkeypatch, container.memories._repo, "put")
    _first_reads_meet(monkeypatch, container.memories._repo)
    results = _at_once(
        lambda i: api.patch(f"/v1/memories/{memory['id']}", json={"fact": f"fact {i + 1}", "metadata": {"w": i}})
    )
    return memory["id"], results, conflicts


def test_concurrent_memory_patches_all_apply(api, container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    memory_id, results, conflicts = _patch_memory_race(api, container, monkeypatch)
    assert [r.status_code for r in results] == [200] * WRITERS, [r.text for r in results if r.status_code != 200]
    assert conflicts[0] > 0, "the writers never collided: the test proves nothing"
    final = api.get(f"/v1/memories/{memory_id}").json()
    assert final["version"] == 1 + WRITERS
    revisions = api.get(f"/v1/memories/{memory_id}/revisions").json()["items"]
    assert sorted(r["version"] for r in revisions) == list(range(1, WRITERS + 2))
    updated = [r for r in revisions if r["action"] == "UPDATED"]
    assert sorted(r["fact"] for r in updated) == sorted(f"fact {i + 1}" for i in range(WRITERS))
    last = max(updated, key=lambda r: r["version"])
    assert final["fact"] == last["fact"] and final["metadata"] == {"w": int(last["fact"].split()[1]) - 1}
    # each revision records the fact it replaced: the chain is unbroken
    chain = sorted(revisions, key=lambda r: r["version"])
    assert all(b["previous_fact"] == a["fact"] for a, b in pairwise(chain))


def test_without_the_retry_the_same_race_gives_409s(api, container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same race with one attempt per write: all writers read version 1, one wins, the others get 409
    (so the test above can fail)."""
    monkeypatch.setattr(container.memories, "MAX_ATTEMPTS", 1)
    _, results, conflicts = _patch_memory_race(api, container, monkeypatch)
    assert sorted(r.status_code for r in results) == [200] + [409] * (WRITERS - 1)
    assert conflicts[0] == WRITERS - 1


def test_concurrent_procedure_patches_all_apply(api, container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    body = {"scope": SCOPE, "kind": "workflow", "name": "n", "description": "d", "steps": [{"instruction": "s0"}]}
    procedure = api.post("/v1/procedures", json=body).json()
    conflicts = _count_conflicts(monkeypatch, container.procedures._repo, "update")
    _first_reads_meet(monkeypatch, container.procedures._repo)
    results = _at_once(
        lambda i: api.patch(f"/v1/procedures/{procedure['id']}", json={"steps": [{"instruction": f"s{i + 1}"}]})
    )
    assert [r.status_code for r in results] == [200] * WRITERS, [r.text for r in results if r.status_code != 200]
    assert conflicts[0] > 0, "the writers never collided: the test proves nothing"
    final = api.get(f"/v1/procedures/{procedure['id']}").json()
    assert final["version"] == 1 + WRITERS
    revisions = api.get(f"/v1/procedures/{procedure['id']}/revisions").json()["items"]
    assert sorted(r["version"] for r in revisions) == list(range(1, WRITERS + 2))
    last = max(revisions, key=lambda r: r["version"])
    assert final["steps"] == last["steps"]
    assert sorted(r["steps"][0]["instruction"] for r in revisions) == sorted(f"s{i}" for i in range(WRITERS + 1))
