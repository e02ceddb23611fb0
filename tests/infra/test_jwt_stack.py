"""The JWT authorizer as a stage option: on a stage with an issuer, the authorizer takes the key and the
bearer token (cached per pair) and gets the issuer's settings and the auth layer; stages without one
are unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.support import JWT_CLIENT_ID, Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"


def _authorizer_function(synth: Synth) -> dict[str, Any]:
    for resource in synth.resources("AWS::Lambda::Function").values():
        props = resource["Properties"]
        if props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "contextiq-authorizer":
            return props
    raise AssertionError("no authorizer function")


def _layer_ids(props: dict[str, Any]) -> set[str]:
    return {layer["Ref"] for layer in props["Layers"]}


def test_the_private_stage_passes_cdk_nag(private_stage: Synth) -> None:
    assert private_stage.nag_error is None, private_stage.nag_error
    assert [v for v in private_stage.nag_violations if v["severity"] == "error"] == []


def test_the_authorizer_takes_key_and_token_and_caches_per_pair(private_stage: Synth) -> None:
    ((_, authorizer),) = private_stage.resources("AWS::ApiGateway::Authorizer").items()
    props = authorizer["Properties"]
    assert props["IdentitySource"] == "method.request.header.x-api-key,method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 300


def test_the_authorizer_gets_the_issuer_settings(private_stage: Synth) -> None:
    env = _authorizer_function(private_stage)["Environment"]["Variables"]
    assert env["CONTEXTIQ_JWT_ISSUER"] == ISSUER
    assert env["CONTEXTIQ_JWT_AUDIENCES"] == JWT_CLIENT_ID
    assert env["CONTEXTIQ_JWT_JWKS_URL"] == ISSUER + "/.well-known/jwks.json"
    assert env["CONTEXTIQ_JWT_ROLE_CLAIM"] == "cognito:groups"
    assert env["CONTEXTIQ_JWT_TENANT_CLAIM"] == "custom:tenant"
    # what the stage writes is what the function reads back into a working verifier
    from contextiq.config import Settings
    from contextiq.handlers.tokens import verifier_from_settings

    names = {k.removeprefix("CONTEXTIQ_").lower(): v for k, v in env.items() if k.startswith("CONTEXTIQ_JWT_")}
    verifier = verifier_from_settings(Settings(**names))
    assert verifier is not None and verifier.policy.issuer == ISSUER


def test_only_the_authorizer_carries_the_auth_layer(synth: Synth, private_stage: Synth) -> None:
    for stack in (synth, private_stage):
        layers = {
            logical_id
            for logical_id, layer in stack.resources("AWS::Lambda::LayerVersion").items()
            if "PyJWT" in layer["Properties"]["Description"]
        }
        assert len(layers) == 1
        for props in (r["Properties"] for r in stack.resources("AWS::Lambda::Function").values()):
            service = props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
            assert (layers <= _layer_ids(props)) == (service == "contextiq-authorizer"), service


def test_named_stages_have_no_issuer(synth: Synth) -> None:
    env = _authorizer_function(synth)["Environment"]["Variables"]
    assert not [k for k in env if k.startswith("CONTEXTIQ_JWT_")]
    assert "Authorization" not in json.dumps(synth.resources("AWS::ApiGateway::Authorizer"))
