"""`contextiq local`: moto for DynamoDB and SQS, the FastAPI app on uvicorn, queue pollers that call
the same Lambda handlers the cloud runs.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contextiq.local.datadir import read_json, write_private

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
    # botocore sends DynamoDB Streams calls that name a StreamArn to <account>.streams-ddb.<region>,
    # which moto does not answer; the regional endpoint is what moto serves.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TRANSFORMERS_OFFLINE": "1",
    # Webhooks to http://127.0.0.1 are fine locally (the cloud refuses them: docs/notifications.md).
    "CONTEXTIQ_WEBHOOKS_ALLOW_LOCAL": "true",
    "CONTEXTIQ_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "CONTEXTIQ_WEBHOOK_RETRY_CAP_SECONDS": "30",
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
    # 127.0.0.1: this machine only. 0.0.0.0 lets a container (sam local) reach moto, and with it every
    # table and queue of the local stack, from any network this machine is on (docs/operations.md).
    moto_host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    _server: Any = None

    def start(self) -> dict[str, str]:
        """moto on a port (for other local processes) and in this process: the server's own boto3 clients
        hand DynamoDB, Streams and SQS requests to moto without a socket (local/transport.py)."""
        import logging

        from moto.server import ThreadedMotoServer

        from contextiq.local.moto_fidelity import patch_moto
        from contextiq.local.transport import TRANSPORT

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        patch_moto()

        self.moto_port = self.moto_port or free_port()
        self._server = ThreadedMotoServer(ip_address=self.moto_host, port=self.moto_port, verbose=False)
        self._server.start()
        for key, value in LOCAL_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.moto_port}"
        os.environ["CONTEXTIQ_DATA_DIR"] = str(self.data_dir)
        TRANSPORT.enable(os.environ["AWS_ENDPOINT_URL"])

        from contextiq.config import Settings
        from contextiq.container import Container
        from contextiq.local.bootstrap import bootstrap

        base = Container(Settings())
        settings = bootstrap(base.dynamodb, base.sqs, base.settings)
        self.env = {k: os.environ[k] for k in [*LOCAL_ENV_DEFAULTS, "AWS_ENDPOINT_URL", "CONTEXTIQ_DATA_DIR"]}
        from contextiq.definitions import QUEUES

        for table_or_queue in (q.setting for q in QUEUES):
            self.env[f"CONTEXTIQ_{table_or_queue.upper()}"] = getattr(settings, table_or_queue)
        os.environ.update(self.env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_private(self.data_dir / "local.json", {"env": self.env})
        return self.env

    def record(self, **values: str) -> None:
        """Add to .contextiq/local.json (mode 0600) what other local processes need (URL, keys)."""
        state = self.data_dir / "local.json"
        write_private(state, {**read_json(state), **values})

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        from contextiq.local.transport import TRANSPORT

        TRANSPORT.disable()
        state = self.data_dir / "local.json"
        if state.exists():
            state.unlink()


def generated_key(data_dir: Path) -> dict[str, str]:
    """The key generated on this data directory's first start, reused by every later start."""
    path = data_dir / "credentials.json"
    saved = read_json(path)
    if isinstance(saved.get("api_key"), str) and isinstance(saved.get("tenant"), str):
        return {saved["api_key"]: saved["tenant"]}
    key = "ciq_local_" + secrets.token_urlsafe(18)
    write_private(path, {"api_key": key, "tenant": "default"})
    return {key: "default"}


