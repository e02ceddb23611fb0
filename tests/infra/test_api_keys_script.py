"""scripts/api_keys.py against moto: API Gateway keys + usage plan + the api-keys table."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts import api_keys

REGION = "us-east-1"
TABLE = "contextiq-test-api-keys"


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        ddb = session.client("dynamodb")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        apigw = session.client("apigateway")
        api = apigw.create_rest_api(name="ContextIQ-dev")
        plan = apigw.create_usage_plan(name="ContextIQ-dev-default", apiStages=[{"apiId": api["id"], "stage": "dev"}])
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {
                "UsagePlanId": {"Value": plan["id"]},
                "ApiKeysTableName": {"Value": TABLE},
            },
        }
        session.client("cloudformation").create_stack(StackName="ContextIQ-dev", TemplateBody=json.dumps(template))
        yield {"session": session, "ddb": ddb, "apigw": apigw, "plan_id": plan["id"]}


def run(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert api_keys.main(list(argv), session=cloud["session"]) == 0
    return json.loads(capsys.readouterr().out)


def table_items(cloud: dict[str, Any]) -> list[dict[str, Any]]:
    return cloud["ddb"].scan(TableName=TABLE)["Items"]


def test_create_list_revoke(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    created = run(cloud, capsys, "create", "--stage", "dev", "--tenant", "acme", "--name", "acme-ci")
    assert created["tenant"] == "acme" and created["name"] == "acme-ci"
    assert created["usage_plan_id"] == cloud["plan_id"]

    plan_keys = cloud["apigw"].get_usage_plan_keys(usagePlanId=cloud["plan_id"])["items"]
    assert [k["id"] for k in plan_keys] == [created["key_id"]]

    (item,) = table_items(cloud)
    assert item["pk"]["S"] == "K#" + hashlib.sha256(created["api_key"].encode()).hexdigest()
    assert item["tenant"]["S"] == "acme"
    assert item["key_id"]["S"] == created["key_id"]
    assert item["name"]["S"] == "acme-ci"
    assert item["create_time"]["S"]
    assert created["api_key"] not in json.dumps(item)  # only the hash is stored

    store = api_keys.make_store(TABLE, cloud["ddb"])
    assert store.resolve(created["api_key"]) == "acme"

    other = run(cloud, capsys, "create", "--stage", "dev", "--tenant", "globex")
    listed = run(cloud, capsys, "list", "--stage", "dev")
    assert {(k["key_id"], k["tenant"]) for k in listed} == {(created["key_id"], "acme"), (other["key_id"], "globex")}
    assert [k["tenant"] for k in run(cloud, capsys, "list", "--stage", "dev", "--tenant", "acme")] == ["acme"]

    with pytest.raises(SystemExit, match="belongs to tenant 'acme'"):
        api_keys.main(
            ["revoke", "--stage", "dev", "--key-id", created["key_id"], "--tenant", "globex"], cloud["session"]
        )
    assert store.resolve(created["api_key"]) == "acme"  # nothing revoked

    revoked = run(cloud, capsys, "revoke", "--stage", "dev", "--key-id", created["key_id"], "--tenant", "acme")
    assert revoked == {"key_id": created["key_id"], "tenant": "acme", "revoked": True}
    assert store.resolve(created["api_key"]) is None
    assert [k["key_id"] for k in run(cloud, capsys, "list", "--stage", "dev")] == [other["key_id"]]


def test_overrides_skip_the_stack_lookup(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    created = run(
        cloud,
        capsys,
        "create",
        "--stage",
        "staging",  # no ContextIQ-staging stack: the overrides must be enough
        "--tenant",
        "initech",
        "--usage-plan-id",
        cloud["plan_id"],
        "--table",
        TABLE,
    )
    assert created["name"].startswith("staging-initech-")
    assert [i["tenant"]["S"] for i in table_items(cloud)] == ["initech"]


def test_missing_stack_fails_clearly(cloud: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="cannot read stack ContextIQ-prod"):
        api_keys.main(["list", "--stage", "prod"], cloud["session"])


def test_failed_table_write_removes_the_new_key(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def put(self, **kwargs: Any) -> None:
            raise RuntimeError("table unavailable")

    monkeypatch.setattr(api_keys, "make_store", lambda table, client=None: Broken())
    with pytest.raises(RuntimeError, match="table unavailable"):
        api_keys.main(["create", "--stage", "dev", "--tenant", "acme"], cloud["session"])
    assert cloud["apigw"].get_api_keys()["items"] == []


@pytest.mark.parametrize("argv", [["create", "--stage", "dev"], ["revoke", "--stage", "dev"]])
def test_required_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        api_keys.parse_args(argv)


def test_invalid_tenant_is_rejected(cloud: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="invalid tenant"):
        api_keys.main(["create", "--stage", "dev", "--tenant", "has space"], cloud["session"])


def test_create_records_the_role(cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    reader = run(cloud, capsys, "create", "--stage", "dev", "--tenant", "acme", "--role", "read")
    default = run(cloud, capsys, "create", "--stage", "dev", "--tenant", "acme")
    assert reader["role"] == "read" and default["role"] == "write"
    store = api_keys.make_store(TABLE, cloud["ddb"])
    caller = store.resolve_caller(reader["api_key"])
    assert caller is not None and (caller.tenant, caller.role) == ("acme", "read")
    with pytest.raises(SystemExit):
        api_keys.parse_args(["create", "--stage", "dev", "--tenant", "acme", "--role", "owner"])
