"""HTTP throughput of an empty `contextiq local` started as `make run` starts it (with its workers:
stream indexer, notifier, generation policy and the SQS pollers), with 1 and with 8 client processes.

    .venv/bin/python scripts/bench.py --only local_throughput [--tp-rounds 3] [--tp-requests 400] --write

Each round runs appends then searches with 1 client, then with 8 clients (each on its own session),
``--tp-requests`` requests in all per cell (8 clients: an eighth each); the table gives the median
of the rounds, and the server's CPU time per request (from /proc). The clients are processes (as 8
test workers or agents would be), so the figure is the server's, not one client's GIL.

A/B: CONTEXTIQ_BENCH_TP_ROOTS="before=/path/to/other/checkout,after=." starts one server per source
tree (same venv, PYTHONPATH pointing at that tree's layer and functions) side by side and alternates
the rounds between them, so both see the same load on a shared machine. The table then has a row per
tree and the ratio of the last to the first. ``name=path@--no-workers`` passes server arguments.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CELLS = [(1, "appends/s"), (1, "searches/s"), (8, "appends/s"), (8, "searches/s")]  # (clients, what)


def _local_scale() -> Any:
    name = "bench_local_scale"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("local_scale.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _roots() -> list[tuple[str, Path, list[str]]]:
    """(name, source tree, extra server arguments): ``name=path`` or ``name=path@--no-workers``."""
    spec = os.environ.get("CONTEXTIQ_BENCH_TP_ROOTS", "")
    if not spec:
        return [("with workers", ROOT, [])]
    out = []
    for part in spec.split(","):
        name, _, rest = part.partition("=")
        path, _, flags = rest.partition("@")
        out.append((name, Path(path or ".").resolve(), flags.split()))
    return out


def start_server(base: Path, name: str, root: Path, embedder: str, extra: list[str] | None = None) -> Any:
    """A fresh server (``--reset``, with its workers) running the code of source tree ``root``."""
    scale = _local_scale()
    data = base / name.replace(" ", "_") / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    server = scale.Server(data, embedder)
    previous = os.environ.get("CONTEXTIQ_FUNCTIONS_DIR")
    os.environ["CONTEXTIQ_FUNCTIONS_DIR"] = str(root / "functions")
    saved_root = scale.ROOT
    scale.ROOT = root  # Server.start puts ROOT/layers/core/python on PYTHONPATH
    try:
        server.start("--reset", *(extra or []))
    finally:
        scale.ROOT = saved_root
        if previous is None:
            os.environ.pop("CONTEXTIQ_FUNCTIONS_DIR", None)
        else:
            os.environ["CONTEXTIQ_FUNCTIONS_DIR"] = previous
    return server


def run(rounds: int = 3, requests: int = 400, embedder: str = "hashing") -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="ciq-local-tp-"))
    servers = [(name, start_server(base, name, root, embedder, extra)) for name, root, extra in _roots()]
    rates: dict[str, dict[tuple[int, str], list[float]]] = {name: {c: [] for c in CELLS} for name, _ in servers}
    cpu: dict[str, dict[tuple[int, str], list[float]]] = {name: {c: [] for c in CELLS} for name, _ in servers}
    try:
        sessions = {name: _sessions(server, 8) for name, server in servers}
        for name, server in servers:  # warm-up: first requests import and build what the rest reuse
            for kind in ("appends/s", "searches/s"):
                cell(server, sessions[name], 1, kind, 20)
        for r in range(rounds):
            for name, server in servers if r % 2 == 0 else list(reversed(servers)):
                for clients, kind in CELLS:
                    rate, cpu_ms = cell(server, sessions[name], clients, kind, requests // clients)
                    rates[name][(clients, kind)].append(rate)
                    cpu[name][(clients, kind)].append(cpu_ms)
                    print(
                        f"  local_throughput: round {r + 1} {name} {clients} client(s) {kind} {rate:.0f} "
                        f"(server CPU {cpu_ms:.1f} ms/request)",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for _, server in servers:
            server.stop()
    return {
        "rounds": rounds,
        "requests": requests,
        "embedder": embedder,
        "load": os.getloadavg(),
        "medians": {n: {c: statistics.median(v) for c, v in cells.items()} for n, cells in rates.items()},
        "cpu_ms": {n: {c: statistics.median(v) for c, v in cells.items()} for n, cells in cpu.items()},
    }


def _sessions(server: Any, clients: int) -> list[str]:
    scale = _local_scale()
    with server.client() as c:
        sids = [c.post("/v1/sessions", json={"user_id": f"tp-{k}"}).json()["id"] for k in range(clients)]
        for i in range(20):
            scale.write_memory(c, 20_000_000 + i)
    return sids


def cell(server: Any, sids: list[str], clients: int, kind: str, per_client: int) -> tuple[float, float]:
    """Requests per second of ``clients`` client processes, each on its own session, and the server's
    CPU time per request (read from /proc after a pause that lets the stream pollers catch up)."""
    import multiprocessing

    scale = _local_scale()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(clients), context.Queue()
    before = _cpu_seconds(server.process.pid)
    workers = [
        context.Process(target=scale._client_process, args=(server.url, kind, sids[k], per_client, barrier, results))
        for k in range(clients)
    ]
    for worker in workers:
        worker.start()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    time.sleep(0.6)  # the pollers' share of these requests: a pass comes every 0.25 s
    cpu_ms = (_cpu_seconds(server.process.pid) - before) / (clients * per_client) * 1000
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return clients * per_client / elapsed, cpu_ms


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def to_markdown(r: dict[str, Any]) -> str:
    load = r["load"]
    lines = [
        "### Local runtime throughput (`contextiq local` with its workers, empty server, over HTTP)",
        "",
        f"Embedder `{r['embedder']}`; {r['requests']} requests per cell (8 clients: {r['requests'] // 8} each, "
        f"each client a process on its own session); median of {r['rounds']} rounds. In brackets: the server's "
        "CPU time per request (from /proc, pollers included), which depends less on the other load than the "
        f"rate does. Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on 2 shared cores at the end: "
        "absolute rates are noisy, compare ratios.",
        "",
        "| server | appends/s, 1 client | searches/s, 1 client | appends/s, 8 clients | searches/s, 8 clients |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cells in r["medians"].items():
        values = " | ".join(f"{cells[c]:.0f} ({r['cpu_ms'][name][c]:.1f} ms)" for c in CELLS)
        lines.append(f"| {name} | {values} |")
    names = list(r["medians"])
    if len(names) > 1:
        first, last = r["medians"][names[0]], r["medians"][names[-1]]
        ratios = " | ".join(f"{last[c] / first[c]:.1f}x" for c in CELLS)
        lines.append(f"| ratio {names[-1]} / {names[0]} | {ratios} |")
    return "\n".join(lines)


def report() -> str:
    rounds = int(os.environ.get("CONTEXTIQ_BENCH_TP_ROUNDS", "3"))
    requests = int(os.environ.get("CONTEXTIQ_BENCH_TP_REQUESTS", "400"))
    embedder = os.environ.get("CONTEXTIQ_BENCH_LOCAL_EMBEDDER", "hashing")
    started = time.perf_counter()
    text = to_markdown(run(rounds, requests, embedder))
    print(f"  local_throughput: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return text


if __name__ == "__main__":
    print(report())
