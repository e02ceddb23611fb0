"""ContextIQ benchmarks. Prints markdown; with --write, also writes docs/benchmarks.md.

    .venv/bin/python scripts/bench.py [--only sessions,search,generation,procedures] [--write]
    .venv/bin/python scripts/bench.py --only recall_latency --write     # 100k events + 20k memories (~1 min)
    .venv/bin/python scripts/bench.py --recall-eval --write             # also the recall evaluation (~10 min)
    .venv/bin/python scripts/bench.py --only context --write      (separate: POST /v1/context at 10k memories, tokens)
    .venv/bin/python scripts/bench.py --only forks --write        (separate: fork of a 100- and 1,000-event session)
    .venv/bin/python scripts/bench.py --only policy_lag [--policy-trials 30] --write   # generation policies (~1 min)
    .venv/bin/python scripts/bench.py --only local_throughput [--tp-rounds 3] [--tp-requests 400] --write
        (appends/s and searches/s, 1 and 8 clients, on a fresh `contextiq local` with its workers; ~3 min)

Speed targets live here, never in timed tests. Figures are medians (these 2-core machines are noisy).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # before contextiq.observability builds the logger
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see contextiq/cli.py
SECTIONS = ("sessions", "search", "generation", "procedures")
# Long runs, only with --only (or --recall-eval): their results live between markers in
# docs/benchmarks.md and are kept when the default sections are written again.
SEPARATE = (
    "local_scale",
    "local_restart",
    "local_throughput",
    "notifications",
    "recall_latency",
    "recall_eval",
    "search_modes",
    "forks",
    "context",
    "policy_lag",
)


def _module(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "scripts" / "benchmarks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _search_report() -> str:
    module = _module("search")
    if hasattr(module, "report"):
        return str(module.report())
    return "### Search latency on the embedded index (MiniLM)\n\n" + str(module.to_markdown(module.run()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    parser.add_argument("--local-events", default="1000,10000,100000", help="local_scale: event counts")
    parser.add_argument("--local-memories", default="1000,20000", help="local_scale: memory counts")
    parser.add_argument(
        "--recall-eval", action="store_true", help="also run the recall evaluation (scripts/eval_recall.py, ~10 min)"
    )
    parser.add_argument(
        "--local-embedder", default="hashing", help="local_scale, policy_lag: CONTEXTIQ_EMBEDDER of the server"
    )
    parser.add_argument("--policy-trials", default="30", help="policy_lag: sessions timed (every_n_events)")
    parser.add_argument("--restart-events", default="20000", help="local_restart: events in the data directory")
    parser.add_argument("--restart-memories", default="4000", help="local_restart: memories in the data directory")
    parser.add_argument("--restart-rounds", default="3", help="local_restart: clean restarts timed")
    parser.add_argument("--tp-rounds", default="3", help="local_throughput: rounds (the table gives medians)")
    parser.add_argument("--tp-requests", default="400", help="local_throughput: requests per cell and round")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s] + (["recall_eval"] if args.recall_eval else [])
    os.environ["CONTEXTIQ_BENCH_LOCAL_EVENTS"] = args.local_events
    os.environ["CONTEXTIQ_BENCH_LOCAL_MEMORIES"] = args.local_memories
    os.environ["CONTEXTIQ_BENCH_LOCAL_EMBEDDER"] = args.local_embedder
    os.environ["CONTEXTIQ_BENCH_POLICY_TRIALS"] = args.policy_trials
    os.environ["CONTEXTIQ_BENCH_RESTART_EVENTS"] = args.restart_events
    os.environ["CONTEXTIQ_BENCH_RESTART_MEMORIES"] = args.restart_memories
    os.environ["CONTEXTIQ_BENCH_RESTART_ROUNDS"] = args.restart_rounds
    os.environ["CONTEXTIQ_BENCH_TP_ROUNDS"] = args.tp_rounds
    os.environ["CONTEXTIQ_BENCH_TP_REQUESTS"] = args.tp_requests
    separate = [s for s in wanted if s in SEPARATE]
    wanted = [s for s in wanted if s not in SEPARATE]
    target = ROOT / "docs" / "benchmarks.md"
    existing = target.read_text() if target.exists() else ""
    for section in separate:
        flags = {
            "local_scale": f" --local-events {args.local_events} --local-memories {args.local_memories} "
            f"--local-embedder {args.local_embedder}",
            "policy_lag": f" --policy-trials {args.policy_trials} --local-embedder {args.local_embedder}",
            "local_restart": f" --restart-events {args.restart_events} --restart-memories {args.restart_memories} "
            f"--restart-rounds {args.restart_rounds} --local-embedder {args.local_embedder}",
            "local_throughput": f" --tp-rounds {args.tp_rounds} --tp-requests {args.tp_requests} "
            f"--local-embedder {args.local_embedder}",
        }.get(section, "")
        command = f"`.venv/bin/python scripts/bench.py --only {section}{flags} --write`"
        text = f"Produced by {command} on {datetime.now(UTC):%Y-%m-%d}.\n\n" + str(_module(section).report())
        print(text, flush=True)
        existing = _splice(existing, section, text)
    if separate and args.write:
        target.write_text(existing)
    if not wanted:
        return 0
    parts = [
        "# Benchmarks",
        "",
        f"Produced by `.venv/bin/python scripts/bench.py --only {','.join(wanted)} --write` on "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, Python {platform.python_version()}, "
        "2 cores. Medians; these machines are noisy, so compare ratios rather than absolute times.",
        "",
    ]
    for section in wanted:
        if section == "search":
            parts.append(_search_report())
        else:
            parts.append(str(_module(section).report()))
        parts.append("")
        print(parts[-2], flush=True)
    if args.write:
        kept = [_block(existing, s) for s in SEPARATE if _block(existing, s)]
        target.write_text("\n".join(parts + kept) + ("\n" if kept else ""))
    return 0


def _markers(section: str) -> tuple[str, str]:
    return f"<!-- {section}:begin -->", f"<!-- {section}:end -->"


def _block(text: str, section: str) -> str:
    begin, end = _markers(section)
    if begin in text and end in text:
        return text[text.index(begin) : text.index(end) + len(end)]
    return ""


def _splice(text: str, section: str, body: str) -> str:
    begin, end = _markers(section)
    block = f"{begin}\n{body}\n{end}"
    old = _block(text, section)
    return text.replace(old, block) if old else text.rstrip("\n") + "\n\n" + block + "\n"


if __name__ == "__main__":
    sys.exit(main())
