"""ContextIQ benchmarks. Prints markdown; with --write, also writes docs/benchmarks.md.

    .venv/bin/python scripts/bench.py [--only sessions,search,generation,recall_eval,procedures] [--write]

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
SECTIONS = ("sessions", "search", "generation", "recall_eval", "procedures")


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
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s]
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
        (ROOT / "docs" / "benchmarks.md").write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
