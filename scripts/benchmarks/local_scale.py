"""Local runtime at scale, over HTTP against a real `contextiq local` subprocess.

    .venv/bin/python scripts/bench.py --only local_scale [--local-events 1000,10000,100000]
        [--local-memories 1000,20000] [--local-embedder hashing] [--write]

Fills one server step by step (100 events per session, so 100k events are 1,000 sessions; memories
in 50 scopes) and at each step records the server's RSS and p50/p95 latency of appends, memory
writes and searches (a fixed sample each). Then: throughput with 1 and 8 clients on an empty server
(8 clients on 8 sessions), the time a clean restart takes with everything filled, and the time to be
ready again after kill -9 (and whether every acknowledged write was still there).

The fill uses 4 concurrent clients; sample latencies use one client. Sizes are parameters: the
machine this runs on decides how far it can go in the time there is. With
CONTEXTIQ_BENCH_LOCAL_DEADLINE (Unix time) a fill step stops at the deadline, and the row says how far
it got; CONTEXTIQ_BENCH_LOCAL_WORKDIR keeps the data directories there (otherwise a temp dir, removed).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "bench-local-key"
FILL_CLIENTS = 4
FILL_BATCH = 2000
SAMPLE = 200


@dataclass
class Server:
    data_dir: Path
    embedder: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> float:
        from contextiq.local.runtime import free_port

        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env["CONTEXTIQ_EMBEDDER"] = self.embedder
        env["PYTHONPATH"] = str(ROOT / "layers" / "core" / "python")
        cmd = [sys.executable, "-m", "contextiq.cli", "local", "--port", str(self.port)]
        # With its workers, as `make run`: the indexer feeds the vector index from the streams, so searches
        # search what was written and the stream records are consumed.
        cmd += ["--data-dir", str(self.data_dir), "--api-key", f"{KEY}:bench", "--quiet", *extra]
        started = time.perf_counter()
        log = (self.data_dir.parent / "server.log").open("ab")
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: see {self.data_dir.parent / 'server.log'}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.started_seconds = time.perf_counter() - started
        return self.started_seconds

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, sig: int = signal.SIGINT) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=600)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"x-api-key": KEY}, timeout=120)


@dataclass
class Filler:
    """What is in the server so far."""

    sessions: list[str] = field(default_factory=list)
    events: int = 0
    memories: int = 0

    def fill_events(self, server: Server, target: int) -> None:
        needed_sessions = max(1, target // 100)
        with server.client() as c:
            while len(self.sessions) < needed_sessions:
                body = {"user_id": f"user-{len(self.sessions) % 50}"}
                self.sessions.append(c.post("/v1/sessions", json=body).raise_for_status().json()["id"])
        while self.events < target and not past_deadline():
            todo = list(range(self.events, min(target, self.events + FILL_BATCH)))
            started = time.perf_counter()
            parallel(todo, lambda c, i: append(c, self.sessions[i % len(self.sessions)], i))
            self.events = todo[-1] + 1
            progress(f"{self.events:,} events ({len(todo) / (time.perf_counter() - started):.0f}/s)", server)

    def fill_memories(self, server: Server, target: int) -> None:
        while self.memories < target and not past_deadline():
            todo = list(range(self.memories, min(target, self.memories + FILL_BATCH)))
            started = time.perf_counter()
            parallel(todo, write_memory)
            self.memories = todo[-1] + 1
            progress(f"{self.memories:,} memories ({len(todo) / (time.perf_counter() - started):.0f}/s)", server)


def past_deadline() -> bool:
    deadline = os.environ.get("CONTEXTIQ_BENCH_LOCAL_DEADLINE")
    return bool(deadline) and time.time() > float(deadline or 0)


def progress(what: str, server: Server) -> None:
    line = f"  local_scale: {time.strftime('%H:%M:%S')} {what}, RSS {server.rss_mb():.0f} MB"
    print(line, file=sys.stderr, flush=True)


def parallel(items: list[int], work: Callable[[httpx.Client, int], Any]) -> None:
    def run(chunk: list[int]) -> None:
        with httpx.Client(base_url=SERVER.url, headers={"x-api-key": KEY}, timeout=120) as c:
            for i in chunk:
                work(c, i)

    chunks = [items[k::FILL_CLIENTS] for k in range(FILL_CLIENTS)]
    with ThreadPoolExecutor(FILL_CLIENTS) as pool:
        list(pool.map(run, chunks))


TOPICS = ["kayak", "hiking", "peanuts", "jazz", "chess", "sushi", "tennis", "violin", "berlin", "garden"]


def append(c: httpx.Client, sid: str, i: int) -> None:
    text = f"Message {i}: we talked about {TOPICS[i % 10]} and {TOPICS[(i * 7) % 10]} for a while"
    c.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}}).raise_for_status()


def write_memory(c: httpx.Client, i: int) -> None:
    fact = f"The user likes {TOPICS[i % 10]} (note {i}, about {TOPICS[(i * 3) % 10]})"
    c.post("/v1/memories", json={"scope": {"user_id": f"user-{i % 50}"}, "fact": fact}).raise_for_status()


def search(c: httpx.Client, i: int) -> None:
    body = {"scope": {"user_id": f"user-{i % 50}"}, "query": f"what about {TOPICS[i % 10]}?"}
    c.post("/v1/memories/search", json=body).raise_for_status()


def timed(fn: Callable[[int], Any], n: int = SAMPLE) -> tuple[float, float]:
    samples = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def caught_up(server: Server, limit_seconds: float = 600) -> float:
    """Write a memory with a fact nothing else has and wait until search finds it: the indexer has then
    handled what was written before it (one stream per table, read in order). Returns the wait."""
    started = time.perf_counter()
    marker = f"zebra{int(started * 1000)}"
    with server.client() as c:
        c.post("/v1/memories", json={"scope": {"user_id": "marker"}, "fact": f"The {marker} note"}).raise_for_status()
        while time.perf_counter() - started < limit_seconds:
            body = {"scope": {"user_id": "marker"}, "query": marker}
            found = c.post("/v1/memories/search", json=body).raise_for_status().json()
            if any(marker in str(hit) for hit in found.get("items", found.get("results", []))):
                break
            time.sleep(0.5)
    return time.perf_counter() - started


def measure(server: Server, filler: Filler) -> dict[str, Any]:
    progress(f"indexer caught up after {caught_up(server):.1f} s", server)
    with server.client() as c:
        sid = filler.sessions[0] if filler.sessions else c.post("/v1/sessions", json={"user_id": "u"}).json()["id"]
        row: dict[str, Any] = {"events": filler.events, "memories": filler.memories}
        row["append"] = timed(lambda i: append(c, sid, i))
        row["memory write"] = timed(lambda i: write_memory(c, 10_000_000 + i))
        row["search"] = timed(lambda i: search(c, i))
    filler.events += SAMPLE
    filler.memories += SAMPLE
    row["rss_mb"] = server.rss_mb()
    return row


def throughput(server: Server, clients: int, per_client: int) -> dict[str, float]:
    """Requests per second of ``clients`` client processes (as 8 test workers or agents would be: one
    Python client process with 8 threads would measure its own GIL), each on its own session."""
    with server.client() as c:
        sids = [c.post("/v1/sessions", json={"user_id": f"tp-{k}"}).json()["id"] for k in range(clients)]
        for i in range(20):
            write_memory(c, 20_000_000 + i)
    out = {}
    context = multiprocessing.get_context("fork")
    for name in ("appends/s", "searches/s"):
        barrier, results = context.Barrier(clients), context.Queue()
        workers = [
            context.Process(target=_client_process, args=(server.url, name, sids[k], per_client, barrier, results))
            for k in range(clients)
        ]
        for worker in workers:
            worker.start()
        spans = [results.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join()
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
        out[name] = clients * per_client / elapsed
    return out


def _client_process(url: str, name: str, sid: str, count: int, barrier: Any, results: Any) -> None:
    with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=120) as c:
        c.get("/openapi.json")  # connect before the clock starts
        barrier.wait()
        started = time.time()
        for i in range(count):
            if name == "appends/s":
                append(c, sid, i)
            else:
                search(c, i)
        results.put((started, time.time()))


SERVER = Server(Path("."), "hashing")


def run(
    events_steps: list[int], memory_steps: list[int], embedder: str = "hashing", workdir: Path | None = None
) -> dict[str, Any]:
    global SERVER
    base = Path(workdir or tempfile.mkdtemp(prefix="ciq-local-scale-"))
    results: dict[str, Any] = {"rows": [], "embedder": embedder}
    # Throughput on an empty server.
    SERVER = Server(base / "tp" / "data", embedder)
    SERVER.data_dir.parent.mkdir(parents=True, exist_ok=True)
    SERVER.start("--reset")
    results["throughput"] = {n: throughput(SERVER, n, 240 // n if n > 1 else 240) for n in (1, 8)}
    print(f"  local_scale: throughput {results['throughput']}", file=sys.stderr, flush=True)
    SERVER.stop()
    # Scale.
    SERVER = Server(base / "scale" / "data", embedder)
    SERVER.data_dir.parent.mkdir(parents=True, exist_ok=True)
    results["first_start_s"] = SERVER.start("--reset")
    filler = Filler()
    steps = sorted({("e", n) for n in events_steps} | {("m", n) for n in memory_steps}, key=lambda s: (s[1], s[0]))
    for kind, n in steps:
        if kind == "e":
            filler.fill_events(SERVER, max(n, filler.events))
        else:
            filler.fill_memories(SERVER, max(n, filler.memories))
        results["rows"].append(measure(SERVER, filler))
        print(f"  local_scale: {results['rows'][-1]}", file=sys.stderr, flush=True)
    # Restart with everything in it: clean stop, then kill -9 right after more writes.
    SERVER.stop()
    results["restart_s"] = SERVER.start()
    print(f"  local_scale: restart {results['restart_s']:.1f} s", file=sys.stderr, flush=True)
    results["restart_rss_mb"] = SERVER.rss_mb()
    with SERVER.client() as c:
        last = [c.post("/v1/sessions", json={"user_id": "kill"}).json()["id"]]
        for i in range(50):
            append(c, last[0], i)
    SERVER.stop(signal.SIGKILL)
    results["recovery_s"] = SERVER.start()
    with SERVER.client() as c:
        results["after_kill_events"] = c.get(f"/v1/sessions/{last[0]}").json()["event_count"]
    SERVER.stop()
    results["totals"] = {"events": filler.events, "memories": filler.memories, "sessions": len(filler.sessions)}
    results["disk_mb"] = sum(p.stat().st_size for p in SERVER.data_dir.rglob("*") if p.is_file()) / 1e6
    if workdir is None:
        shutil.rmtree(base, ignore_errors=True)
    return results


def to_markdown(r: dict[str, Any]) -> str:
    lines = [
        "### Local runtime at scale (`contextiq local` over HTTP)",
        "",
        f"Embedder `{r['embedder']}`; {SAMPLE} timed requests per cell from one client (p50 / p95 ms); the fill "
        f"runs {FILL_CLIENTS} clients. Server RSS after each step. Shared 2-core machine under load from other "
        "work while this ran: absolute times are noisy, compare ratios.",
        "",
        "| events | memories | server RSS | append p50 / p95 | memory write p50 / p95 | search p50 / p95 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        cells = [f"{row[k][0]:.1f} / {row[k][1]:.1f}" for k in ("append", "memory write", "search")]
        head = f"| {row['events']:,} | {row['memories']:,} | {row['rss_mb']:.0f} MB | "
        lines.append(head + " | ".join(cells) + " |")
    rows = r["rows"]
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        ratios = ", ".join(f"{k} {last[k][0] / first[k][0]:.2f}x" for k in ("append", "memory write", "search"))
        lines += ["", f"Median at the largest step / at the smallest: {ratios}."]
    tp = r["throughput"]
    lines += [
        "",
        "| empty server | appends/s | searches/s |",
        "|---|---:|---:|",
        *(f"| {n} client(s) | {v['appends/s']:.0f} | {v['searches/s']:.0f} |" for n, v in tp.items()),
        "",
        f"- filled: {r['totals']['events']:,} events in {r['totals']['sessions']:,} sessions, "
        f"{r['totals']['memories']:,} memories; data dir {r['disk_mb']:.0f} MB",
        f"- first start (empty): {r['first_start_s']:.1f} s; clean restart with everything: "
        f"{r['restart_s']:.1f} s (RSS after restart {r['restart_rss_mb']:.0f} MB)",
        f"- kill -9 right after 50 acknowledged appends, then start: ready in {r['recovery_s']:.1f} s, "
        f"{r['after_kill_events']} of 50 appends present",
    ]
    return "\n".join(lines)


def report() -> str:
    events = [int(x) for x in os.environ.get("CONTEXTIQ_BENCH_LOCAL_EVENTS", "1000,10000,100000").split(",") if x]
    memories = [int(x) for x in os.environ.get("CONTEXTIQ_BENCH_LOCAL_MEMORIES", "1000,20000").split(",") if x]
    embedder = os.environ.get("CONTEXTIQ_BENCH_LOCAL_EMBEDDER", "hashing")
    workdir = os.environ.get("CONTEXTIQ_BENCH_LOCAL_WORKDIR")
    return to_markdown(run(events, memories, embedder, Path(workdir) if workdir else None))


if __name__ == "__main__":
    print(report())
