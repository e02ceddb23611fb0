"""Restart and kill -9 recovery of `contextiq local` with data in it (issue 9), scaled down.

    .venv/bin/python scripts/bench.py --only local_restart [--restart-events 20000] [--restart-memories 4000]
        [--restart-rounds 3] [--local-embedder hashing] --write

Fills a data directory in process (100 events per session, memories in 50 scopes, the texts of
``local_scale``; moto, the journal, the services and the stream indexer as the server runs them, without
HTTP, which on a loaded machine runs at tens of writes per second), deletes a few memories and one
session, and closes it as a clean stop does. Then, on that
data directory: ``--restart-rounds`` clean restarts (start until the API answers, then SIGINT) and one
kill -9 right after 50 acknowledged appends followed by a start. Each start's own step lines (tables,
model, index) are read from the server log, so the table shows where the time goes.

CONTEXTIQ_BENCH_LOCAL_WORKDIR keeps the filled data directory (``<workdir>/filled``) and reuses it on the
next run, so one fill serves several measurements (say, before and after a change): every run copies it
to ``<workdir>/run`` first. CONTEXTIQ_BENCH_SERVER_PYTHONPATH runs the server from another source tree
(the code before a change, extracted with ``git archive``) with this benchmark unchanged.

    .venv/bin/python scripts/benchmarks/local_restart.py steps <workdir>/filled/data OLD_TREE NEW_TREE

times only the start's own steps (table load, index) in process, for each tree in turn, twice.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _local_scale() -> Any:
    spec = importlib.util.spec_from_file_location("bench_local_scale", Path(__file__).with_name("local_scale.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


ls = _local_scale()
STEP = re.compile(r"^(?P<what>[A-Z][^\n]*?): done in (?P<s>[0-9.]+) s")


def _server(data_dir: Path, embedder: str) -> Any:
    return ls.Server(data_dir, embedder)


def _start(server: Any) -> tuple[float, dict[str, float]]:
    """Start (not quiet: the step lines are the breakdown); returns seconds to ready and the steps."""
    log = server.data_dir.parent / "server.log"
    before = log.stat().st_size if log.exists() else 0
    seconds = _start_verbose(server)
    text = log.read_text(errors="replace")[before:]
    steps = {m["what"]: float(m["s"]) for m in (STEP.match(line) for line in text.splitlines()) if m}
    return seconds, steps


def _start_verbose(server: Any) -> float:
    """As ``local_scale.Server.start`` but without --quiet (the step lines are the breakdown)."""
    import subprocess

    from contextiq.local.runtime import free_port

    server.port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env["CONTEXTIQ_EMBEDDER"] = server.embedder
    env["PYTHONPATH"] = os.environ.get("CONTEXTIQ_BENCH_SERVER_PYTHONPATH") or str(ROOT / "layers" / "core" / "python")
    cmd = [sys.executable, "-m", "contextiq.cli", "local", "--port", str(server.port)]
    cmd += ["--data-dir", str(server.data_dir), "--api-key", f"{ls.KEY}:bench"]
    started = time.perf_counter()
    log = (server.data_dir.parent / "server.log").open("ab")
    server.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    import httpx

    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: see {server.data_dir.parent / 'server.log'}")
        try:
            if httpx.get(server.url + "/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return time.perf_counter() - started


def fill_in_process(data_dir: Path, events: int, memories: int, embedder: str) -> dict[str, Any]:
    """The data directory a server leaves, written without HTTP (the fill over HTTP runs at the server's
    write throughput, tens per second on a loaded machine): moto in this process with the runtime's journal,
    the services of a Container, the stream indexer drained every batch (functions/indexer, as the server's
    poller runs it), then the journal and the index closed as a clean stop closes them."""
    saved = dict(os.environ)  # LocalStack points this process at its moto: the servers started later must not be
    try:
        return _fill(data_dir, events, memories, embedder)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _fill(data_dir: Path, events: int, memories: int, embedder: str) -> dict[str, Any]:
    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.journal import Journal
    from contextiq.local.runtime import LocalStack
    from contextiq.local.streams import StreamPoller
    from contextiq.models.memories import MemoryCreate
    from contextiq.models.sessions import EventCreate, SessionCreate
    from contextiq.services.indexing import reindex
    from contextiq.stores.vector.factory import close_embedded_indexes

    os.environ["CONTEXTIQ_EMBEDDER"] = embedder
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(data_dir=data_dir)
    stack.start()
    journal = Journal(data_dir / "tables", progress=lambda _line: None)
    journal.load(lambda _line: None)
    journal.start()
    c = Container(Settings())
    reindex(c.vector_index, c.embedder, c.index_tables(), drop=True)
    indexer = StreamPoller.for_settings(c.settings, c.dynamodb)
    tenant, topics = "bench", ls.TOPICS
    sessions = [
        c.sessions.create(tenant, SessionCreate(user_id=f"user-{k % 50}")).id for k in range(max(1, events // 100))
    ]
    started = time.perf_counter()
    for i in range(events):
        text = f"Message {i}: we talked about {topics[i % 10]} and {topics[(i * 7) % 10]} for a while"
        c.sessions.append_event(tenant, sessions[i % len(sessions)], EventCreate(author="user", content={"text": text}))
        if i % 2000 == 1999:
            indexer.drain()
            print(
                f"  local_restart: fill {i + 1:,} events ({(i + 1) / (time.perf_counter() - started):.0f}/s)",
                file=sys.stderr,
                flush=True,
            )
    ids = []
    for i in range(memories):
        fact = f"The user likes {topics[i % 10]} (note {i}, about {topics[(i * 3) % 10]})"
        ids.append(
            c.memories.create(tenant, MemoryCreate(scope={"user_id": f"user-{i % 50}"}, fact=fact), actor="bench").id
        )
    for memory_id in ids[:10]:  # deletes before the stop must stay deleted
        c.memories.delete(tenant, memory_id, actor="bench")
    c.sessions.delete(tenant, sessions[-1])
    indexer.drain()
    journal.stop()
    close_embedded_indexes()
    stack.stop()
    return {"events": events, "memories": memories, "sessions": len(sessions)}


def measure(data_dir: Path, embedder: str, rounds: int) -> dict[str, Any]:
    server = _server(data_dir, embedder)
    ls.SERVER = server
    restarts = []
    for _ in range(rounds):
        restarts.append(_start(server))
        print(f"  local_restart: clean restart {restarts[-1][0]:.1f} s {restarts[-1][1]}", file=sys.stderr, flush=True)
        server.stop()
    _start(server)
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "kill"}).json()["id"]
        for i in range(50):
            ls.append(c, sid, i)
    server.stop(signal.SIGKILL)
    recovery = _start(server)
    print(f"  local_restart: kill -9 recovery {recovery[0]:.1f} s {recovery[1]}", file=sys.stderr, flush=True)
    with server.client() as c:
        present = c.get(f"/v1/sessions/{sid}").json()["event_count"]
    server.stop()
    return {"restarts": restarts, "recovery": recovery, "after_kill_events": present}


def run(events: int, memories: int, embedder: str, rounds: int, workdir: Path | None) -> dict[str, Any]:
    base = Path(workdir or tempfile.mkdtemp(prefix="ciq-local-restart-"))
    filled = base / "filled" / "data"
    info_path = base / "filled" / "what.txt"
    if not (filled.exists() and info_path.exists()):
        shutil.rmtree(base / "filled", ignore_errors=True)
        what = fill_in_process(filled, events, memories, embedder)
        info_path.write_text(repr(what))
    what = eval(info_path.read_text())  # noqa: S307 - our own repr of a dict of ints
    run_dir = base / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(base / "filled", run_dir)
    results = measure(run_dir / "data", embedder, rounds)
    results.update(totals=what, embedder=embedder)
    results["data_mb"] = {
        sub: sum(p.stat().st_size for p in (run_dir / "data" / sub).rglob("*") if p.is_file()) / 1e6
        for sub in ("tables", "index")
    }
    if workdir is None:
        shutil.rmtree(base, ignore_errors=True)
    return results


def to_markdown(r: dict[str, Any]) -> str:
    t = r["totals"]
    names = sorted({k for _, steps in [*r["restarts"], r["recovery"]] for k in steps})
    lines = [
        f"Embedder `{r['embedder']}`; {t['events']:,} events in {t['sessions']:,} sessions, {t['memories']:,} "
        f"memories; tables {r['data_mb']['tables']:.0f} MB, index {r['data_mb']['index']:.0f} MB on disk.",
        "",
        "| start | ready after | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for i, (seconds, steps) in enumerate(r["restarts"], 1):
        cells = " | ".join(f"{steps[n]:.1f}" if n in steps else "–" for n in names)
        lines.append(f"| clean restart {i} | {seconds:.1f} s | {cells} |")
    seconds, steps = r["recovery"]
    cells = " | ".join(f"{steps[n]:.1f}" if n in steps else "–" for n in names)
    lines.append(f"| after kill -9 | {seconds:.1f} s | {cells} |")
    median = statistics.median(s for s, _ in r["restarts"])
    lines += [
        "",
        f"Median clean restart {median:.1f} s; after kill -9 {seconds:.1f} s with {r['after_kill_events']} of the "
        "50 appends acknowledged before the kill present.",
    ]
    return "\n".join(lines)


STEPS = """
import os, shutil, sys, time
from pathlib import Path
os.environ["CONTEXTIQ_EMBEDDER"] = sys.argv[2]
d = Path(sys.argv[1])
from contextiq.local.runtime import LocalStack
stack = LocalStack(data_dir=d)
stack.start()
from contextiq.local.journal import Journal
from contextiq.config import Settings
from contextiq.container import Container
t = time.perf_counter()
Journal(d / "tables", progress=lambda _: None).load(lambda _: None)
tables = time.perf_counter() - t
c = Container(Settings())
t = time.perf_counter()
try:
    from contextiq.local.index_start import local_tables, prepare_index
