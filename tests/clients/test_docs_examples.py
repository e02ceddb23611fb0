"""Every example of docs/agents.md runs against the live local server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from .conftest import ROOT

PAGE = (ROOT / "docs" / "agents.md").read_text()
EXAMPLES = dict(re.findall(r"<!-- example: (\S+) -->\n```\w+\n(.*?)```", PAGE, flags=re.DOTALL))
BIN = str(Path(sys.executable).parent)  # where `contextiq` is installed


def run_example(name: str, env: dict[str, str], cwd: Path) -> str:
    code = EXAMPLES[name]
    cmd = ["bash", "-euo", "pipefail", "-c", code] if name == "cli" else [sys.executable, "-c", code]
    env = {**env, "PATH": BIN + os.pathsep + env.get("PATH", "")}
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"example {name} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_the_page_has_one_example_per_surface() -> None:
    assert set(EXAMPLES) == {"sdk", "cli", "mcp", "langgraph", "adk"}


def test_sdk_example(client_env: dict[str, str], tmp_path: Path) -> None:
    out = run_example("sdk", client_env, tmp_path)
    assert "SUCCEEDED" in out and "vegetarian" in out
    assert "['CREATED', 'UPDATED']" in out


def test_cli_example(client_env: dict[str, str], tmp_path: Path) -> None:
    out = run_example("cli", client_env, tmp_path)
    assert "SUCCEEDED" in out and "SCORE" in out and "peanuts" in out
    listed = json.loads(out[out.index("\n{") + 1 :])["items"]
    assert any("Rome" in m["fact"] for m in listed)


def test_langgraph_example(client_env: dict[str, str], tmp_path: Path) -> None:
    assert run_example("langgraph", client_env, tmp_path).strip() == "The user is vegetarian and avoids meat"


def test_adk_example(client_env: dict[str, str], tmp_path: Path) -> None:
    assert "Oslo" in run_example("adk", client_env, tmp_path)


def test_mcp_config_example(client_env: dict[str, str], tmp_path: Path) -> None:
    server = json.loads(EXAMPLES["mcp"])["mcpServers"]["contextiq"]
    env = {**client_env, **server["env"], "CONTEXTIQ_URL": client_env["CONTEXTIQ_URL"]}
    env["CONTEXTIQ_API_KEY"] = client_env["CONTEXTIQ_API_KEY"]
    params = StdioServerParameters(
        command=str(Path(BIN) / server["command"]), args=server["args"], env=env, cwd=tmp_path
    )

    async def scenario() -> None:
        async with Client(params, read_timeout_seconds=60) as mcp:
            await mcp.call_tool("remember", {"fact": "Carol prefers trains to planes"})
            found = await mcp.call_tool("recall", {"query": "trains or planes"})
            assert not found.is_error and "Carol prefers trains" in found.content[0].text

    asyncio.run(scenario())
