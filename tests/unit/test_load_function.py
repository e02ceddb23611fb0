"""Pollers load handler modules from threads: a second loader never gets a half-imported module."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from contextiq.local import workers

SLOW_HANDLER = """
import time
time.sleep(0.4)


def handler(event, context):
    return "handled"
"""


def test_a_module_being_imported_is_not_handed_out_half_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "handler.py").write_text(SLOW_HANDLER)
    monkeypatch.setattr(workers, "FUNCTIONS_DIR", tmp_path)
    monkeypatch.delitem(sys.modules, "contextiq_functions_slow", raising=False)
    results: list[object] = []

    def load() -> None:
        try:
            results.append(workers.load_function("slow").handler(None, None))
        except Exception as exc:  # what a poller thread would die of
            results.append(exc)

    first = threading.Thread(target=load)
    first.start()
    time.sleep(0.1)  # the first import is inside its 0.4 s body
    second = threading.Thread(target=load)
    second.start()
    first.join()
    second.join()
    sys.modules.pop("contextiq_functions_slow", None)
    assert results == ["handled", "handled"]


def test_a_failed_import_is_not_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "handler.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.setattr(workers, "FUNCTIONS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        workers.load_function("broken")
    assert "contextiq_functions_broken" not in sys.modules
