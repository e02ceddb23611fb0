#!/usr/bin/env python3
"""Map a stage's function roles into the OpenSearch domain's fine-grained access control (FGAC).

    python scripts/opensearch_security.py --stage prod [--region eu-west-1] [--dry-run]

Run once after each deploy that creates or replaces function roles (the first deploy included), with
credentials allowed to assume the stack's ``SearchAdminRoleArn`` (the FGAC master user): the script
reads the stack's outputs, assumes that role, and PUTs through the security plugin's REST API:

* OpenSearch role ``contextiq_functions``: documents (``crud``), index creation with its alias, mapping
  and alias reads, on the ContextIQ index family only (``<index>`` and ``<index>-*``), plus
  ``cluster_composite_ops`` for ``_bulk``/``_msearch``. Mapped to the function roles (backend roles).
* OpenSearch role ``contextiq_operators``: every index action on the same family (blue/green reindex
  creates, swaps and deletes generations). Mapped to ``opensearch_extra_principal_arns`` of the stage.

Each PUT replaces the whole definition, so running it again is safe and removes stale roles. With a
VPC stage the domain has no public endpoint: run it from inside the VPC (docs/infrastructure.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECURITY_API = "/_plugins/_security/api"
FUNCTIONS_ROLE = "contextiq_functions"
OPERATORS_ROLE = "contextiq_operators"


def security_requests(index: str, function_roles: list[str], operator_roles: list[str]) -> list[tuple[str, str, Any]]:
    """The (method, path, body) requests that define both OpenSearch roles and their mappings."""
    family = [index, f"{index}-*"]
    functions_role = {
        "cluster_permissions": ["cluster_composite_ops"],
        "index_permissions": [
            {
                "index_patterns": family,
                "allowed_actions": [
                    "crud",
                    "create_index",
                    "indices:admin/aliases",
                    "indices:admin/aliases/get",
                    "indices:admin/get",
                    "indices:admin/mappings/get",
                ],
            }
        ],
    }
    operators_role = {
        "cluster_permissions": ["cluster_composite_ops", "indices:admin/aliases", "indices:admin/aliases/get"],
        "index_permissions": [{"index_patterns": family, "allowed_actions": ["indices_all"]}],
    }
    requests: list[tuple[str, str, Any]] = [
        ("PUT", f"{SECURITY_API}/roles/{FUNCTIONS_ROLE}", functions_role),
        ("PUT", f"{SECURITY_API}/rolesmapping/{FUNCTIONS_ROLE}", {"backend_roles": sorted(set(function_roles))}),
        ("PUT", f"{SECURITY_API}/roles/{OPERATORS_ROLE}", operators_role),
        ("PUT", f"{SECURITY_API}/rolesmapping/{OPERATORS_ROLE}", {"backend_roles": sorted(set(operator_roles))}),
    ]
    return requests


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def admin_credentials(sts: Any, role_arn: str) -> dict[str, str]:
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="contextiq-opensearch-security")
    creds = answer["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def apply(client: Any, requests: list[tuple[str, str, Any]]) -> list[Any]:
    """Send each request through opensearch-py's transport (signed by the client's auth)."""
    return [client.transport.perform_request(method, path, body=body) for method, path, body in requests]


def signed_client(endpoint: str, region: str, credentials: dict[str, str]) -> Any:
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    session = boto3.Session(
        region_name=region,
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        aws_session_token=credentials["aws_session_token"],
    )
    auth = AWSV4SignerAuth(session.get_credentials(), region, "es")
    return OpenSearch(
        hosts=[{"host": endpoint, "port": 443}],
        http_auth=auth,
        use_ssl=True,
        verify_certs=True,
        connection_class=RequestsHttpConnection,
    )


def plan(stage_name: str, cloudformation: Any) -> tuple[dict[str, str], list[tuple[str, str, Any]]]:
    from infra.stages import get_stage

    stage = get_stage(stage_name)
    outputs = stack_outputs(cloudformation, stage.stack_name)
    function_roles = [arn for arn in outputs["SearchFunctionRoleArns"].split(",") if arn]
    requests = security_requests(
        outputs["OpenSearchIndex"], function_roles, list(stage.opensearch_extra_principal_arns)
    )
    return outputs, requests


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region)
    outputs, requests = plan(args.stage, session.client("cloudformation"))
    if args.dry_run:
        print(json.dumps([{"method": m, "path": p, "body": b} for m, p, b in requests], indent=2))
        return 0
    credentials = admin_credentials(session.client("sts"), outputs["SearchAdminRoleArn"])
    client = signed_client(outputs["OpenSearchEndpoint"], session.region_name or "us-east-1", credentials)
    for (method, path, _), answer in zip(requests, apply(client, requests), strict=True):
        print(f"{method} {path}: {json.dumps(answer)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
