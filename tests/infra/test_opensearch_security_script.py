"""scripts/opensearch_security.py: reads the stack outputs, assumes the FGAC master role (botocore
Stubber), and PUTs the two OpenSearch roles and their mappings through the security plugin API."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scripts import opensearch_security as script

ADMIN = "arn:aws:iam::111122223333:role/ContextIQ-prod-SearchAdminRole"
MEMORIES = "arn:aws:iam::111122223333:role/ContextIQ-prod-ApiMemoriesRole"
INDEXER = "arn:aws:iam::111122223333:role/ContextIQ-prod-WorkersIndexerRole"
OUTPUTS = {
    "SearchAdminRoleArn": ADMIN,
    "SearchFunctionRoleArns": f"{MEMORIES},{INDEXER},{MEMORIES}",
    "OpenSearchEndpoint": "vpc-contextiq-prod-abc.us-east-1.es.amazonaws.com",
    "OpenSearchIndex": "contextiq-memories",
}


class RecordingTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def perform_request(self, method: str, path: str, body: Any = None) -> dict[str, str]:
        self.calls.append((method, path, body))
        return {"status": "OK"}


class FakeClient:
    def __init__(self) -> None:
        self.transport = RecordingTransport()


def stubbed_cloudformation() -> tuple[Any, Stubber]:
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    outputs = [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "ContextIQ-prod", "CreationTime": "2026-01-01T00:00:00Z",
                     "StackStatus": "UPDATE_COMPLETE", "Outputs": outputs}]},
        {"StackName": "ContextIQ-prod"},
    )  # fmt: skip
    return client, stubber


def test_the_plan_maps_the_function_roles_and_the_operators_to_the_index_family_only() -> None:
    cloudformation, stubber = stubbed_cloudformation()
    with stubber:
        outputs, requests = script.plan("prod", cloudformation)
    stubber.assert_no_pending_responses()
    assert outputs["SearchAdminRoleArn"] == ADMIN
    by_path = {path: body for _, path, body in requests}
    assert [m for m, _, _ in requests] == ["PUT"] * 4
    functions = by_path["/_plugins/_security/api/roles/contextiq_functions"]
    ((permission,),) = [functions["index_permissions"]]
    assert permission["index_patterns"] == ["contextiq-memories", "contextiq-memories-*"]
    assert "indices_all" not in permission["allowed_actions"] and "delete_index" not in permission["allowed_actions"]
    mapping = by_path["/_plugins/_security/api/rolesmapping/contextiq_functions"]
    assert mapping == {"backend_roles": sorted({MEMORIES, INDEXER})}
    operators = by_path["/_plugins/_security/api/roles/contextiq_operators"]
    assert operators["index_permissions"][0]["index_patterns"] == permission["index_patterns"]
    assert by_path["/_plugins/_security/api/rolesmapping/contextiq_operators"] == {"backend_roles": []}
    for body in by_path.values():  # nothing ever names all indexes or all actions
        assert "*" not in json.dumps(body).replace("contextiq-memories-*", "")


def test_it_assumes_the_master_role_and_sends_every_request() -> None:
    sts = boto3.client("sts", region_name="us-east-1")
    stubber = Stubber(sts)
    stubber.add_response(
        "assume_role",
        {"Credentials": {"AccessKeyId": "AKIAEXAMPLEEXAMPLE12", "SecretAccessKey": "s" * 40,
                         "SessionToken": "token", "Expiration": "2030-01-01T00:00:00Z"}},
        {"RoleArn": ADMIN, "RoleSessionName": "contextiq-opensearch-security"},
    )  # fmt: skip
    with stubber:
        credentials = script.admin_credentials(sts, ADMIN)
    assert credentials["aws_session_token"] == "token"
    client = FakeClient()
    requests = script.security_requests("contextiq-memories", [MEMORIES], [])
    assert script.apply(client, requests) == [{"status": "OK"}] * 4
    assert client.transport.calls == requests


def test_dry_run_prints_the_requests(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cloudformation, stubber = stubbed_cloudformation()
    monkeypatch.setattr(boto3.Session, "client", lambda self, name, **kw: cloudformation)
    with stubber:
        assert script.main(["--stage", "prod", "--region", "us-east-1", "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["path"].rsplit("/", 2)[-2:] for r in printed] == [
        ["roles", "contextiq_functions"],
        ["rolesmapping", "contextiq_functions"],
        ["roles", "contextiq_operators"],
        ["rolesmapping", "contextiq_operators"],
    ]
