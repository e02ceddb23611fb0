"""The templates API over HTTP (TestClient) on moto DynamoDB: versions, If-Match, validation, tenancy."""

from __future__ import annotations

from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
BODY = "Hello {{ customer }}.\n{% if memories %}{{ memories | bullet_list('text') }}{% endif %}"


def _create(api, **extra):  # type: ignore[no-untyped-def]
    payload = {"name": "support", "body": BODY, "variables": [{"name": "customer", "default": "there"}], **extra}
    resp = api.post("/v1/templates", json=payload)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_versions_are_immutable_and_readable(api) -> None:
    t = _create(api, description="first")
    assert t["version"] == 1 and t["builtin"] is False
    assert api.get(f"/v1/templates/{t['id']}").headers["etag"] == '"1"'
    patched = api.patch(f"/v1/templates/{t['id']}", json={"body": "Bye {{ customer }}"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.json()["version"] == 2 and patched.headers["etag"] == '"2"'
    stale = api.patch(f"/v1/templates/{t['id']}", json={"name": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert api.get(f"/v1/templates/{t['id']}", params={"version": 1}).json()["body"] == BODY
    assert api.get(f"/v1/templates/{t['id']}").json()["body"] == "Bye {{ customer }}"
    assert api.get(f"/v1/templates/{t['id']}", params={"version": 3}).status_code == 404
    assert api.delete(f"/v1/templates/{t['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(f"/v1/templates/{t['id']}").status_code == 404
    assert api.get(f"/v1/templates/{t['id']}", params={"version": 1}).status_code == 404
    versions = api.get(f"/v1/templates/{t['id']}/versions").json()["items"]
    assert [(v["version"], v["action"]) for v in versions] == [(1, "CREATED"), (2, "UPDATED"), (3, "DELETED")]
    assert versions[0]["body"] == BODY and versions[0]["actor"] == "apikey:ka"
    assert api.patch(f"/v1/templates/{t['id']}", json={"name": "again"}).status_code == 404


def test_list_pages_and_skips_deleted(api) -> None:
    ids = [_create(api, name=f"t{i}")["id"] for i in range(3)]
    api.delete(f"/v1/templates/{ids[1]}")
    first = api.get("/v1/templates", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_token"]
    rest = api.get("/v1/templates", params={"limit": 5, "next_token": first["next_token"]}).json()
    assert [t["id"] for t in first["items"] + rest["items"]] == [ids[0], ids[2]]


def test_validation_names_the_line(api) -> None:
    bad = api.post("/v1/templates", json={"name": "x", "body": "ok\n{% if memories %}\n{{ nope }}{% endif %}"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    problem = bad.json()
    assert problem["errors"][0]["field"] == "body" and "line 3" in problem["errors"][0]["message"]
    assert "nope" in problem["errors"][0]["message"]
    syntax = api.post("/v1/templates", json={"name": "x", "body": "a\nb\n{% for x in %}"})
    assert syntax.status_code == 422 and "line 3" in syntax.json()["errors"][0]["message"]
    unknown_filter = api.post("/v1/templates", json={"name": "x", "body": "{{ query | shout }}"})
    assert unknown_filter.status_code == 422 and "shout" in unknown_filter.json()["detail"]
    escape = api.post("/v1/templates", json={"name": "x", "body": "{{ ''.__class__.__mro__ }}"})
    assert escape.status_code == 422 and "unsafe" in escape.json()["detail"]
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    assert api.post("/v1/templates", json={"name": "x", "body": loop}).status_code == 422
    huge = api.post("/v1/templates", json={"name": "x", "body": "{{ 'x' * 100000000 }}"})
    assert huge.status_code == 422 and "characters" in huge.json()["detail"]
    reserved = api.post("/v1/templates", json={"name": "x", "body": "x", "variables": [{"name": "memories"}]})
    assert reserved.status_code == 422
    t = _create(api)
    broken = api.patch(f"/v1/templates/{t['id']}", json={"body": "{{ customer }\n"})
    assert broken.status_code == 422 and api.get(f"/v1/templates/{t['id']}").json()["version"] == 1
    dropped = api.patch(f"/v1/templates/{t['id']}", json={"variables": []})
    assert dropped.status_code == 422 and dropped.json()["errors"][0]["field"] == "variables"
    assert api.patch(f"/v1/templates/{t['id']}", json={}).status_code == 422


def test_builtin_default_is_readable_not_writable(api) -> None:
    default = api.get("/v1/templates/default").json()
    assert default["builtin"] is True and default["version"] == 1 and "memories" in default["body"]
    assert api.patch("/v1/templates/default", json={"name": "mine"}).status_code == 409
    assert api.delete("/v1/templates/default").status_code == 409
    assert [v["version"] for v in api.get("/v1/templates/default/versions").json()["items"]] == [1]


def test_idempotent_create_and_ttl(api, container) -> None:
    headers = {"Idempotency-Key": "tpl-1"}
    first = api.post("/v1/templates", json={"name": "x", "body": "hi", "ttl_seconds": 60}, headers=headers)
    again = api.post("/v1/templates", json={"name": "x", "body": "hi", "ttl_seconds": 60}, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and first.json()["expire_time"]
    other = api.post("/v1/templates", json={"name": "y", "body": "hi"}, headers=headers)
    assert other.status_code == 422
    from datetime import timedelta

    from contextiq.ids import utcnow

    later = utcnow() + timedelta(seconds=120)
    container.templates._clock = lambda: later
    assert api.get(f"/v1/templates/{first.json()['id']}").status_code == 404
    assert all(t["id"] != first.json()["id"] for t in api.get("/v1/templates").json()["items"])


def test_another_tenant_sees_and_changes_nothing(api) -> None:
    t = _create(api)
    tid = t["id"]
    assert api.get(f"/v1/templates/{tid}", headers=B).status_code == 404
    assert api.get(f"/v1/templates/{tid}", params={"version": 1}, headers=B).status_code == 404
    assert api.get(f"/v1/templates/{tid}/versions", headers=B).status_code == 404
    assert api.patch(f"/v1/templates/{tid}", json={"name": "mine"}, headers=B).status_code == 404
    assert api.delete(f"/v1/templates/{tid}", headers=B).status_code == 404
    assert api.get("/v1/templates", headers=B).json()["items"] == []
    assert api.get(f"/v1/templates/{tid}").json()["version"] == 1
