"""The recall floor (issue 10): on a small slice of the multi-session set, driven through the HTTP API,
unified recall finds evidence at least as often as plain BM25 over the raw turns, in every question kind
(any@10 and all@10). The full table is in docs/benchmarks.md (scripts/eval_recall.py)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.minilm]


def test_recall_is_never_below_the_bm25_baseline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app
    from contextiq.evaluation.multisession import QuestionKind, generate_multisession
    from contextiq.evaluation.recall_eval import RecallReport, evaluate
    from contextiq.local.inprocess import in_process_stack

    report = RecallReport(k=10)
    for n, conv in enumerate(generate_multisession(users=2, sessions=3, turns_per_session=12)):
        with in_process_stack(tmp_path / str(n), embedder="minilm") as (container, drain):
            container.api_keys.put("floor-key", "floor", key_id="floor")
            with TestClient(create_app(container), headers={"x-api-key": "floor-key"}) as client:
                evaluate(client, [conv], after_generate=drain, retrievers=("recall", "bm25"), report=report)
    assert not report.unavailable, report.unavailable
    for kind in QuestionKind:
        recall, bm25 = report.score("recall", kind), report.score("bm25", kind)
        assert recall.questions == bm25.questions > 0
        assert recall.any_at_k >= bm25.any_at_k, (kind, recall, bm25, report.misses.get("recall"))
        assert recall.all_at_k >= bm25.all_at_k, (kind, recall, bm25, report.misses.get("recall"))
