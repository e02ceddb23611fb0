"""Fixtures for the vector index contract: the same tests run against every VectorIndex."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contextiq.stores.vector.base import VectorIndex
from contextiq.stores.vector.embedded import EmbeddedVectorIndex
from contextiq.stores.vector.opensearch import OpenSearchVectorIndex
from tests.contract.fake_opensearch import FakeOpenSearchServer, fake_client
from tests.contract.vector_contract_helpers import INDEX_NAME, INFO, Backend


def _embedded(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "index"
    current: dict[str, EmbeddedVectorIndex] = {"index": EmbeddedVectorIndex(path)}

    def reopen() -> VectorIndex:
        current["index"].close()
        current["index"] = EmbeddedVectorIndex(path)
        return current["index"]

    current["index"].ensure(INFO)
    yield Backend("embedded", current["index"], reopen)
    current["index"].close()


def _opensearch() -> Iterator[Backend]:
    server = FakeOpenSearchServer()
    client = fake_client(server)
    index = OpenSearchVectorIndex(client, INDEX_NAME)
    index.ensure(INFO)
    yield Backend("opensearch", index, lambda: OpenSearchVectorIndex(fake_client(server), INDEX_NAME), server)


@pytest.fixture(params=["embedded", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield from _embedded(tmp_path)
    else:
        yield from _opensearch()


@pytest.fixture
def index(backend: Backend) -> VectorIndex:
    return backend.index
