"""Roles (read < write < admin), enforced from the key table locally and from the authorizer context in
the cloud; the REQUEST authorizer itself, and key revocation."""

from __future__ import annotations

from typing import Any

import pytest

from contextiq.api.rbac import authorizer_caller, required_role
from contextiq.handlers.authorizer import UnauthorizedError, authorize, stage_wide_resource

READ_KEY, ADMIN_KEY = "key-tenant-a-read", "key-tenant-a-admin"
METHOD_ARN = "arn:aws:execute-api:us-east-1:111122223333:abc123/dev/POST/v1/memories"


@pytest.fixture
def keys(container: Any) -> Any:
    container.api_keys.put(READ_KEY, "tenant-a", key_id="kr", role="read")
    container.api_keys.put(ADMIN_KEY, "tenant-a", key_id="kadm", role="admin")
    return container.api_keys


def test_a_read_key_reads_and_searches_but_cannot_write(api: Any, keys: Any) -> None:
    created = api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": "Ana is vegetarian"})
    assert created.status_code == 201
    read = {"x-api-key": READ_KEY}
    assert api.get("/v1/memories", params={"scope.user_id": "u1"}, headers=read).status_code == 200
    search = api.post("/v1/memories/search", json={"scope": {"user_id": "u1"}, "query": "food"}, headers=read)
    assert search.status_code == 200
    denied = api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": "x"}, headers=read)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert "role 'read'" in denied.json()["detail"] and "needs 'write'" in denied.json()["detail"]
    memory_id = created.json()["id"]
    assert api.delete(f"/v1/memories/{memory_id}", headers=read).status_code == 403
    assert api.post("/v1/sessions", json={"user_id": "u1"}, headers=read).status_code == 403
    assert api.post("/v1/sessions", json={"user_id": "u1"}, headers={"x-api-key": ADMIN_KEY}).status_code == 201


def test_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from contextiq.api import rbac

    monkeypatch.setattr(rbac, "ADMIN_PREFIXES", ("/v1/keys",))
    assert required_role("POST", "/v1/keys") == "admin"
    monkeypatch.undo()
    assert required_role("GET", "/v1/memories") == "read"
    assert required_role("POST", "/v1/memories/search") == "read"
    assert required_role("POST", "/v1/memories/generate") == "write"
    assert required_role("PATCH", "/v1/sessions/s1/state") == "write"
    assert required_role("POST", "/_local/reindex") == "write"  # the local runtime's keys are write keys


def test_the_authorizer_returns_tenant_and_role_for_the_whole_stage(keys: Any) -> None:
    answer = authorize({"headers": {"X-Api-Key": READ_KEY}, "methodArn": METHOD_ARN}, keys)
    assert answer["context"] == {"tenant": "tenant-a", "role": "read", "key_id": "kr"}
    assert answer["principalId"] == "tenant-a:kr"
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:111122223333:abc123/dev/*/*",  # cacheable across routes
    }
    assert stage_wide_resource(METHOD_ARN) == statement["Resource"]
    for headers in ({}, {"x-api-key": "no-such-key"}, {"x-api-key": ""}):
        with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):  # API Gateway answers 401
            authorize({"headers": headers, "methodArn": METHOD_ARN}, keys)


def test_a_revoked_key_is_refused_by_the_next_authorizer_call(container: Any, keys: Any) -> None:
    from contextiq.stores.dynamo.api_keys import ApiKeyStore

    uncached = ApiKeyStore(container.settings.api_keys_table, container.dynamodb, cache_seconds=0)  # as deployed
    assert authorize({"headers": {"x-api-key": READ_KEY}, "methodArn": METHOD_ARN}, uncached)
    assert keys.delete_by_key_id("kr") == 1  # scripts/api_keys.py revoke
    with pytest.raises(UnauthorizedError):
        authorize({"headers": {"x-api-key": READ_KEY}, "methodArn": METHOD_ARN}, uncached)


def test_functions_trust_the_authorizer_context_and_enforce_its_role(container: Any) -> None:
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app

    app = create_app(container)
    context: dict[str, Any] = {"tenant": "tenant-b", "role": "read", "key_id": "kb-read"}

    async def with_event(scope: Any, receive: Any, send: Any) -> None:  # what Mangum puts in the scope
        scope["aws.event"] = {"requestContext": {"authorizer": context}}
        await app(scope, receive, send)

    client = TestClient(with_event)
    # No x-api-key lookup: the tenant comes from the authorizer (tenant-b), the role limits it to reading.
    listed = client.get("/v1/sessions", params={"user_id": "u1"})
    assert listed.status_code == 200
    assert client.post("/v1/sessions", json={"user_id": "u1"}).status_code == 403
    context["role"] = "write"
    made = client.post("/v1/sessions", json={"user_id": "u1"})
    assert made.status_code == 201
    # tenant isolation holds: tenant A's key does not see tenant B's session
    other = TestClient(app, headers={"x-api-key": "key-tenant-a"})
    assert other.get(f"/v1/sessions/{made.json()['id']}").status_code == 404
    assert authorizer_caller({"aws.event": {"requestContext": {}}}) is None


def test_every_search_route_in_the_document_is_open_to_read_keys(api: Any) -> None:
    """A POST that only reads (its operationId says search or recall) must not need a write key."""
    document = api.get("/openapi.json").json()
    searches = [
        path
        for path, operations in document["paths"].items()
        if "post" in operations
        and (operations["post"]["operationId"].startswith("search") or operations["post"]["operationId"] == "recall")
    ]
    assert {"/v1/memories/search", "/v1/events/search", "/v1/recall"} <= set(searches)
    for path in searches:
        assert required_role("POST", path) == "read", path
