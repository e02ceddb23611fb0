"""Recall evaluation: evidence recall any@10 / all@10 per question kind for memory search, event search,
recall and plain BM25 over raw turns, on the multi-session set the repo generates (scripts/eval_recall.py)."""

from __future__ import annotations


def report() -> str:
    import importlib.util
    import io
    import sys
    from contextlib import redirect_stdout
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "eval_recall.py"
    spec = importlib.util.spec_from_file_location("eval_recall_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    out = io.StringIO()
    with redirect_stdout(out):
        module.main([])
    return "\n".join(
        [
            "### Recall evaluation (multi-session set made by `contextiq.evaluation.multisession`)",
            "",
            "`.venv/bin/python scripts/bench.py --recall-eval --write`, i.e. `.venv/bin/python scripts/eval_recall.py`"
            " (held-out split, the default seed; 6 users x 10 sessions, k = 10; cells are any@10 / all@10, see"
            " docs/evaluation.md; the development splits and the fusion study are described there):",
            "",
            out.getvalue().strip(),
        ]
    )
