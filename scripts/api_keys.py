#!/usr/bin/env python3
"""Manage the tenant API keys of a deployed stage.

    python scripts/api_keys.py create --stage dev --tenant acme [--role read|write|admin] [--name acme-ci]
    python scripts/api_keys.py list   --stage dev [--tenant acme]
    python scripts/api_keys.py revoke --stage dev --key-id abc123 [--tenant acme]

``create`` makes an API Gateway key, adds it to the stage's usage plan and records
``{pk: "K#" + sha256(key), tenant, key_id, name, role, create_time}`` in the api-keys table, which the API
functions use to map a request's key to its tenant. The key value is printed once, never stored.
``list`` shows the keys of the usage plan with their tenant; ``revoke`` deletes the table item and
then the key.

The usage plan id and the table name come from the outputs of the ``ContextIQ-<stage>`` stack
(``UsagePlanId``, ``ApiKeysTableName``); ``--usage-plan-id`` and ``--table`` override them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3

TENANT_TAG = "contextiq:tenant"
STAGE_TAG = "contextiq:stage"
NAME_TAG = "contextiq:name"
_TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


def make_store(table_name: str, client: Any = None) -> Any:
    """The application's own store, so the item format has one definition."""
    from contextiq.stores.dynamo.api_keys import ApiKeyStore

    return ApiKeyStore(table_name, client=client)


def stack_outputs(cloudformation: Any, stage: str) -> dict[str, str]:
    stack_name = f"ContextIQ-{stage}"
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore ClientError: the stack does not exist
        raise SystemExit(f"cannot read stack {stack_name}: {error} (or pass --usage-plan-id and --table)") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def resolve_targets(stage: str, usage_plan_id: str | None, table: str | None, cloudformation: Any) -> tuple[str, str]:
    if usage_plan_id and table:
        return usage_plan_id, table
    outputs = stack_outputs(cloudformation, stage)
    try:
        return usage_plan_id or outputs["UsagePlanId"], table or outputs["ApiKeysTableName"]
    except KeyError as missing:
        raise SystemExit(f"stack ContextIQ-{stage} has no output {missing}") from None


def check_tenant(tenant: str) -> str:
    if not _TENANT_PATTERN.match(tenant):
        raise SystemExit(f"invalid tenant {tenant!r}: 1-128 of letters, digits and . _ : @ -")
    return tenant


def create_key(
    apigateway: Any,
    store: Any,
    usage_plan_id: str,
    stage: str,
    tenant: str,
    name: str | None,
    role: str = "write",
) -> dict[str, str]:
    tenant = check_tenant(tenant)
    name = name or f"{stage}-{tenant}-{datetime.now(UTC):%Y%m%d%H%M%S}"
    key = apigateway.create_api_key(
        name=name,
        description=f"ContextIQ {stage} key of tenant {tenant}",
        enabled=True,
        generateDistinctId=True,
        tags={TENANT_TAG: tenant, STAGE_TAG: stage, NAME_TAG: name},
    )
    key_id, value = key["id"], key["value"]
    try:
        apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id, keyType="API_KEY")
        store.put(api_key=value, tenant=tenant, key_id=key_id, name=name, role=role)
    except Exception:
        apigateway.delete_api_key(apiKey=key_id)  # no half-created key left behind
        raise
    return {
        "key_id": key_id,
        "api_key": value,
        "tenant": tenant,
        "role": role,
        "name": name,
        "usage_plan_id": usage_plan_id,
    }


def _usage_plan_key_ids(apigateway: Any, usage_plan_id: str) -> Iterator[str]:
    position = None
    while True:
        kwargs: dict[str, Any] = {"usagePlanId": usage_plan_id, "limit": 500}
        if position:
            kwargs["position"] = position
        page = apigateway.get_usage_plan_keys(**kwargs)
        for item in page.get("items", []):
            yield item["id"]
        position = page.get("position")
        if not position:
            return


def list_keys(apigateway: Any, usage_plan_id: str, tenant: str | None = None) -> list[dict[str, Any]]:
    keys = []
    for key_id in _usage_plan_key_ids(apigateway, usage_plan_id):
        try:
            key = apigateway.get_api_key(apiKey=key_id, includeValue=False)
        except apigateway.exceptions.NotFoundException:
            continue  # deleted while we were listing
        tags = key.get("tags") or {}
        owner = tags.get(TENANT_TAG)
        if tenant is not None and owner != tenant:
            continue
        created = key.get("createdDate")
        keys.append(
            {
                "key_id": key_id,
                "name": key.get("name"),
                "tenant": owner,
                "enabled": key.get("enabled"),
                "create_time": created.isoformat() if isinstance(created, datetime) else created,
            }
        )
    return sorted(keys, key=lambda k: (k["tenant"] or "", k["name"] or ""))


def revoke_key(
    apigateway: Any, store: Any, usage_plan_id: str, key_id: str, tenant: str | None = None
) -> dict[str, Any]:
    key = apigateway.get_api_key(apiKey=key_id, includeValue=False)
    owner = (key.get("tags") or {}).get(TENANT_TAG)
    if tenant is not None and owner != tenant:
        raise SystemExit(f"key {key_id} belongs to tenant {owner!r}, not {tenant!r}; nothing revoked")
    store.delete_by_key_id(key_id)  # first: the key stops resolving to a tenant
    with contextlib.suppress(apigateway.exceptions.NotFoundException):  # not (or no longer) in the plan
        apigateway.delete_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id)
    apigateway.delete_api_key(apiKey=key_id)
    return {"key_id": key_id, "tenant": owner, "revoked": True}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("create", "list", "revoke"))
    parser.add_argument("--stage", required=True, help="dev, staging or prod (stack ContextIQ-<stage>)")
    parser.add_argument("--tenant", help="required for create; a filter for list; a safety check for revoke")
    parser.add_argument("--name", help="key name (create); default <stage>-<tenant>-<timestamp>")
    parser.add_argument(
        "--role",
        choices=("read", "write", "admin"),
        default="write",
        help="create: read (GET and search), write (everything on data, the default), admin (keys and operations)",
    )
    parser.add_argument("--key-id", help="the API Gateway key id (revoke)")
    parser.add_argument("--usage-plan-id", help="override the stack output UsagePlanId")
    parser.add_argument("--table", help="override the stack output ApiKeysTableName")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--profile", help="AWS profile")
    args = parser.parse_args(argv)
    if args.command == "create" and not args.tenant:
        parser.error("create needs --tenant")
    if args.command == "revoke" and not args.key_id:
        parser.error("revoke needs --key-id")
    return args


def main(argv: list[str] | None = None, session: Any = None) -> int:
    args = parse_args(argv)
    session = session or boto3.session.Session(profile_name=args.profile, region_name=args.region)
    apigateway = session.client("apigateway")
    usage_plan_id, table = resolve_targets(args.stage, args.usage_plan_id, args.table, session.client("cloudformation"))
    store = make_store(table, session.client("dynamodb"))
    result: Any
    if args.command == "create":
        result = create_key(apigateway, store, usage_plan_id, args.stage, args.tenant, args.name, args.role)
        print("store the api_key now: it is not shown again", file=sys.stderr)
    elif args.command == "list":
        result = list_keys(apigateway, usage_plan_id, args.tenant)
    else:
        result = revoke_key(apigateway, store, usage_plan_id, args.key_id, args.tenant)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
