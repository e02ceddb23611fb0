"""An SDK generated from docs/openapi.json works (issue 11): openapi-python-client builds a client from
the committed document with no warning (a skipped schema or operation fails the test), and the client
talks to the app in process: created resources, headers (If-Match, Idempotency-Key, the exploded
``scope.<key>`` query), ``oneOf``/``anyOf`` bodies and problem+json errors parse into its models.

Reproduce by hand: ``openapi-python-client generate --path docs/openapi.json --meta none``.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import TENANT_A_KEY

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
PACKAGE = "contextiq_generated"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")  # no ruff run: faster
    cli = Path(sys.executable).parent / "openapi-python-client"
    target = out / PACKAGE
    run = subprocess.run(
        [str(cli), "generate", "--path", str(DOC), "--meta", "none", "--config", str(config)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning" not in run.stdout.lower() + run.stderr.lower(), run.stdout + run.stderr
    assert (target / "client.py").exists()
    sys.path.insert(0, str(out))
    try:
        yield _Modules()
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class _Modules:
    """``generated.api__sessions__create_session`` imports ``contextiq_generated.api.sessions.create_session``."""

    def __getattr__(self, dotted: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{dotted.replace('__', '.')}")


def _snake(name: str) -> str:
    """The generator's module names: ``createSession`` -> ``create_session``, ``generation policies`` ->
    ``generation_policies``."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", name)
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@pytest.fixture
def client(generated, container):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app

    sdk = generated.client.Client(base_url="http://testserver", raise_on_unexpected_status=True)
    with TestClient(create_app(container), headers={"x-api-key": TENANT_A_KEY}) as http:
        sdk.set_httpx_client(http)
        yield sdk


def test_every_operation_is_generated(generated) -> None:  # type: ignore[no-untyped-def]
    import json

    doc = json.loads(DOC.read_text())
    for item in doc["paths"].values():
        for op in item.values():
            module = f"{PACKAGE}.api.{_snake(op['tags'][0])}.{_snake(op['operationId'])}"
            assert importlib.import_module(module).sync_detailed, op["operationId"]


def test_a_generated_client_works_against_the_app(generated, client) -> None:  # type: ignore[no-untyped-def]
    m = generated.models
    create_memory, list_memories = generated.api__memories__create_memory, generated.api__memories__list_memories
    update_memory, get_memory = generated.api__memories__update_memory, generated.api__memories__get_memory

    created = generated.api__sessions__create_session.sync_detailed(
        client=client, body=m.SessionCreate(user_id="u1"), idempotency_key="gen-1"
    )
    assert created.status_code == 201 and isinstance(created.parsed, m.Session)
    assert created.headers["location"] == f"/v1/sessions/{created.parsed.id}"
    sid = created.parsed.id
    appended = generated.api__sessions__append_event.sync_detailed(
        sid, client=client, body=m.EventCreate(author="user", content=m.EventContent(text="I like tea"))
    )
    assert appended.status_code == 201 and appended.parsed.content.to_dict()["text"] == "I like tea"
    events = generated.api__sessions__list_events.sync(sid, client=client)
    assert [e.seq for e in events.items] == [1]

    scope = m.MemoryCreateScope.from_dict({"user_id": "u1"})
    memory = create_memory.sync_detailed(client=client, body=m.MemoryCreate(scope=scope, fact="likes tea"))
    assert memory.status_code == 201 and memory.headers["etag"] == '"1"'
    listed = list_memories.sync(client=client, scope=m.ListMemoriesScope.from_dict({"scope.user_id": "u1"}))
    assert [x.fact for x in listed.items] == ["likes tea"]

    mid = memory.parsed.id
    changed = update_memory.sync_detailed(
        mid, client=client, body=m.MemoryPatch(fact="likes green tea"), if_match='"1"'
    )
    assert changed.status_code == 200 and changed.parsed.fact == "likes green tea"
    stale = update_memory.sync_detailed(mid, client=client, body=m.MemoryPatch(fact="x"), if_match='"1"')
    assert stale.status_code == 412 and isinstance(stale.parsed, m.Problem)
    missing = get_memory.sync_detailed("nope", client=client)
    assert missing.status_code == 404 and missing.parsed.status == 404

    job = generated.api__generation__generate_memories.sync_detailed(
        client=client, body=m.GenerateRequest(session_id=sid)
    )
    assert job.status_code == 202 and job.headers["location"].startswith("/v1/jobs/")
    invalid = create_memory.sync_detailed(
        client=client, body=m.MemoryCreate(scope=m.MemoryCreateScope.from_dict({}), fact="x")
    )
    assert invalid.status_code == 422 and [e.field for e in invalid.parsed.errors] == ["scope"]
