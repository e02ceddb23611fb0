"""The local runtime keeps its embedded vector index across a clean stop and a kill -9 and reconciles it
with the tables at start (``contextiq/local/index_start.py``): afterwards it holds exactly what a full
rebuild from the tables holds (every live memory, procedure and event at its version and text, nothing
deleted, no orphan), and only what the index had missed is embedded. An index that cannot be read, or
that another embedding model built, is rebuilt from the tables and the start says so.

Counts and contents only, never time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contextiq.ai.embedders.hashing import HashingEmbedder
from contextiq.local.index_start import local_tables, prepare_index
from contextiq.services.indexing import reindex
from contextiq.stores.vector.embedded import EmbeddedVectorIndex
from contextiq.stores.vector.factory import build_vector_index, close_embedded_indexes
from tests.conftest import TENANT_B_KEY
from tests.integration.test_episodes_api import _say, _session

B = {"x-api-key": TENANT_B_KEY}


@pytest.fixture
def indexer(container, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """drain(): the stream indexer (functions/indexer) over what was written since the last drain."""
    from contextiq.local.inprocess import forget_handlers, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    forget_handlers()
    yield StreamPoller.for_settings(container.settings, container.dynamodb).drain
    forget_handlers()
    close_embedded_indexes()


def _memory(api, fact: str, headers: dict[str, str] | None = None) -> str:  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": fact}, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _live(index: EmbeddedVectorIndex) -> dict[tuple[str, str], tuple[int, str | None]]:
    """Every live document: its version and text."""
    return {key: (version, index.text_of(*key)) for key, (version, live) in index.documents().items() if live}


def _rebuilt(container, where: Path) -> dict[tuple[str, str], tuple[int, str | None]]:  # type: ignore[no-untyped-def]
    """What a full rebuild from the tables holds (the definition of "matches the record")."""
    with EmbeddedVectorIndex(where, fsync=False) as fresh:
        reindex(fresh, container.embedder, container.index_tables(), drop=True)
        return _live(fresh)


def _settings_at(container, data_dir: Path):  # type: ignore[no-untyped-def]
    return container.settings.model_copy(update={"data_dir": data_dir})


@pytest.fixture
def history(api, container, indexer, tmp_path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Writes the index saw, a copy of the index directory as a kill -9 leaves it (no closing snapshot),
    then writes it missed (closed, as after a kill -9 before the indexer read the streams)."""
    s1, s2 = _session(api), _session(api, app="work")
    sb = _session(api, headers=B)
    for i in range(3):
        _say(api, s1, f"kayak trip number {i} to the fjords")
        _say(api, s2, f"quarterly budget review {i}")
    _say(api, sb, "tenant b talks about violins", headers=B)
    m1, m2, m3 = (_memory(api, f"The user owns kayak {i}") for i in range(3))
    _memory(api, "Tenant B owns a violin", headers=B)
    indexer()
    # seen by the index: an update, a delete, an append, a whole session deleted
    assert api.patch(f"/v1/memories/{m1}", json={"fact": "The user owns a red kayak"}).status_code == 200
    assert api.delete(f"/v1/memories/{m2}").status_code == 204
    _say(api, s1, "we also saw whales")
    assert api.delete(f"/v1/sessions/{s2}").status_code == 204
    indexer()
    killed = tmp_path / "killed"
    shutil.copytree(container.settings.data_dir / "index", killed / "index")  # what kill -9 leaves on disk
    close_embedded_indexes()  # a clean stop: snapshot, lock released; write-throughs fail from here on
    # missed by the index: appends, a new memory, a delete, tenant B's session deleted
    _say(api, s1, "the ferry leaves at nine")
    _say(api, s1, "bring the dry bag")
    _memory(api, "The user owns a kayak paddle")
    assert api.delete(f"/v1/memories/{m3}").status_code == 204
    assert api.delete(f"/v1/sessions/{sb}", headers=B).status_code == 204
    return {"killed": killed, "s1": s1, "s2": s2, "sb": sb}


