"""One `contextiq local` for every client test (SDK, CLI, MCP, adapters, docs examples).

Every test here is in the xdist group "clients", so the whole module tree shares one worker and one
server. Each test works in scopes and users of its own (``uid``), so tests do not see each other's data.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import KEY_A, KEY_B, Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
SDK_SRC = ROOT / "sdk" / "src"
if str(SDK_SRC) not in sys.path:  # this worktree's SDK first, whatever is installed
    sys.path.insert(0, str(SDK_SRC))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("clients"))


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("clients"), env={"CONTEXTIQ_EMBEDDER": "hashing"})
    yield srv
    stop_server(srv)


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def client_env(live: Server, tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess client (CLI, MCP server, examples) pointed at the live server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "CONTEXTIQ_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SDK_SRC), str(ROOT / "layers" / "core" / "python"), str(ROOT)])
    env["CONTEXTIQ_URL"] = live.url
    env["CONTEXTIQ_API_KEY"] = KEY_A
    return env


__all__ = ["KEY_A", "KEY_B"]
