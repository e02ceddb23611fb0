"""What only the embedded index has: files, crash recovery, snapshots, compaction, the process lock,
threads, and a randomised comparison with a simple reference model."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from contextiq.config import Settings
from contextiq.stores.vector.base import IndexedMemory, IndexInfo, IndexMismatchError, SearchQuery
from contextiq.stores.vector.embedded import EmbeddedVectorIndex, IndexLockedError
from contextiq.stores.vector.factory import build_vector_index, close_embedded_indexes, embedded_index_path

DIM = 16
INFO = IndexInfo("unit-model", DIM)
NOW = 1_750_000_000


def vec(seed: int) -> list[float]:
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).tolist()


def doc(
    memory_id: str, fact: str = "a fact", *, version: int = 1, seed: int = 0, scope: str = "s", **kw
) -> IndexedMemory:
    return IndexedMemory(
        tenant=kw.get("tenant", "t"),
        memory_id=memory_id,
        scope_key=scope,
        fact=fact,
        topics=kw.get("topics", ()),
        vector=vec(seed),
        version=version,
        expire_at=kw.get("expire_at"),
    )


def semantic(index: EmbeddedVectorIndex, seed: int, top_k: int = 10, scope: str = "s") -> list[str]:
    hits = index.search(SearchQuery("t", scope, "", vec(seed), top_k=top_k, mode="semantic", now=NOW))
    return [h.memory_id for h in hits]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".contextiq" / "index"


def test_files_on_disk(path: Path) -> None:
    with EmbeddedVectorIndex(path) as index:
        index.ensure(INFO)
        index.upsert([doc("m1")])
        assert json.loads((path / "meta.json").read_text())["model_id"] == "unit-model"
        assert (path / "wal-00000000.log").stat().st_size > 0
    # close() snapshots and restarts the log
    assert (path / "snapshot.npz").exists()
    assert (path / "wal-00000001.log").stat().st_size == 0
    assert not (path / "wal-00000000.log").exists()


def test_writes_before_ensure_fail_and_search_is_empty(path: Path) -> None:
    with EmbeddedVectorIndex(path) as index:
        assert index.search(SearchQuery("t", "s", "x", vec(1), now=NOW)) == []
        with pytest.raises(RuntimeError, match="ensure"):
            index.upsert([doc("m1")])
        with pytest.raises(RuntimeError, match="ensure"):
            index.delete("t", "m1", 1)


def test_mismatch_message_is_actionable(path: Path) -> None:
    with EmbeddedVectorIndex(path) as index:
        index.ensure(INFO)
    with EmbeddedVectorIndex(path) as index, pytest.raises(IndexMismatchError) as err:
        index.ensure(IndexInfo("sentence-transformers/all-MiniLM-L6-v2", 384))
    message = str(err.value)
    assert "unit-model (16 dims)" in message
    assert "all-MiniLM-L6-v2 (384 dims)" in message
    assert "scripts/reindex.py" in message


def test_recovery_after_a_crash_without_close(path: Path) -> None:
    index = EmbeddedVectorIndex(path, lock=False)
    index.ensure(INFO)
    index.upsert([doc("m1", seed=1), doc("m2", seed=2, version=3)])
    index.delete("t", "m1", version=2)
    # no close(): the process "dies"; the log alone must bring everything back
    again = EmbeddedVectorIndex(path, lock=False)
    assert semantic(again, 2) == ["m2"]
    again.upsert([doc("m1", seed=1, version=2)])  # the tombstone version survived
    assert semantic(again, 1) == ["m2"]


def test_a_torn_log_tail_is_discarded(path: Path) -> None:
    index = EmbeddedVectorIndex(path, lock=False)
    index.ensure(INFO)
    index.upsert([doc("m1", seed=1)])
    index.upsert([doc("m2", seed=2)])
    wal = path / "wal-00000000.log"
    data = wal.read_bytes()
    wal.write_bytes(data[:-10])  # the last record was half written when the power went out
    again = EmbeddedVectorIndex(path, lock=False)
    assert semantic(again, 1) == ["m1"]
    assert wal.stat().st_size < len(data) - 10  # truncated at the last good record
    again.upsert([doc("m3", seed=3)])  # appends after the good prefix stay readable
    third = EmbeddedVectorIndex(path, lock=False)
    assert sorted(semantic(third, 1)) == ["m1", "m3"]


def test_a_corrupt_record_stops_replay_there(path: Path) -> None:
    index = EmbeddedVectorIndex(path, lock=False)
    index.ensure(INFO)
    index.upsert([doc("m1", seed=1)])
    size_after_first = (path / "wal-00000000.log").stat().st_size
    index.upsert([doc("m2", seed=2)])
    wal = path / "wal-00000000.log"
    data = bytearray(wal.read_bytes())
    data[size_after_first + 20] ^= 0xFF  # flip a byte inside the second record's payload
    wal.write_bytes(bytes(data))
    assert semantic(EmbeddedVectorIndex(path, lock=False), 1) == ["m1"]


def test_a_failed_log_write_is_cut_off_and_not_applied(path: Path) -> None:
    index = EmbeddedVectorIndex(path, lock=False)
    index.ensure(INFO)
    index.upsert([doc("m1", seed=1)])
    assert index._wal is not None
    wal = index._wal._file  # the log file under the WalWriter
    real_write = wal.write

    class DiskFull:
        def __getattr__(self, name: str) -> object:
            return getattr(wal, name)

        def write(self, data: bytes) -> int:
            real_write(bytes(data)[: len(data) // 2])
            raise OSError(28, "No space left on device")

    index._wal._file = DiskFull()  # type: ignore[assignment]
    with pytest.raises(OSError, match="No space"):
        index.upsert([doc("m2", seed=2)])
    index._wal._file = wal
    assert semantic(index, 2) == ["m1"]  # not applied in memory either
    index.upsert([doc("m3", seed=3)])
    assert sorted(semantic(EmbeddedVectorIndex(path, lock=False), 1)) == ["m1", "m3"]


def test_snapshots_bound_the_log_and_reload_identically(path: Path) -> None:
    index = EmbeddedVectorIndex(path, snapshot_min_bytes=4096)
    index.ensure(INFO)
    for i in range(60):
        index.upsert([doc(f"m{i}", f"fact number {i}", seed=i, version=1, topics=("even",) if i % 2 else ())])
    for i in range(0, 60, 3):
        index.delete("t", f"m{i}", version=2)
    stats = index.stats()
    assert stats["generation"] > 1
    assert stats["wal_bytes"] < 4096 + 2000
    before = [semantic(index, s) for s in range(5)]
    index.close()
    again = EmbeddedVectorIndex(path)
    assert [semantic(again, s) for s in range(5)] == before
    assert again.stats()["live"] == 40
    assert again.stats()["tombstones"] == 20
    again.close()


def test_leftovers_of_an_interrupted_drop_are_cleared(path: Path) -> None:
    with EmbeddedVectorIndex(path) as index:
        index.ensure(INFO)
        index.upsert([doc("m1")])
    (path / "meta.json").unlink()  # drop() removes the meta file first
    with EmbeddedVectorIndex(path) as index:
        assert index.info is None
        assert not (path / "snapshot.npz").exists()
        index.ensure(INFO)
        assert semantic(index, 0) == []


def test_compaction_keeps_results_and_frees_rows(path: Path) -> None:
    with EmbeddedVectorIndex(path, fsync=False) as index:
        index.ensure(INFO)
        for version in range(1, 6):
            index.upsert([doc(f"m{i}", f"fact {i} v{version}", seed=i, version=version) for i in range(50)])
        stats = index.stats()
        assert stats["live"] == 50
        assert stats["rows"] < 250  # dead rows were compacted away
        assert semantic(index, 7, top_k=1) == ["m7"]
        hits = index.search(SearchQuery("t", "s", "v5", None, mode="keyword", top_k=100, now=NOW))
        assert len(hits) == 50
        assert all(h.version == 5 for h in hits)
        assert index.search(SearchQuery("t", "s", "v4", None, mode="keyword", now=NOW)) == []


def test_moving_a_memory_to_another_scope(path: Path) -> None:
    with EmbeddedVectorIndex(path) as index:
        index.ensure(INFO)
        index.upsert([doc("m1", seed=1, scope="a")])
        index.upsert([doc("m1", seed=1, scope="b", version=2)])
        assert semantic(index, 1, scope="a") == []
        assert semantic(index, 1, scope="b") == ["m1"]


def test_one_process_owns_the_directory(path: Path) -> None:
    first = EmbeddedVectorIndex(path)
    with pytest.raises(IndexLockedError, match="another process"):
        EmbeddedVectorIndex(path)
    first.close()
    EmbeddedVectorIndex(path).close()
    first.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        first.search(SearchQuery("t", "s", "x", None, now=NOW))


def test_concurrent_writers_and_readers(path: Path) -> None:
    index = EmbeddedVectorIndex(path, fsync=False)
    index.ensure(INFO)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(100):
                index.upsert([doc(f"w{w}-{i}", f"writer {w} item {i}", seed=i, version=1)])
                if i % 10 == 0:
                    index.delete("t", f"w{w}-{i}", version=2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(100):
                index.search(SearchQuery("t", "s", "writer item", vec(i), top_k=5, now=NOW))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert index.stats()["live"] == 3 * 90
    index.close()
    assert EmbeddedVectorIndex(path).stats()["live"] == 270


def test_randomised_against_a_reference_model(path: Path) -> None:
    """Random upserts/deletes/expiry/reopens: results always equal a brute-force reference."""
    rng = random.Random(11)
    index = EmbeddedVectorIndex(path, fsync=False, snapshot_min_bytes=20_000)
    index.ensure(INFO)
    stored: dict[tuple[str, str], tuple[int, IndexedMemory | None]] = {}
    words = ["tea", "coffee", "paris", "berlin", "cats", "dogs", "chess", "music"]
    for step in range(400):
        op = rng.random()
        tenant = rng.choice(["t", "u"])
        mid = f"m{rng.randrange(30)}"
        version = rng.randint(1, 6)
        if op < 0.6:
            d = IndexedMemory(
                tenant,
                mid,
                rng.choice(["s", "s2"]),
                " ".join(rng.sample(words, 2)),
                tuple(rng.sample(["x", "y", "z"], rng.randint(0, 2))),
                vec(rng.randrange(1000)),
                version,
                rng.choice([None, NOW - 5, NOW + 5]),
            )
            index.upsert([d])
            if (tenant, mid) not in stored or stored[(tenant, mid)][0] < version:
                stored[(tenant, mid)] = (version, d)
        elif op < 0.85:
            index.delete(tenant, mid, version)
            if (tenant, mid) not in stored or stored[(tenant, mid)][0] < version:
                stored[(tenant, mid)] = (version, None)
        elif op < 0.9:
            index.close()
            index = EmbeddedVectorIndex(path, fsync=False, snapshot_min_bytes=20_000)
        # compare a semantic and a keyword query in a random scope
        q_tenant, q_scope, q_seed = rng.choice(["t", "u"]), rng.choice(["s", "s2"]), rng.randrange(1000)
        topics = tuple(rng.sample(["x", "y", "z"], rng.randint(0, 1)))
        live = [
            d
            for v, d in stored.values()
            if d is not None
            and d.tenant == q_tenant
            and d.scope_key == q_scope
            and (d.expire_at is None or d.expire_at > NOW)
            and (not topics or set(topics) & set(d.topics))
        ]
        q = np.asarray(vec(q_seed))
        expected = sorted(live, key=lambda d: (-float(np.dot(q, d.vector)), d.memory_id))[:5]
        hits = index.search(
            SearchQuery(q_tenant, q_scope, "", q.tolist(), top_k=5, mode="semantic", topics=topics, now=NOW)
        )
        assert [h.memory_id for h in hits] == [d.memory_id for d in expected], f"step {step}"
        assert [h.version for h in hits] == [d.version for d in expected]
        word = rng.choice(words)
        kw = index.search(SearchQuery(q_tenant, q_scope, word, None, top_k=50, mode="keyword", topics=topics, now=NOW))
        assert sorted(h.memory_id for h in kw) == sorted(d.memory_id for d in live if word in d.fact.split())
    index.close()


def test_factory_shares_one_embedded_index_per_directory(tmp_path: Path) -> None:
    settings = Settings(vector_index="embedded", data_dir=tmp_path / "data")
    try:
        first = build_vector_index(settings, INFO)
        second = build_vector_index(settings)
        assert first is second
        assert isinstance(first, EmbeddedVectorIndex)
        assert first.path == embedded_index_path(settings).resolve()
        with pytest.raises(IndexMismatchError):
            build_vector_index(settings, IndexInfo("other", 3))
    finally:
        close_embedded_indexes()


def test_forget_removes_a_document_whatever_its_version_and_replays_after_a_crash(path: Path) -> None:
    index = EmbeddedVectorIndex(path)
    index.ensure(INFO)
    index.upsert([doc("m1", "kayak", version=5, seed=1), doc("m2", "violin", seed=2)])
    index.delete("t", "m3", 4)
    assert index.documents() == {("t", "m1"): (5, True), ("t", "m2"): (1, True), ("t", "m3"): (4, False)}
    assert index.text_of("t", "m1") == "kayak" and index.text_of("t", "m3") is None
    index.forget([("t", "m1"), ("t", "m3"), ("t", "unknown")])
    index.upsert([doc("m1", "canoe", version=2, seed=1)])  # an older version than before is accepted now
    assert semantic(index, 1, top_k=1) == ["m1"] and index.text_of("t", "m1") == "canoe"
    index._release_lock()  # a crash: no close, no snapshot; the log holds the forget
    reopened = EmbeddedVectorIndex(path)
    assert reopened.documents() == {("t", "m1"): (2, True), ("t", "m2"): (1, True)}
    assert reopened.text_of("t", "m1") == "canoe"
    reopened.close()