def test_a_clean_restart_keeps_the_index_and_reconciles_it_with_the_record(container, history, tmp_path) -> None:
    lines: list[str] = []
    counts = prepare_index(container.settings, container.embedder, local_tables(container), say=lines.append)
    try:
        assert counts["mode"] == "reconciled", lines
        index = build_vector_index(container.settings)
        assert _live(index) == _rebuilt(container, tmp_path / "rebuilt")
        live = _live(index)
        assert (  # the missed appends are in, the deleted sessions' events are not
            "tenant-a",
            f"{history['s1']}/6",
        ) in live and not any(k[1].startswith(history["s2"]) for k in live)
        assert not any(k[1].startswith(history["sb"]) for k in live)
        # only what the index missed was embedded: the 2 appends (memories carry their vector)
        assert counts["embedded"] == 2
        assert counts["upserted"] == 3  # the 2 appends and the new memory
        assert counts["deleted"] == 1  # the memory deleted while the index was closed
        assert counts["orphans"] == 1  # tenant B's event, its session deleted while the index was closed
    finally:
        close_embedded_indexes()


def test_the_start_reads_the_tables_in_process_as_a_scan_reads_them(container, history) -> None:
    """``local_tables`` (moto's items in this process) yields what ``index_tables`` (Scan) yields."""
    fast, scanned = local_tables(container), container.index_tables()

    def key(e: dict[str, Any]) -> tuple[str, str]:
        return (e["pk"], e["sk"])

    assert sorted(fast.events(), key=key) == sorted(scanned.events(), key=key)
    memories = sorted(fast.memories(), key=lambda m: m.memory.id)
    assert memories == sorted(scanned.memories(), key=lambda m: m.memory.id)
    assert len(memories) == 5 and sum(m.deleted for m in memories) == 2 and memories[0].vector is not None


def test_after_a_kill_9_the_log_replays_and_the_reconcile_supplies_the_rest(container, history, tmp_path) -> None:
    killed: Path = history["killed"]
    wal = sorted((killed / "index").glob("wal-*.log"))
    assert wal and wal[-1].stat().st_size > 0  # the index was never snapshotted: the log holds its changes
    with wal[-1].open("ab") as f:
        f.write(b"CQW1\x00\x10")  # a torn record: the kill came in the middle of a write
    lines: list[str] = []
    settings = _settings_at(container, killed)
    counts = prepare_index(settings, container.embedder, local_tables(container), say=lines.append)
    try:
        assert counts["mode"] == "reconciled", lines
        index = build_vector_index(settings)
        assert _live(index) == _rebuilt(container, tmp_path / "rebuilt")
        assert counts["embedded"] == 2  # the log held everything else
    finally:
        close_embedded_indexes()


def test_an_unreadable_index_is_rebuilt_from_the_tables_and_said_so(container, history, tmp_path) -> None:
    snapshot = container.settings.data_dir / "index" / "snapshot.npz"
    assert snapshot.exists()
    snapshot.write_bytes(b"PK\x03\x04 not a zip file any more")
    lines: list[str] = []
    counts = prepare_index(container.settings, container.embedder, local_tables(container), say=lines.append)
    try:
        assert counts["mode"] == "rebuilt"
        assert any("cannot be read" in line for line in lines), lines
        assert _live(build_vector_index(container.settings)) == _rebuilt(container, tmp_path / "rebuilt")
    finally:
        close_embedded_indexes()


class _OtherModel(HashingEmbedder):
    @property
    def model_id(self) -> str:
        return "hashing-other"


def test_another_embedding_model_rebuilds_the_index_and_embeds_every_event(container, history, tmp_path) -> None:
    lines: list[str] = []
    other = _OtherModel(container.embedder.dimensions)
    counts = prepare_index(container.settings, other, local_tables(container), say=lines.append)
    try:
        assert counts["mode"] == "rebuilt"
        assert any("hashing-other" in line and "rebuilding" in line for line in lines), lines
        index = build_vector_index(container.settings)
        assert index.info is not None and index.info.model_id == "hashing-other"
        assert counts["events"] == 6  # s1's events: every one embedded again
        assert counts["reembedded"] == 3  # live memories: their stored vectors are another model's
    finally:
        close_embedded_indexes()
