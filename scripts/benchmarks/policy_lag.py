"""Generation policies, locally: the lag from the append that triggers a job to its memory being searchable.

    .venv/bin/python scripts/bench.py --only policy_lag [--policy-trials 30] [--local-embedder hashing] [--write]

Over HTTP against a real `contextiq local` subprocess (its pollers running: the sessions stream's policy
consumer, the extraction and consolidation queues, the memories stream's indexer). Each trial is a new
session of a new user under an app policy of ``every_n_events: 5``: four filler turns, then the fifth turn
("I live in <City>"), timed from the moment its append is acknowledged until a search of the user's scope
returns the memory (polled every 20 ms). The idle trigger is timed the same way with ``idle_seconds: 1``
on one turn; its figure includes that second.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "bench-policy-key"
POLL_SECONDS = 0.02
CITIES = ["Lisbon", "Oslo", "Porto", "Leeds", "Denver", "Seattle", "Tallinn", "Krakow", "Ghent", "Turin"]


def _searchable(c: httpx.Client, user: str, city: str, deadline: float) -> float:
    while time.perf_counter() < deadline:
        hits = c.post("/v1/memories/search", json={"scope": {"user_id": user}, "query": f"lives in {city}"}).json()
        if any(city in r["memory"]["fact"] for r in hits.get("results", [])):
            return time.perf_counter()
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"the memory of {user} never became searchable")


def _say(c: httpx.Client, sid: str, text: str) -> None:
    c.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}}).raise_for_status()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(trials: int, embedder: str) -> dict[str, list[float]]:
    tmp = Path(tempfile.mkdtemp(prefix="ciq-policy-lag-"))
    process, url = _start(tmp, embedder)
    try:
        out: dict[str, list[float]] = {"every_n_events": [], "idle": []}
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=120) as c:
            c.put("/v1/generation-policies/bench-n", json={"every_n_events": 5}).raise_for_status()
            c.put("/v1/generation-policies/bench-idle", json={"idle_seconds": 1}).raise_for_status()
            for i in range(trials):
                user, city = f"lag-{i}", CITIES[i % len(CITIES)]
                sid = c.post("/v1/sessions", json={"user_id": user, "app_name": "bench-n"}).json()["id"]
                for k in range(4):
                    _say(c, sid, f"Small talk number {k} about the weather.")
                _say(c, sid, f"I live in {city}.")
                acknowledged = time.perf_counter()
                out["every_n_events"].append(_searchable(c, user, city, acknowledged + 120) - acknowledged)
            for i in range(max(5, trials // 3)):
                user, city = f"idle-{i}", CITIES[i % len(CITIES)]
                sid = c.post("/v1/sessions", json={"user_id": user, "app_name": "bench-idle"}).json()["id"]
                _say(c, sid, f"I live in {city}.")
                acknowledged = time.perf_counter()
                out["idle"].append(_searchable(c, user, city, acknowledged + 120) - acknowledged)
        return out
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=600)
        shutil.rmtree(tmp, ignore_errors=True)


def _start(tmp: Path, embedder: str) -> tuple[subprocess.Popen[bytes], str]:
    """`contextiq local` with its pollers (the point here), on a free port; returns (process, URL)."""
    from contextiq.local.runtime import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env["CONTEXTIQ_EMBEDDER"] = embedder
    env["PYTHONPATH"] = str(ROOT / "layers" / "core" / "python")
    cmd = [sys.executable, "-m", "contextiq.cli", "local", "--port", str(port), "--quiet"]
    cmd += ["--data-dir", str(tmp / "data"), "--api-key", f"{KEY}:bench"]
    with (tmp / "server.log").open("ab") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: see {tmp / 'server.log'}")
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def report() -> str:
    trials = int(os.environ.get("CONTEXTIQ_BENCH_POLICY_TRIALS", "30"))
    embedder = os.environ.get("CONTEXTIQ_BENCH_LOCAL_EMBEDDER", "hashing")
    lags = run(trials, embedder)
    load = os.getloadavg()[0]
    lines = [
        "### Generation policies: append to searchable memory, locally",
        "",
        f"`contextiq local` ({embedder} embedder, local extractor), its pollers as shipped (the stream poller "
        f"sleeps 0.5 s when a pass finds nothing; queues long-poll 1 s). Load average {load:.1f} during the run: "
        "the machine is shared, so the figures are noisy.",
        "",
        "| trigger | trials | p50 | p95 | max |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, values in lags.items():
        lines.append(
            f"| {name} | {len(values)} | {statistics.median(values):.2f} s | {_percentile(values, 0.95):.2f} s "
            f"| {max(values):.2f} s |"
        )
    lines += [
        "",
        "The `idle` figures include the 1 s idle time. The lag is the sum of the pollers' waits (stream, "
        "extraction queue, consolidation queue, memories stream) and the work; in the cloud the same hops are "
        "Lambda event source mappings, so these figures are not the cloud's.",
    ]
    return "\n".join(lines)
