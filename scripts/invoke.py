"""Run a Lambda handler with an event file, as `sam local invoke` would, without Docker.

    python scripts/invoke.py sessions events/sessions/create_session.json

Against the running local stack when `contextiq local` is up (it writes .contextiq/local.json);
otherwise against a throwaway in-process moto stack, with the event's x-api-key mapped to tenant
"default". Prints the handler's response as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from contextiq.local.workers import LambdaContextStub

ROOT = Path(__file__).resolve().parent.parent


def load_handler(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "handler.py"
    if not path.exists():
        raise SystemExit(f"no such function: {function} (functions/*/handler.py)")
    spec = importlib.util.spec_from_file_location(f"functions.{function}.handler", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def api_key_of(event: dict[str, Any]) -> str | None:
    headers: dict[str, str] = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return headers.get("x-api-key")


def invoke(function: str, event: dict[str, Any], state_file: Path) -> Any:
    from contextiq.config import get_settings

    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", f"contextiq-{function}")
    get_settings.cache_clear()
    if state_file.exists():
        os.environ.update(json.loads(state_file.read_text())["env"])
        return load_handler(function).handler(event, LambdaContextStub(function, aws_request_id=str(uuid.uuid4())))

    from moto import mock_aws

    from contextiq.local.moto_fidelity import serialize_dynamodb_requests
    from contextiq.local.runtime import LOCAL_ENV_DEFAULTS

    for key, value in LOCAL_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    serialize_dynamodb_requests()
    with mock_aws():
        from contextiq.config import Settings
        from contextiq.container import Container
        from contextiq.local.bootstrap import bootstrap

        base = Container(Settings())
        settings = bootstrap(base.dynamodb, base.sqs, base.settings)
        from contextiq.definitions import QUEUES

        for field in (q.setting for q in QUEUES):
            os.environ[f"CONTEXTIQ_{field.upper()}"] = getattr(settings, field)
        api_key = api_key_of(event)
        if api_key:
            base.api_keys.put(api_key, "default", key_id="invoke")
        return load_handler(function).handler(event, LambdaContextStub(function, aws_request_id=str(uuid.uuid4())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="folder under functions/, e.g. sessions")
    parser.add_argument("event", type=Path, help="event JSON file, e.g. events/sessions/create_session.json")
    parser.add_argument(
        "--state",
        type=Path,
        default=ROOT / ".contextiq" / "local.json",
        help="the running local stack's env (written by `contextiq local`)",
    )
    args = parser.parse_args(argv)
    result = invoke(args.function, json.loads(args.event.read_text()), args.state)
    json.dump(result, sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
