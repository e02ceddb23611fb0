"""Env-vars file for `sam local invoke`, keyed by each function's logical id.

    make synth STAGE=dev
    python scripts/sam_env.py dev > /tmp/env.json
    sam local invoke -t cdk.out/ContextIQ-dev.template.json <LogicalId> -e events/sessions/create_session.json \\
        --env-vars /tmp/env.json

Literal variables (Powertools settings, model ids, provider choices) are kept from the template. Variables
that reference stack resources (table names, queue URLs, the OpenSearch endpoint) are replaced by the
running local stack's values (`make run` writes .contextiq/local.json), and AWS_ENDPOINT_URL points the
container at the local moto server through host.docker.internal, so a SAM-run handler and the local
server share one set of data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def local_values(state_file: Path) -> dict[str, str]:
    """CONTEXTIQ_* values of the local stack (defaults when it is not running)."""
    env = json.loads(state_file.read_text())["env"] if state_file.exists() else {}
    os.environ.update({k: v for k, v in env.items() if k.startswith("CONTEXTIQ_")})
    from contextiq.config import Settings

    values = {f"CONTEXTIQ_{k.upper()}": str(v) for k, v in Settings().model_dump().items() if v is not None}
    values.update({k: v for k, v in env.items() if k.startswith("CONTEXTIQ_")})
    endpoint = env.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    values["AWS_ENDPOINT_URL"] = endpoint.replace("127.0.0.1", "host.docker.internal")
    return values


def env_vars(template: dict[str, Any], local: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        resolved: dict[str, str] = {}
        for name, value in variables.items():
            if isinstance(value, str) and not name.endswith(("_TABLE", "_QUEUE_URL", "_ENDPOINT")):
                resolved[name] = value
            elif name in local:
                resolved[name] = local[name]
        resolved["CONTEXTIQ_VECTOR_INDEX"] = "embedded"  # no OpenSearch next to a local SAM run
        resolved["AWS_ENDPOINT_URL"] = local["AWS_ENDPOINT_URL"]
        out[logical_id] = resolved
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["dev", "staging", "prod"])
    parser.add_argument("--template", type=Path, help="default: cdk.out/ContextIQ-<stage>.template.json")
    parser.add_argument("--state", type=Path, default=ROOT / ".contextiq" / "local.json")
    args = parser.parse_args(argv)
    template_path = args.template or ROOT / "cdk.out" / f"ContextIQ-{args.stage}.template.json"
    if not template_path.exists():
        parser.error(f"{template_path} not found: run `make synth STAGE={args.stage}` first")
    template = json.loads(template_path.read_text())
    json.dump(env_vars(template, local_values(args.state)), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
