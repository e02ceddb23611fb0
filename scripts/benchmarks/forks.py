"""Forks benchmark: forking a session of N events within one request (moto in-process, the local runtime's
DynamoDB with its fidelity patches), with the DynamoDB calls counted per fork.

    .venv/bin/python scripts/bench.py --only forks --write
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from typing import Any

SIZES = (100, 1000)
RUNS = 5


def run(sizes: tuple[int, ...] = SIZES, runs: int = RUNS) -> list[dict[str, Any]]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.bootstrap import bootstrap
    from contextiq.local.moto_fidelity import patch_moto
    from contextiq.models.checkpoints import CheckpointCreate, ForkCreate
    from contextiq.models.sessions import EventCreate, SessionCreate, StatePatch

    patch_moto()
    rows: list[dict[str, Any]] = []
    with mock_aws():
        c = Container(Settings(stage="bench"))
        bootstrap(c.dynamodb, c.sqs, c.settings)
        calls: Counter[str] = Counter()
        c.dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
        for size in sizes:
            session = c.sessions.create("t", SessionCreate(user_id="u", state={"turn": 0}))
            text = "a typical turn of about two hundred characters, " * 4
            append_ms = []
            for i in range(1, size + 1):
                body = {"author": "user" if i % 2 else "agent", "content": {"text": text}, "state_delta": {"turn": i}}
                t = time.perf_counter()
                c.sessions.append_event("t", session.id, EventCreate.model_validate(body))
                append_ms.append((time.perf_counter() - t) * 1000)
                if i % 100 == 0:
                    c.sessions.patch_state("t", session.id, StatePatch(set={"hundreds": i // 100}), None)
            checkpoint = c.branches.create_checkpoint("t", session.id, CheckpointCreate())
            fork_ms, fork_calls = [], Counter[str]()
            for r in range(runs):
                calls.clear()
                req = ForkCreate(at_seq=size) if r % 2 else ForkCreate(checkpoint_id=checkpoint.checkpoint_id)
                t = time.perf_counter()
                fork = c.branches.fork("t", session.id, req)
                fork_ms.append((time.perf_counter() - t) * 1000)
                fork_calls = Counter(calls)
                assert fork.state == checkpoint.state
                assert fork.event_count == size
            rows.append(
                {
                    "events": size,
                    "fork_ms": statistics.median(fork_ms),
                    "append_ms": statistics.median(append_ms),
                    "calls": dict(fork_calls),
                }
            )
    return rows


def report() -> str:
    rows = run()
    load = os.getloadavg()[0]
    lines = [
        "### Forks: one request copies the session (moto in-process, fidelity patches on)",
        "",
        f"Median of {RUNS} forks per size (checkpoint and `at_seq` alternately); each event ~200 characters "
        "with a `state_delta`, a PATCH every 100 events. The machine is shared (up to 8 engineers on 2 "
        f"cores; load average {load:.1f} at the end of this run): compare the ratios, not the milliseconds. "
        "moto is far slower per call than DynamoDB, so "
        "the call counts say more about the cloud than the times do.",
        "",
        "| events | fork median (ms) | per event (ms) | one append median (ms) | fork / append | DynamoDB calls |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(row["calls"].items()))
        lines.append(
            f"| {row['events']} | {row['fork_ms']:.0f} | {row['fork_ms'] / row['events']:.2f} | "
            f"{row['append_ms']:.1f} | {row['fork_ms'] / row['append_ms']:.0f}x | "
            f"{sum(row['calls'].values())} ({calls}) |"
        )
    if len(rows) > 1:
        ratio = rows[-1]["fork_ms"] / rows[0]["fork_ms"]
        size_ratio = rows[-1]["events"] / rows[0]["events"]
        lines += ["", f"{size_ratio:.0f}x the events took {ratio:.1f}x the time (linear in the events copied)."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
