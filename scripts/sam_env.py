"""Env-vars file for `sam local invoke`, keyed by each function's logical id (docs/infrastructure.md, "SAM local").

    make run ARGS="--moto-host 0.0.0.0"           # the local stack, moto reachable from a container
    python scripts/sam_template.py dev            # cdk.out/sam/ContextIQ-dev.template.json (host architecture)
    python scripts/sam_env.py dev > /tmp/env.json # add --bedrock for real Bedrock models
    sam local invoke -t cdk.out/sam/ContextIQ-dev.template.json <LogicalId> \\
        -e events/sessions/create_session.json --env-vars /tmp/env.json \\
        --add-host host.docker.internal:host-gateway

SAM applies an env-vars file only to variables the template declares, so this script writes nothing else:
the variant made by scripts/sam_template.py declares the per-service endpoints
(AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS), the providers and the data directory on every function
(infra/local_invoke.py). Overridden: the endpoints (the running local stack's moto port, through
host.docker.internal), every variable that references a stack resource (table names, queue URLs, the
OpenSearch endpoint, the secret ARN: the local stack's values or empty), the page-token key (the local
stack's, so page tokens work across both), and with --bedrock the embedder and extractor.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICE_ENDPOINTS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS")
CONTAINER_HOST = "host.docker.internal"
LOCAL_INVOKE_METADATA = "ContextIQ::LocalInvoke"


class NotLocalInvokeTemplateError(ValueError):
    """The template is a deployable one: it declares none of the variables a local run must override."""


def _for_container(value: str) -> str:
    return value.replace("127.0.0.1", CONTAINER_HOST).replace("localhost", CONTAINER_HOST)


def local_values(state_file: Path) -> dict[str, str]:
    """What the running local stack uses: CONTEXTIQ_* values, its endpoint and page-token key."""
    env = json.loads(state_file.read_text())["env"] if state_file.exists() else {}
    from contextiq.config import Settings

    ours = {k.removeprefix("CONTEXTIQ_").lower(): v for k, v in env.items() if k.startswith("CONTEXTIQ_")}
    settings = Settings(**ours)
    values = {f"CONTEXTIQ_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}
    values.update({k: _for_container(v) for k, v in env.items() if k.startswith("CONTEXTIQ_")})
    endpoint = _for_container(env.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"))
    values.update(dict.fromkeys(SERVICE_ENDPOINTS, endpoint))
    key_file = settings.data_dir / "page-token.key"
    values["CONTEXTIQ_PAGE_TOKEN_KEY"] = key_file.read_text().strip() if key_file.exists() else ""
    values["CONTEXTIQ_PAGE_TOKEN_SECRET_ARN"] = ""  # the key above, never Secrets Manager
    values["CONTEXTIQ_OPENSEARCH_ENDPOINT"] = ""  # the embedded index
    values["CONTEXTIQ_EVENT_BUS_NAME"] = ""  # no EventBridge locally
    return values


def env_vars(template: dict[str, Any], local: dict[str, str], bedrock: bool = False) -> dict[str, dict[str, str]]:
    """Per function: the declared variables to override, and nothing undeclared."""
    if LOCAL_INVOKE_METADATA not in template.get("Metadata", {}):
        raise NotLocalInvokeTemplateError(
            "this template is the deployable one; make the sam local variant with scripts/sam_template.py"
        )
    overrides = dict(local)
    if bedrock:
        overrides.update({"CONTEXTIQ_EMBEDDER": "bedrock", "CONTEXTIQ_EXTRACTOR": "bedrock"})
    out: dict[str, dict[str, str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        declared = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        resolved: dict[str, str] = {}
        for name, value in declared.items():
            references_resource = not isinstance(value, str)
            if name in SERVICE_ENDPOINTS or references_resource or name == "CONTEXTIQ_PAGE_TOKEN_KEY":
                resolved[name] = overrides.get(name, "")
            elif bedrock and name in ("CONTEXTIQ_EMBEDDER", "CONTEXTIQ_EXTRACTOR"):
                resolved[name] = overrides[name]
        out[logical_id] = resolved
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["dev", "staging", "prod"])
    parser.add_argument("--template", type=Path, help="default: cdk.out/sam/ContextIQ-<stage>.template.json")
    parser.add_argument("--state", type=Path, default=ROOT / ".contextiq" / "local.json")
    parser.add_argument("--bedrock", action="store_true", help="real Bedrock models (your AWS credentials)")
    args = parser.parse_args(argv)
    template_path = args.template or ROOT / "cdk.out" / "sam" / f"ContextIQ-{args.stage}.template.json"
    if not template_path.exists():
        parser.error(f"{template_path} not found: run `make sam-template STAGE={args.stage}` first")
    template = json.loads(template_path.read_text())
    try:
        variables = env_vars(template, local_values(args.state), bedrock=args.bedrock)
    except NotLocalInvokeTemplateError as error:
        parser.error(str(error))
    json.dump(variables, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
