"""Every data method is behind the Lambda REQUEST authorizer (hashed key table), cached per stage."""

from __future__ import annotations

import json

import pytest

from infra.stages import STAGES
from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_every_keyed_method_uses_the_key_authorizer(synth: Synth) -> None:
    (authorizer_id, authorizer), *rest = synth.resources("AWS::ApiGateway::Authorizer").items()
    assert not rest
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.x-api-key"
    assert props["AuthorizerResultTtlInSeconds"] == STAGES[synth.stage].authorizer_cache_seconds == 300
    assert "AuthorizerFunction" in json.dumps(props["AuthorizerUri"])
    methods = [m["Properties"] for m in synth.resources("AWS::ApiGateway::Method").values()]
    mocks = [m for m in methods if m["HttpMethod"] == "ANY"]  # OPTIONS 204 / 405, no data (test_infra_stack.py)
    assert mocks and all(m["Integration"]["Type"] == "MOCK" and m["AuthorizationType"] == "NONE" for m in mocks)
    routed = [m for m in methods if m["HttpMethod"] not in ("OPTIONS", "ANY")]
    for method in routed:
        if method["ApiKeyRequired"]:  # the usage plan still meters the key
            assert method["AuthorizationType"] == "CUSTOM"
            assert method["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert method.get("AuthorizationType") in (None, "NONE")  # GET /openapi.json only
    assert sum(1 for m in routed if not m["ApiKeyRequired"]) == 1


def test_the_authorizer_function_reads_the_key_table_without_its_own_cache(synth: Synth) -> None:
    for resource in synth.resources("AWS::Lambda::Function").values():
        env = resource["Properties"]["Environment"]["Variables"]
        if env["POWERTOOLS_SERVICE_NAME"] == "contextiq-authorizer":
            assert env["CONTEXTIQ_API_KEY_CACHE_SECONDS"] == "0"  # API Gateway's TTL is the only cache
            break
    else:
        raise AssertionError("no authorizer function")
    permissions = [p["Properties"] for p in synth.resources("AWS::Lambda::Permission").values()]
    assert any(
        p["Principal"] == "apigateway.amazonaws.com" and "authorizers" in json.dumps(p.get("SourceArn"))
        for p in permissions
    )
