"""`contextiq sessions|events|memories|generate|jobs` against the live local server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contextiq.cli import main
from tests.e2e.conftest import Server

from .conftest import KEY_A


@pytest.fixture
def cli(live: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CONTEXTIQ_URL", live.url)
    monkeypatch.setenv("CONTEXTIQ_API_KEY", KEY_A)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_sessions_events_generate_and_memories(cli, uid: str) -> None:
    code, out, _ = cli("sessions", "create", "--user-id", uid, "--app-name", "travel", "--json")
    assert code == 0
    session = json.loads(out)
    sid = session["id"]
    code, out, _ = cli("sessions", "get", sid)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ID", "USER_ID", "APP_NAME"] and uid in out
    for text in ("Hi, I am vegetarian.", "I live in Oslo."):
        assert cli("events", "append", sid, "--author", "user", "--role", "user", "--text", text)[0] == 0
    code, out, _ = cli("events", "list", sid, "--limit", "1")
    assert code == 0 and "vegetarian" in out and "next_token:" in out
    code, out, _ = cli("events", "list", sid, "--all", "--json")
    assert [e["seq"] for e in json.loads(out)] == [1, 2]

    code, out, _ = cli("generate", "--session-id", sid, "--wait", "--json")
    job = json.loads(out)
    assert code == 0 and job["status"] == "SUCCEEDED" and job["result"]["added"] >= 1
    code, out, _ = cli("jobs", "get", job["id"])
    assert code == 0 and "SUCCEEDED" in out

    code, out, _ = cli("memories", "add", "--scope", f"user_id={uid}", "--fact", "likes night trains", "--json")
    memory = json.loads(out)
    code, out, _ = cli("memories", "search", "--scope", f"user_id={uid}", "night trains", "--top-k", "1")
    assert code == 0 and out.splitlines()[0].split() == ["SCORE", "ID", "FACT"] and memory["id"] in out
    code, out, _ = cli("recall", "--scope", f"user_id={uid}", "night trains", "--source", "memory")
    assert code == 0 and out.splitlines()[0].split() == ["TYPE", "SCORE", "ID", "TEXT"] and memory["id"] in out
    for _ in range(100):  # events are indexed from the sessions stream, asynchronously
        code, out, _ = cli("events", "search", "--user-id", uid, "vegetarian")
        if "vegetarian" in out:
            break
        time.sleep(0.3)
    assert code == 0 and out.splitlines()[0].split() == ["SCORE", "SESSION_ID", "SEQ", "TEXT"] and sid in out

    code, out, _ = cli("memories", "list", "--scope", f"user_id={uid}", "--all", "--json")
    assert memory["id"] in {m["id"] for m in json.loads(out)} and len(json.loads(out)) >= 2
    assert cli("memories", "get", memory["id"])[0] == 0
    code, out, _ = cli("memories", "revisions", memory["id"])
    assert code == 0 and "CREATED" in out

    code, _, err = cli("memories", "delete", memory["id"], "--version", "7")
    assert code == 1 and "412" in err and "header.If-Match" in err
    assert cli("memories", "delete", memory["id"], "--version", str(memory["version"]))[0] == 0
    code, _, err = cli("memories", "get", memory["id"])
    assert code == 1 and "404 Not found" in err

    code, out, _ = cli("sessions", "list", "--user-id", uid)
    assert sid in out
    assert cli("sessions", "delete", sid)[0] == 0
    assert cli("sessions", "list", "--user-id", uid)[1].strip() == "(none)"


def test_invalid_input_prints_the_fields(cli, uid: str) -> None:
    code, out, err = cli("memories", "add", "--scope", f"user_id={uid}", "--fact", "x" * 2001)
    assert code == 1 and out == ""
    assert "422 Invalid input" in err and "  fact:" in err


def test_entry_point_falls_back_to_local_state(live: Server, client_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in client_env.items() if k not in ("CONTEXTIQ_URL", "CONTEXTIQ_API_KEY")}
    cmd = [sys.executable, "-m", "contextiq.cli", "sessions", "list", "--user-id", "nobody"]
    missing = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no ContextIQ URL" in missing.stderr
    (tmp_path / ".contextiq").mkdir()
    (tmp_path / ".contextiq" / "local.json").write_text(json.dumps({"url": live.url, "api_key": KEY_A}))
    found = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0 and found.stdout.strip() == "(none)"
    wrong = subprocess.run([*cmd, "--api-key", "nope"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: 403")
