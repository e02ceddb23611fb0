"""Sessions benchmark: DynamoDB calls per operation (counted, not timed) and handler cold import."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def count_calls() -> list[tuple[str, dict[str, int]]]:
    """Run each sessions operation through the service against moto and count DynamoDB API calls."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.bootstrap import bootstrap
    from contextiq.models.sessions import EventCreate, SessionCreate, StatePatch

    rows: list[tuple[str, dict[str, int]]] = []
    with mock_aws():
        c = Container(Settings(stage="bench"))
        bootstrap(c.dynamodb, c.sqs, c.settings)
        calls: Counter[str] = Counter()

        def hook(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        c.dynamodb.meta.events.register("before-call.dynamodb.*", hook)
        svc = c.sessions

        def measure(name: str, fn: Any) -> Any:
            calls.clear()
            result = fn()
            rows.append((name, dict(calls)))
            return result

        session = measure("create session", lambda: svc.create("t", SessionCreate(user_id="u", state={"a": 1})))
        measure("get session", lambda: svc.get("t", session.id))
        event = EventCreate.model_validate({"author": "user", "content": {"text": "hello"}})
        measure("append event", lambda: svc.append_event("t", session.id, event))
        delta = EventCreate.model_validate({"author": "user", "content": {"text": "x"}, "state_delta": {"b": 2}})
        measure("append event with state_delta", lambda: svc.append_event("t", session.id, delta))
        measure("list events (page of 20)", lambda: svc.list_events("t", session.id, 0, 20, None))
        measure("patch state", lambda: svc.patch_state("t", session.id, StatePatch(set={"c": 3}), None))
        measure("list sessions (page of 20)", lambda: svc.list_sessions("t", "u", None, 20, None))
        for i in range(48):
            svc.append_event("t", session.id, EventCreate.model_validate({"author": "u", "content": {"text": str(i)}}))
        measure("delete session with 50 events", lambda: svc.delete("t", session.id))
    return rows


def cold_import_ms(function: str = "sessions", runs: int = 7) -> list[float]:
    """Fresh interpreter per run: import the handler module (what a Lambda cold start pays for code)."""
    code = (
        "import time, importlib.util, sys; t=time.perf_counter(); "
        f"spec=importlib.util.spec_from_file_location('h', r'{ROOT / 'functions' / function / 'handler.py'}'); "
        "m=importlib.util.module_from_spec(spec); sys.modules['h']=m; spec.loader.exec_module(m); "
        "print((time.perf_counter()-t)*1000)"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    out = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        out.append(float(result.stdout.strip().splitlines()[-1]))
    return out


def report() -> str:
    lines = ["### Sessions: DynamoDB calls per operation (counted)", "", "| operation | calls |", "|---|---|"]
    for name, calls in count_calls():
        total = sum(calls.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        lines.append(f"| {name} | {total} ({detail}) |")
    samples = cold_import_ms()
    lines += [
        "",
        "### Sessions handler cold import (fresh interpreter, 7 runs)",
        "",
        f"median {statistics.median(samples):.0f} ms, min {min(samples):.0f} ms, max {max(samples):.0f} ms",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