class Say:
    """Start-up lines: what is happening, then how long it took."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    @contextmanager
    def step(self, what: str) -> Iterator[dict[str, str]]:
        started = time.monotonic()
        if not self.quiet:
            print(f"{what} ...", flush=True)
        outcome = {"done": ""}
        yield outcome
        detail = f" ({outcome['done']})" if outcome["done"] else ""
        self(f"{what}: done in {time.monotonic() - started:.1f} s{detail}")


def serve(
    host: str,
    port: int,
    api_keys: dict[str, str],
    data_dir: Path,
    workers: bool = True,
    quiet: bool = False,
    reset: bool = False,
    moto_host: str = "127.0.0.1",
) -> None:
    """Run the whole service in this process until Ctrl-C. Raises DataDirInUseError if another server runs."""
    from contextiq.local.datadir import DataDirLock
    from contextiq.local.datadir import reset as reset_data_dir

    lock = DataDirLock(data_dir)
    lock.acquire()  # before touching anything: a second server must leave the first one's files alone
    try:
        if reset:
            reset_data_dir(data_dir)
        _serve_locked(host, port, api_keys, data_dir, workers, Say(quiet), reset, moto_host)
    finally:
        lock.release()


def _serve_locked(
    host: str,
    port: int,
    api_keys: dict[str, str],
    data_dir: Path,
    workers: bool,
    say: Say,
    was_reset: bool,
    moto_host: str = "127.0.0.1",
) -> None:
    import warnings

    import uvicorn

    # Outside Lambda there is no remaining-time to register; Powertools warns on every POST otherwise.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    say(f"ContextIQ local: data in {data_dir.resolve()}" + ("  (reset: starting empty)" if was_reset else ""))

    stack = LocalStack(data_dir=data_dir, moto_host=moto_host)
    stack.start()
    from contextiq.api.app import create_app
    from contextiq.api.routers import all_routers
    from contextiq.config import Settings
    from contextiq.container import Container
    from contextiq.local.admin import admin_router
    from contextiq.local.index_start import local_tables, prepare_index, summary
    from contextiq.local.journal import Journal
    from contextiq.local.workers import start_workers
    from contextiq.stores.vector.factory import close_embedded_indexes

    journal = Journal(data_dir / "tables", progress=say)
    with say.step("Loading tables and queues") as step:
        counts = journal.load(say)
        if counts["journal_lines"]:
            journal.compact(say)
        step["done"] = f"{counts['items']:,} items, {counts['messages']:,} queued messages"
    journal.start()
    stop = threading.Event()
    pollers: list[threading.Thread] = []
    try:
        container = Container(Settings())
        with say.step(f"Loading the embedding model ({container.settings.embedder})"):
            container.embedder.embed(["warm-up"])
        # The index is derived data, kept across restarts (write-ahead log + snapshots) and reconciled with
        # the tables at start, so it matches the record exactly: no orphans, nothing missing (index_start.py).
        with say.step("Opening the vector index and reconciling it with the tables") as step:
            prepared = prepare_index(
                container.settings,
                container.embedder,
                local_tables(container),
                opted_out=container.event_opt_out,
                say=say,
            )
            step["done"] = summary(prepared)
        if not api_keys:
            api_keys = generated_key(data_dir)
        for key, tenant in api_keys.items():
            container.api_keys.put(key, tenant, key_id=f"local-{tenant}", name="local")
        admin_token = "ciq_admin_" + secrets.token_urlsafe(24)
        pollers = start_workers(stop) if workers else []
        app = create_app(container, [*all_routers(), admin_router(admin_token)])
        url = f"http://{host}:{port}"
        key, tenant = next(iter(api_keys.items()))
        stack.record(url=url, api_key=key, admin_token=admin_token)
        say(
            f"\nContextIQ is ready at {url}  (moto on {moto_host}:{stack.moto_port}, data in {data_dir})\n"
            f"API key: {key}  (tenant {tenant!r})\n\n"
            f"Try:\n  curl -s -X POST {url}/v1/sessions -H 'x-api-key: {key}' "
            '-H \'content-type: application/json\' -d \'{"user_id": "u1", "app_name": "travel"}\'\n'
            f"OpenAPI: {url}/openapi.json   Stop: Ctrl-C   Start empty: contextiq local --reset\n"
        )
        # uvicorn picks uvloop and httptools (the `local` extra installs them) over asyncio and h11
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout=5)
        close_embedded_indexes()
        journal.stop()  # everything is in the journal already; the next start compacts it
        stack.stop()
        say("Stopped; tables and queues are saved.")
