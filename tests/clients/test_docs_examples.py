"""Every example of docs/agents.md runs against the live local server."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT

PAGE = (ROOT / "docs" / "agents.md").read_text()
EXAMPLES = dict(re.findall(r"<!-- example: (\S+) -->\n```\w+\n(.*?)```", PAGE, flags=re.DOTALL))


def run_example(name: str, env: dict[str, str], tmp_path: object) -> str:
    code = EXAMPLES[name]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, f"example {name} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_the_page_has_one_example_per_surface() -> None:
    assert set(EXAMPLES) >= {"sdk"}


def test_sdk_example(client_env: dict[str, str], tmp_path: object) -> None:
    out = run_example("sdk", client_env, tmp_path)
    assert "SUCCEEDED" in out and "vegetarian" in out
    assert "['CREATED', 'UPDATED']" in out
