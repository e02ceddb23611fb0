"""Evidence recall of memory search, event search, recall and plain BM25 on the multi-session set.

    .venv/bin/python scripts/eval_recall.py                       # in process: moto, MiniLM, real handlers
    .venv/bin/python scripts/eval_recall.py --users 2 --sessions 4  # a quick look
    .venv/bin/python scripts/eval_recall.py --modes                 # also memory/event search per component mode
    .venv/bin/python scripts/eval_recall.py --no-anchors            # recall without event-anchored dates
    .venv/bin/python scripts/eval_recall.py --url http://127.0.0.1:8000 --api-key KEY   # against `contextiq local`

Prints the table of docs/benchmarks.md ("Recall evaluation"); see contextiq.evaluation.recall_eval.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from contextiq.evaluation.multisession import DEFAULT_SEED, DEFAULT_SESSIONS, DEFAULT_USERS, generate_multisession
    from contextiq.evaluation.recall_eval import MODE_RETRIEVERS, RETRIEVERS, RecallReport, evaluate, summary

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--embedder", default="minilm", help="in process only: minilm (default) or hashing")
    parser.add_argument("--url", help="a running `contextiq local` (default: an in-process stack)")
    parser.add_argument("--api-key", help="the API key of --url")
    parser.add_argument("--misses", action="store_true", help="also list the questions each retriever missed")
    parser.add_argument(
        "--pools", type=Path, help="also write, per question, the candidate pools recall fuses (JSON, for fusion_study)"
    )
    parser.add_argument(
        "--no-anchors",
        action="store_true",
        help="in process only: recall without event-anchored dates (services/query_anchors.py), to measure them",
    )
    parser.add_argument(
        "--modes", action="store_true", help="also memory and event search in semantic and in keyword mode alone"
    )
    args = parser.parse_args(argv)
    retrievers = (*RETRIEVERS, *MODE_RETRIEVERS) if args.modes else RETRIEVERS

    conversations = generate_multisession(seed=args.seed, users=args.users, sessions=args.sessions)
    report: RecallReport
    if args.url:
        import httpx

        if not args.api_key:
            parser.error("--url needs --api-key")
        with httpx.Client(base_url=args.url, headers={"x-api-key": args.api_key}, timeout=60) as client:
            report = evaluate(client, conversations, k=args.k, pools=bool(args.pools), retrievers=retrievers)
    else:
        from fastapi.testclient import TestClient

        from contextiq.api.app import create_app
        from contextiq.local.inprocess import in_process_stack
        from contextiq.services.recall import RecallService

        if args.no_anchors:
            RecallService._anchor = lambda self, tenant, req: None  # type: ignore[method-assign]

        # one stack per user: moto keeps every table in memory, and a user's questions never look past
        # the user's own scope, so nothing is lost by starting afresh
        report = RecallReport(k=args.k)
        for conv in conversations:
            data_dir = Path(tempfile.mkdtemp(prefix="ciq-recall-eval-"))
            with in_process_stack(data_dir, embedder=args.embedder) as (container, drain):
                container.api_keys.put("eval-key", "eval", key_id="eval")
                with TestClient(create_app(container), headers={"x-api-key": "eval-key"}) as client:
                    evaluate(
                        client, [conv], k=args.k, after_generate=drain, report=report, pools=bool(args.pools),
                        retrievers=retrievers,
                    )  # fmt: skip
    print(summary(report))
    if args.pools:
        args.pools.write_text(json.dumps({"seed": args.seed, "k": args.k, "questions": report.pools}))
    for name, reason in report.unavailable.items():
        print(f"{name}: not available ({reason})")
    if args.misses:
        for name, missed in report.misses.items():
            print(f"\n{name} missed {len(missed)}:")
            print("\n".join(f"  {m}" for m in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
