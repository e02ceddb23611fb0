"""DynamoDB calls per sessions operation (counted, not timed): a regression shows up as an extra call."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_calls_per_operation() -> None:
    spec = importlib.util.spec_from_file_location("bench_sessions", ROOT / "scripts" / "benchmarks" / "sessions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    totals = {name: sum(calls.values()) for name, calls in module.count_calls()}
    assert totals == {
        "create session": 1,
        "get session": 1,
        "append event": 2,
        "append event with state_delta": 2,
        "list events (page of 20)": 2,
        "patch state": 2,
        "list sessions (page of 20)": 1,
        "delete session with 50 events": 6,  # 50 events + the patch's history item: 3 batches of 25
    }
