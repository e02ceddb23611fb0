"""Start `contextiq local` on free ports in a subprocess and talk to it over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contextiq.local.runtime import free_port

KEY_A, KEY_B = "e2e-key-a", "e2e-key-b"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def client(self, key: str = KEY_A) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"x-api-key": key}, timeout=60)


def start_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "contextiq.cli",
        "local",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--api-key",
        f"{KEY_A}:tenant-a",
        "--api-key",
        f"{KEY_B}:tenant-b",
        *extra,
    ]
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    proc_env.update(env or {})
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=proc_env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # start-up loads the model before "ready"; shared machines are slow
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                return Server(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGINT)
    try:
        return server.process.wait(timeout=120)  # a clean stop fsyncs the journal; shared machines are slow
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("e2e"), env={"CONTEXTIQ_EMBEDDER": "hashing"})
    yield srv
    stop_server(srv)