except ImportError:  # the code before the index was kept: drop and rebuild, as its start did
    from contextiq.services.indexing import reindex
    shutil.rmtree(d / "index", ignore_errors=True)
    r = reindex(c.vector_index, c.embedder, c.index_tables(), drop=True, opted_out=c.settings.events_opted_out)
else:
    r = prepare_index(c.settings, c.embedder, local_tables(c), opted_out=c.settings.events_opted_out, say=print)
print(f"tables {tables:.1f} s, index {time.perf_counter() - t:.1f} s, {r}", flush=True)
stack.stop()
"""


def steps(filled: Path, trees: list[str], embedder: str, rounds: int = 2) -> list[str]:
    """The start's own steps (table load, index), in process, for each source tree in turn (alternating,
    so every tree sees the same machine load), each on a fresh copy of ``filled``."""
    import subprocess

    lines = []
    for _ in range(rounds):
        for tree in trees:
            work = Path(tempfile.mkdtemp(prefix="ciq-restart-steps-"))
            shutil.copytree(filled, work / "data")
            env = {**os.environ, "PYTHONPATH": f"{tree}/layers/core/python"}
            cmd = [sys.executable, "-c", STEPS, str(work / "data"), embedder]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            lines.append(f"{tree}: " + [x for x in out.splitlines() if x.startswith("tables ")][-1])
            print(f"  local_restart: {lines[-1]}", file=sys.stderr, flush=True)
            shutil.rmtree(work, ignore_errors=True)
    return lines


def report() -> str:
    events = int(os.environ.get("CONTEXTIQ_BENCH_RESTART_EVENTS", "20000"))
    memories = int(os.environ.get("CONTEXTIQ_BENCH_RESTART_MEMORIES", "4000"))
    embedder = os.environ.get("CONTEXTIQ_BENCH_LOCAL_EMBEDDER", "hashing")
    rounds = int(os.environ.get("CONTEXTIQ_BENCH_RESTART_ROUNDS", "3"))
    workdir = os.environ.get("CONTEXTIQ_BENCH_LOCAL_WORKDIR")
    return to_markdown(run(events, memories, embedder, rounds, Path(workdir) if workdir else None))


if __name__ == "__main__":
    if sys.argv[1:2] == ["steps"]:  # steps FILLED_DATA_DIR TREE [TREE ...]: old and new code on the same data
        print("\n".join(steps(Path(sys.argv[2]), sys.argv[3:], os.environ.get("CONTEXTIQ_EMBEDDER", "hashing"))))
    else:
        print(report())
