"""The SDK distribution stays light: httpx and pydantic only, and importing it loads nothing of the service."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from .conftest import ROOT, SDK_SRC

HEAVY = {"boto3", "botocore", "moto", "torch", "numpy", "contextiq", "mcp", "langgraph", "google", "fastapi"}


def test_dependencies_are_httpx_and_pydantic_only() -> None:
    project = tomllib.loads((ROOT / "sdk" / "pyproject.toml").read_text())["project"]
    names = sorted(d.split(">")[0].split("=")[0].split("<")[0].strip() for d in project["dependencies"])
    assert names == ["httpx", "pydantic"]
    assert set(project["optional-dependencies"]) == {"mcp", "langgraph", "adk"}


def test_importing_the_sdk_and_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, contextiq_sdk, contextiq_sdk.cli, contextiq_sdk.mcp_server; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SDK_SRC), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
