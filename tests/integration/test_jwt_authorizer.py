"""The REQUEST authorizer on a stage with a JWT issuer: the app's live key plus a signed-in user's token
(signed by keys made in the test, JWKS served on 127.0.0.1) -> tenant, capped role and the user, whom
the functions record as the actor of their changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contextiq.handlers.authorizer import UnauthorizedError, authorize
from contextiq.handlers.tokens import TokenPolicy, TokenVerifier
from tests.jwks import CLIENT_ID, ISSUER, Issuer, serve_issuer

METHOD_ARN = "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/POST/v1/memories"
APP_KEY, READ_APP_KEY, B_KEY = "app-key-tenant-a", "app-key-tenant-a-read", "app-key-tenant-b"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as served:
        yield served


@pytest.fixture
def tokens(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(TokenPolicy(issuer=ISSUER, audiences=(CLIENT_ID,), jwks_url=issuer.url))


@pytest.fixture
def keys(container: Any) -> Any:
    container.api_keys.put(APP_KEY, "tenant-a", key_id="app-a", role="admin")
    container.api_keys.put(READ_APP_KEY, "tenant-a", key_id="app-a-read", role="read")
    container.api_keys.put(B_KEY, "tenant-b", key_id="app-b", role="write")
    return container.api_keys


def event(key: str | None, token: str | None) -> dict[str, Any]:
    headers = {"x-api-key": key} if key else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return {"headers": headers, "methodArn": METHOD_ARN}


def test_key_and_token_give_the_tokens_user_and_role(keys: Any, tokens: TokenVerifier, issuer: Issuer) -> None:
    answer = authorize(event(APP_KEY, issuer.token(sub="alice")), keys, tokens)
    assert answer["context"] == {"tenant": "tenant-a", "role": "write", "key_id": "app-a", "subject": "alice"}
    assert answer["principalId"] == "tenant-a:alice"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_the_keys_role_caps_the_tokens(keys: Any, tokens: TokenVerifier, issuer: Issuer) -> None:
    answer = authorize(event(READ_APP_KEY, issuer.token(**{"custom:role": "admin"})), keys, tokens)
    assert answer["context"]["role"] == "read"


@pytest.mark.parametrize(
    "case", ["no token", "no key", "revoked key", "expired", "wrong audience", "not bearer", "garbage"]
)
def test_missing_or_bad_credentials_are_401(
    keys: Any, tokens: TokenVerifier, issuer: Issuer, case: str, container: Any
) -> None:
    key, token, raw = APP_KEY, issuer.token(), None
    if case == "no token":
        token = None
    elif case == "no key":
        key = None
    elif case == "revoked key":
        keys.delete_by_key_id("app-a")
    elif case == "expired":
        token = issuer.token(lifetime=-3600)
    elif case == "wrong audience":
        token = issuer.token(aud="someone-else")
    elif case == "not bearer":
        token, raw = None, f"Basic {token}"
    elif case == "garbage":
        token = "not.a.jwt"
    request = event(key, token)
    if raw:
        request["headers"]["Authorization"] = raw
    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorize(request, keys, tokens)


def test_a_token_of_another_tenant_is_denied_with_the_key_of_this_one(
    keys: Any, tokens: TokenVerifier, issuer: Issuer
) -> None:
    answer = authorize(event(B_KEY, issuer.token()), keys, tokens)  # token says tenant-a, key is tenant-b's
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"  # API Gateway answers 403
    assert answer["context"] == {}


def test_without_an_issuer_the_stage_takes_keys_alone(keys: Any) -> None:
    answer = authorize(event(APP_KEY, None), keys)
    assert answer["context"] == {"tenant": "tenant-a", "role": "admin", "key_id": "app-a"}


def test_functions_record_the_signed_in_user_as_the_actor(
    container: Any, keys: Any, tokens: TokenVerifier, issuer: Issuer
) -> None:
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app

    app = create_app(container)
    context = authorize(event(APP_KEY, issuer.token(sub="alice")), keys, tokens)["context"]

    async def with_event(scope: Any, receive: Any, send: Any) -> None:  # what Mangum puts in the scope
        scope["aws.event"] = {"requestContext": {"authorizer": context}}
        await app(scope, receive, send)

    client = TestClient(with_event)
    made = client.post("/v1/memories", json={"scope": {"user_id": "alice"}, "fact": "Alice likes tea"})
    assert made.status_code == 201, made.text
    revisions = client.get(f"/v1/memories/{made.json()['id']}/revisions").json()
    assert [r["actor"] for r in revisions["items"]] == ["user:alice"]
    # the token's tenant is the only tenant it sees: tenant B's key cannot read tenant A's memory
    other = TestClient(app, headers={"x-api-key": "key-tenant-b"})
    assert other.get(f"/v1/memories/{made.json()['id']}").status_code == 404
