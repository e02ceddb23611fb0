"""The whole stack in one process (moto in-process, the handler modules, drained queues): for benchmarks
and evaluations that want the real pipeline without a server."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contextiq.config import Settings, get_settings
from contextiq.container import Container


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``CONTEXTIQ_*`` variables that make a handler module's own Settings() equal ``settings``."""
    return {
        f"CONTEXTIQ_{name.upper()}": str(value)
        for name, value in settings.model_dump().items()
        if value is not None and name != "region"
    }


def forget_handlers() -> None:
    """Drop cached settings and loaded handler modules, so the next load reads the environment again."""
    get_settings.cache_clear()
    for module in [m for m in sys.modules if m.startswith("contextiq_functions_")]:
        del sys.modules[module]


def generation_queues(settings: Settings) -> list[tuple[str, str]]:
    return [
        (settings.extraction_queue_url, "extraction"),
        (settings.consolidation_queue_url, "consolidation"),
        (settings.procedure_learning_queue_url, "procedure_learning"),
        (settings.generation_idle_queue_url, "generation_policy"),
    ]


@contextmanager
def in_process_stack(data_dir: Path, **overrides: Any) -> Iterator[tuple[Container, Callable[[], None]]]:
    """Yield (container, drain): ``drain()`` runs the generation queues dry through functions/*/handler.py,
    then the tables' streams through the indexer (events become searchable)."""
    from moto import mock_aws

    from contextiq.local import workers
    from contextiq.local.bootstrap import bootstrap
    from contextiq.local.moto_fidelity import patch_moto
    from contextiq.local.runtime import LOCAL_ENV_DEFAULTS
    from contextiq.local.streams import StreamPoller

    saved = dict(os.environ)
    for key, value in LOCAL_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    patch_moto()
    try:
        with mock_aws():
            settings = Settings(stage="local", data_dir=data_dir, api_key_cache_seconds=0, **overrides)
            base = Container(settings)
            ready = bootstrap(base.dynamodb, base.sqs, settings)
            os.environ.update(settings_env(ready))
            forget_handlers()
            container = Container(ready)
            queues = generation_queues(ready)
            original_retry = workers.RETRY_AFTER_SECONDS
            workers.RETRY_AFTER_SECONDS = 0

            pollers = StreamPoller.all_for_settings(ready, container.dynamodb, ("indexer", "generation_policy"))

            def drain() -> None:
                for _ in range(5):  # policies turn appends into jobs, jobs into memories, memories into the index
                    workers.drain(container.sqs, queues)
                    if not sum(p.drain() for p in pollers):
                        return

            try:
                yield container, drain
            finally:
                workers.RETRY_AFTER_SECONDS = original_retry
    finally:
        os.environ.clear()
        os.environ.update(saved)
        forget_handlers()
