"""Webhook delivery lag, locally, over HTTP against a real `contextiq local` subprocess.

    .venv/bin/python scripts/bench.py --only notifications [--write]

A receiver (threaded http.server on 127.0.0.1) subscribes to memory.created. Memories are then written one
at a time; the lag of each is from just before its POST /v1/memories to the moment the receiver has the
signed delivery (memories stream -> notifier -> FIFO delivery queue -> delivery worker -> POST). Reported:
p50/p95 over the sample, and how many were delivered. The local pollers wait up to 0.5 s on a quiet stream
and long-poll SQS for 1 s, which bounds the worst case.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "bench-notify-key"
SAMPLE = int(os.environ.get("CONTEXTIQ_BENCH_NOTIFY_SAMPLE", "40"))


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                arrivals.setdefault(body["resource_id"], time.perf_counter())
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from contextiq.local.runtime import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "CONTEXTIQ_"))}
    env["CONTEXTIQ_EMBEDDER"] = "hashing"
    env["PYTHONPATH"] = str(ROOT / "layers" / "core" / "python")
    cmd = [sys.executable, "-m", "contextiq.cli", "local", "--port", str(port), "--data-dir", str(data_dir)]
    cmd += ["--api-key", f"{KEY}:bench", "--quiet"]
    log = (data_dir.parent / "server.log").open("ab")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: see {data_dir.parent / 'server.log'}")
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def run(sample: int = SAMPLE) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    process, url = start_server(work / "data")
    receiver = Receiver()
    lags: list[float] = []
    try:
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=60) as c:
            c.post("/v1/webhooks", json={"url": receiver.url, "events": ["memory.created"]}).raise_for_status()
            for i in range(sample):
                started = time.perf_counter()
                body = {"fact": f"bench fact number {i}", "scope": {"user_id": "bench"}}
                memory_id = c.post("/v1/memories", json=body).raise_for_status().json()["id"]
                deadline = started + 30
                while memory_id not in receiver.arrivals and time.perf_counter() < deadline:
                    time.sleep(0.005)
                if memory_id in receiver.arrivals:
                    lags.append(receiver.arrivals[memory_id] - started)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        receiver.server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    lags.sort()
    return {
        "sample": sample,
        "delivered": len(lags),
        "p50_ms": statistics.median(lags) * 1000 if lags else float("nan"),
        "p95_ms": lags[max(0, int(len(lags) * 0.95) - 1)] * 1000 if lags else float("nan"),
    }


def report() -> str:
    r = run()
    return (
        "### Webhook delivery lag, local (`contextiq local`, hashing embedder)\n\n"
        "From just before `POST /v1/memories` to the receiver holding the signed `memory.created` delivery, one "
        "memory at a time. The machine is shared by several engineers' test runs (noisy): read the order of "
        "magnitude. The local pollers' idle waits (up to 0.5 s on a quiet stream, a 1 s SQS long poll) bound the "
        "worst case.\n\n"
        "| memories | delivered | lag p50 | lag p95 |\n| ---: | ---: | ---: | ---: |\n"
        f"| {r['sample']} | {r['delivered']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms |\n"
    )


if __name__ == "__main__":
    print(report())
