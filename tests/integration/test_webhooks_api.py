"""/v1/webhooks over HTTP on moto: validation as problem+json, the secret shown once, limits, tenancy."""

from __future__ import annotations

import socket

import pytest
from standardwebhooks import Webhook as Verifier

from contextiq import limits
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
PUBLIC_URL = "https://hooks.example.test/contextiq"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):  # type: ignore[no-untyped-def]
    """hooks.example.test resolves to a public address; *.internal.test to private/metadata ones."""
    real = socket.getaddrinfo
    names = {
        "hooks.example.test": "93.184.216.34",
        "meta.internal.test": "169.254.169.254",
        "ten.internal.test": "10.1.2.3",
        "mapped.internal.test": "::ffff:127.0.0.1",
        "ec2v6.internal.test": "fd00:ec2::254",
    }

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return real(names.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def _create(api, headers=None, **body):  # type: ignore[no-untyped-def]
    return api.post("/v1/webhooks", json={"url": PUBLIC_URL, "events": ["*"], **body}, headers=headers or {})


def test_the_secret_is_shown_once_and_never_stored_in_clear(api, container) -> None:  # type: ignore[no-untyped-def]
    resp = _create(api)
    assert resp.status_code == 201 and resp.headers["location"] == f"/v1/webhooks/{resp.json()['id']}"
    hook = resp.json()
    assert hook["secret"].startswith("whsec_")
    Verifier(hook["secret"])  # a valid Standard Webhooks secret
    assert "secret" not in api.get(f"/v1/webhooks/{hook['id']}").json()
    assert all("secret" not in h for h in api.get("/v1/webhooks").json()["items"])
    scanned = str(container.dynamodb.scan(TableName=container.settings.webhooks_table)["Items"])
    idem = str(container.dynamodb.scan(TableName=container.settings.idempotency_table).get("Items", []))
    secret_b64 = hook["secret"].removeprefix("whsec_")
    assert secret_b64 not in scanned and secret_b64 not in idem


def test_a_given_secret_is_kept_and_an_idempotent_replay_shows_it_again(api, container) -> None:  # type: ignore[no-untyped-def]
    secret = "whsec_" + "A" * 40  # 30 bytes
    headers = {"Idempotency-Key": "hook-1"}
    first = _create(api, headers=headers, secret=secret)
    again = _create(api, headers=headers, secret=secret)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json() == again.json() and again.json()["secret"] == secret
    assert len(api.get("/v1/webhooks").json()["items"]) == 1
    idem = str(container.dynamodb.scan(TableName=container.settings.idempotency_table).get("Items", []))
    assert "A" * 40 not in idem


BAD = [
    ({"url": "http://hooks.example.test/x"}, "url"),  # https only in the cloud
    ({"url": "https://meta.internal.test/x"}, "url"),  # the metadata service
    ({"url": "https://ten.internal.test/x"}, "url"),
    ({"url": "https://mapped.internal.test/x"}, "url"),
    ({"url": "https://ec2v6.internal.test/x"}, "url"),
    ({"url": "https://127.0.0.1/x"}, "url"),
    ({"url": "https://[::1]/x"}, "url"),
    ({"url": "https://[::1/x"}, "url"),  # unparsable (was a 500: found by the property test)
    ({"url": "https://user:pw@hooks.example.test/x"}, "url"),
    ({"url": "https://no-such-host.invalid/x"}, "url"),
    ({"url": "https://" + "a" * limits.MAX_WEBHOOK_URL_CHARS}, "url"),
    ({"events": []}, "events"),
    ({"events": ["memory.exploded"]}, "events.0"),
    ({"events": ["memory.created", "memory.created"]}, "events"),
    ({"events": ["*", "memory.created"]}, "events"),
    ({"secret": "not-a-whsec"}, "secret"),
    ({"secret": "whsec_" + "A" * 8}, "secret"),  # 6 bytes: too short
    ({"secret": "whsec_!!!!"}, "secret"),
    ({"extra": 1}, "extra"),
]


def test_bad_subscriptions_are_problems_naming_the_field(api) -> None:  # type: ignore[no-untyped-def]
    for body, field in BAD:  # one stack for every case (a moto stack per case costs ~1.5 s)
        resp = _create(api, **body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert any(e["field"] == field for e in resp.json()["errors"]), (body, resp.json())
    assert api.get("/v1/webhooks").json()["items"] == []  # nothing stored


def test_at_most_the_limit_per_tenant(api) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limits.MAX_WEBHOOKS_PER_TENANT):
        assert _create(api).status_code == 201
    over = _create(api)
    assert over.status_code == 409 and over.headers["content-type"] == "application/problem+json"
    assert _create(api, headers=B).status_code == 201  # another tenant's count is its own
    first = api.get("/v1/webhooks").json()["items"][0]["id"]
    assert api.delete(f"/v1/webhooks/{first}").status_code == 204
    assert _create(api).status_code == 201  # a delete frees a place


def test_another_tenant_sees_nothing_and_changes_nothing(api) -> None:  # type: ignore[no-untyped-def]
    hook = _create(api).json()
    path = f"/v1/webhooks/{hook['id']}"
    assert api.get("/v1/webhooks", headers=B).json()["items"] == []
    assert api.get(path, headers=B).status_code == 404
    assert api.get(f"{path}/deliveries", headers=B).status_code == 404
    assert api.delete(path, headers=B).status_code == 404
    assert api.get(path).status_code == 200  # still there for its owner
    assert api.get(f"{path}/deliveries").json()["items"] == []
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404 and api.delete(path).status_code == 404


def test_path_ids_and_page_tokens_are_checked(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/v1/webhooks/" + "x" * 65).status_code == 422
    assert api.get("/v1/webhooks/a%23b").status_code == 422
    hook = _create(api).json()
    bad = api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"next_token": "bm90LWEtdG9rZW4"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.next_token"
