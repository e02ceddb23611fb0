"""`contextiq local`: moto for DynamoDB and SQS, the FastAPI app on uvicorn, queue pollers that call
the same Lambda handlers the cloud runs.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_ENV_DEFAULTS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "contextiq-local",
    "CONTEXTIQ_STAGE": "local",
    "CONTEXTIQ_EMBEDDER": "minilm",
    "CONTEXTIQ_VECTOR_INDEX": "embedded",
    "CONTEXTIQ_EXTRACTOR": "local",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def parse_api_keys(values: Sequence[str]) -> dict[str, str]:
    """``KEY:TENANT`` pairs -> {key: tenant}."""
    keys: dict[str, str] = {}
    for value in values:
        key, sep, tenant = value.partition(":")
        if not sep or not key or not tenant:
            raise ValueError(f"--api-key wants KEY:TENANT, got {value!r}")
        keys[key] = tenant
    return keys


@dataclass
class LocalStack:
    """moto server + resources. ``env`` is what a process needs to reach it (see scripts/invoke.py)."""

    data_dir: Path
    moto_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    _server: Any = None

    def start(self) -> dict[str, str]:
        import logging

        from moto.server import ThreadedMotoServer

        from contextiq.local.moto_fidelity import serialize_dynamodb_requests

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        serialize_dynamodb_requests()

        self.moto_port = self.moto_port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._server.start()
        for key, value in LOCAL_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.moto_port}"
        os.environ["CONTEXTIQ_DATA_DIR"] = str(self.data_dir)

        from contextiq.config import Settings
        from contextiq.container import Container
        from contextiq.local.bootstrap import bootstrap

        base = Container(Settings())
        settings = bootstrap(base.dynamodb, base.sqs, base.settings)
        self.env = {k: os.environ[k] for k in [*LOCAL_ENV_DEFAULTS, "AWS_ENDPOINT_URL", "CONTEXTIQ_DATA_DIR"]}
        for table_or_queue in ("extraction_queue_url", "consolidation_queue_url", "procedure_learning_queue_url"):
            self.env[f"CONTEXTIQ_{table_or_queue.upper()}"] = getattr(settings, table_or_queue)
        os.environ.update(self.env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "local.json").write_text(json.dumps({"env": self.env}, indent=2))
        return self.env

    def record(self, **values: str) -> None:
        """Add to .contextiq/local.json what other local processes need (the server URL, a key)."""
        state = self.data_dir / "local.json"
        current = json.loads(state.read_text())
        state.write_text(json.dumps({**current, **values}, indent=2))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        state = self.data_dir / "local.json"
        if state.exists():
            state.unlink()


def serve(
    host: str,
    port: int,
    api_keys: dict[str, str],
    data_dir: Path,
    workers: bool = True,
    quiet: bool = False,
) -> None:
    """Run the whole service in this process until Ctrl-C."""
    import warnings

    import uvicorn

    # Outside Lambda there is no remaining-time to register; Powertools warns on every POST otherwise.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")

    stack = LocalStack(data_dir=data_dir)
    stack.start()
    from contextiq.api.app import create_app
    from contextiq.api.routers import all_routers
    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.admin import router as local_admin_router
    from contextiq.local.workers import start_workers

    container = Container(Settings())
    # moto keeps tables in memory, so every start begins with an empty system of record; an index left
    # under data_dir by a previous run would only hold orphans. Start it empty too (it is derived data).
    index_dir = data_dir / "index"
    if index_dir.exists():
        import shutil

        shutil.rmtree(index_dir)
    if not api_keys:
        api_keys = {"ciq_local_" + secrets.token_urlsafe(18): "default"}
    for key, tenant in api_keys.items():
        container.api_keys.put(key, tenant, key_id=f"local-{tenant}", name="local")
    stop = threading.Event()
    pollers = start_workers(stop) if workers else []
    app = create_app(container, [*all_routers(), local_admin_router])
    url = f"http://{host}:{port}"
    key, tenant = next(iter(api_keys.items()))
    stack.record(url=url, api_key=key)
    if not quiet:
        print(
            f"\nContextIQ is running at {url}  (moto on 127.0.0.1:{stack.moto_port}, data in {data_dir})\n"
            f"API key: {key}  (tenant {tenant!r})\n\n"
            f"Try:\n  curl -s -X POST {url}/v1/sessions -H 'x-api-key: {key}' "
            '-H \'content-type: application/json\' -d \'{"user_id": "u1", "app_name": "travel"}\'\n'
            f"OpenAPI: {url}/openapi.json   Stop: Ctrl-C\n",
            flush=True,
        )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout=5)
        from contextiq.stores.vector.factory import close_embedded_indexes

        close_embedded_indexes()  # snapshot the embedded index
        stack.stop()
