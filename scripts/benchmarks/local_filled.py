"""Issue 9's scale figures on a filled data directory, over HTTP, the server started with its workers.

    .venv/bin/python scripts/benchmarks/local_filled.py WORKDIR EVENTS MEMORIES

Fills ``WORKDIR/filled`` in process once (``local_restart.fill_in_process``: 100 events per session,
memories in 50 scopes, moto + journal + services + the stream indexer, no HTTP; reused when it exists),
copies it to ``WORKDIR/run`` and starts ``contextiq local`` on the copy, as ``make run`` does (workers on).
Then: RSS after the start; p50/p95 of 200 appends, 200 memory writes and 200 searches from one client;
RSS after 4,000 more appends and 1,000 more memory writes (4 clients); a clean restart; 50 appends, kill
-9 and a start (how many of the 50 are there). Prints and writes ``WORKDIR/result.json``.

Why a filled directory and not ``local_scale``'s fill over HTTP: over HTTP 100k events take the better part
of an hour on this 2-core machine when it is shared; the in-process fill writes the same items through the
same services and journal. What it does not show is a server that took all 120k writes itself: the
growth per write of a running server is held by tests/integration/test_local_memory_budget.py and
measured here over the 5,000 extra writes.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _restart_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_local_restart", HERE / "local_restart.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def measure(base: Path, events: int, memories: int) -> dict[str, Any]:
    lr = _restart_module()
    ls = lr.ls
    filled = base / "filled" / "data"
    if not (base / "filled" / "what.txt").exists():
        shutil.rmtree(base / "filled", ignore_errors=True)
        started = time.time()
        what = lr.fill_in_process(filled, events, memories, "hashing")
        (base / "filled" / "what.txt").write_text(repr(what))
        print(f"filled in {time.time() - started:.0f} s", flush=True)
    run = base / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base / "filled", run)
    out: dict[str, Any] = {"what": (base / "filled" / "what.txt").read_text()}
    server = ls.Server(run / "data", "hashing")
    ls.SERVER = server
    out["start_s"] = server.start()
    out["rss_after_start_mb"] = server.rss_mb()
    out["caught_up_s"] = ls.caught_up(server)
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "user-1"}).json()["id"]
        out["append"] = ls.timed(lambda i: ls.append(c, sid, i))
        out["memory_write"] = ls.timed(lambda i: ls.write_memory(c, 10_000_000 + i))
        out["search"] = ls.timed(lambda i: ls.search(c, i))
    out["rss_after_timed_mb"] = server.rss_mb()
    with server.client() as c:
        sids = [c.post("/v1/sessions", json={"user_id": f"user-{k}"}).json()["id"] for k in range(20)]
    before, started = server.rss_mb(), time.time()
    ls.parallel(list(range(4000)), lambda c, i: ls.append(c, sids[i % 20], i))
    ls.parallel(list(range(1000)), lambda c, i: ls.write_memory(c, 20_000_000 + i))
    out["extra_writes"] = {
        "appends": 4000,
        "memories": 1000,
        "seconds": round(time.time() - started, 1),
        "rss_before_mb": before,
        "rss_after_mb": server.rss_mb(),
    }
    out["caught_up_after_extra_s"] = ls.caught_up(server)
    server.stop()
    out["clean_restart_s"] = server.start()
    out["rss_after_restart_mb"] = server.rss_mb()
    with server.client() as c:
        kill_sid = c.post("/v1/sessions", json={"user_id": "kill"}).json()["id"]
        for i in range(50):
            ls.append(c, kill_sid, i)
    server.stop(signal.SIGKILL)
    out["kill9_recovery_s"] = server.start()
    with server.client() as c:
        out["after_kill_present"] = c.get(f"/v1/sessions/{kill_sid}").json()["event_count"]
    server.stop()
    (base / "result.json").write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])), indent=1))
