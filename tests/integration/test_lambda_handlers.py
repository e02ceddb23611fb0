"""The Lambda entry points with the sample events of events/, as scripts/invoke.py runs them."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def invoke_script():  # type: ignore[no-untyped-def]
    return _load(ROOT / "scripts" / "invoke.py", "invoke_script")


def _event(function: str, name: str) -> dict:
    return json.loads((ROOT / "events" / function / f"{name}.json").read_text())


def test_sessions_events_through_the_handler(invoke_script, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONTEXTIQ_EMBEDDER", "hashing")
    monkeypatch.setenv("CONTEXTIQ_DATA_DIR", str(tmp_path))
    created = invoke_script.invoke("sessions", _event("sessions", "create_session"), tmp_path / "none.json")
    assert created["statusCode"] == 201
    assert json.loads(created["body"])["user_id"] == "u1"
    missing = invoke_script.invoke("sessions", _event("sessions", "get_session"), tmp_path / "none.json")
    assert missing["statusCode"] == 404
    assert missing["headers"]["content-type"] == "application/problem+json"
    spec = invoke_script.invoke("sessions", _event("sessions", "openapi"), tmp_path / "none.json")
    assert spec["statusCode"] == 200 and "/v1/sessions" in json.loads(spec["body"])["paths"]


API_FUNCTIONS = ("sessions", "memories", "jobs", "procedures", "webhooks", "templates")
ALL_EVENTS = sorted(
    (f.parent.name, f.stem) for f in (ROOT / "events").glob("*/*.json") if (ROOT / "functions" / f.parent.name).is_dir()
)


@pytest.mark.parametrize(("function", "name"), ALL_EVENTS)
def test_every_sample_event_gets_a_deliberate_answer(invoke_script, tmp_path, monkeypatch, function, name) -> None:
    monkeypatch.setenv("CONTEXTIQ_EMBEDDER", "hashing")
    monkeypatch.setenv("CONTEXTIQ_EMBEDDING_DIMENSIONS", "384")
    monkeypatch.setenv("CONTEXTIQ_DATA_DIR", str(tmp_path))
    result = invoke_script.invoke(function, _event(function, name), tmp_path / "none.json")
    if function == "authorizer":  # scripts/invoke.py registers the event's key for tenant "default"
        assert result["context"] == {"tenant": "default", "role": "write", "key_id": "invoke"}
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        return
    if function in API_FUNCTIONS:
        assert result["statusCode"] in {200, 201, 202, 204, 404}, result
        if result["statusCode"] >= 400:
            assert json.loads(result["body"])["status"] == result["statusCode"]
    elif function in ("indexer", "procedure_indexer", "notifier"):
        assert result == {"batchItemFailures": []}
    elif function == "sweeper":  # a fresh stack has no stale job
        assert result == {"examined": 0, "failed": 0}
    else:  # queue workers: the sample job does not exist in a fresh stack; such a message is dropped, not retried
        assert result == {"batchItemFailures": []}


def test_sample_events_cover_every_function() -> None:
    assert {f for f, _ in ALL_EVENTS} == {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()}


def test_handler_answers_403_without_a_known_key(invoke_script, aws) -> None:
    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.bootstrap import bootstrap

    base = Container(Settings())
    bootstrap(base.dynamodb, base.sqs, base.settings)
    handler = _load(ROOT / "functions" / "sessions" / "handler.py", "sessions_handler_403")
    denied = handler.handler(_event("sessions", "list_sessions"), invoke_script.LambdaContextStub("sessions"))
    assert denied["statusCode"] == 403
    assert json.loads(denied["body"])["detail"] == "unknown or revoked API key"
