"""The OpenAPI document and the server agree on what a body may be (issue 11).

Each case is one the schemathesis run found: a body the document allowed and the server refused, or the
reverse. Both sides are asked here: the document's own JSON Schema (validated with ``jsonschema``) and
the server. Rules that compare two fields, which JSON Schema cannot state, are checked for the field the
problem names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

DOC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
SCOPE = {"user_id": "u1"}
STEPS = [{"instruction": "book the flight"}]
OUTCOME = {"status": "success"}
HOOK = "https://93.184.216.34/hook"


def _valid(schema: str, body: Any) -> bool:
    root = {"$ref": f"#/components/schemas/{schema}", "components": DOC["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(body)


def _procedure(**fields: Any) -> dict[str, Any]:
    return {"scope": SCOPE, "kind": "workflow", "name": "n", "description": "d", "steps": STEPS, **fields}


CASES = [
    # (route, schema, body, the document and the server accept it)
    ("/v1/procedures/generate", "ProcedureGenerateRequest", {"scope": SCOPE}, False),
    ("/v1/procedures/generate", "ProcedureGenerateRequest", {"scope": SCOPE, "trajectory_ids": ["a", "a"]}, False),
    (
        "/v1/procedures/generate",
        "ProcedureGenerateRequest",
        {"scope": SCOPE, "trajectory_ids": ["a"], "task": "t"},
        False,
    ),
    ("/v1/trajectories", "TrajectoryCreate", {"scope": SCOPE, "task": "t", "outcome": OUTCOME}, False),
    (
        "/v1/trajectories",
        "TrajectoryCreate",
        {"scope": SCOPE, "task": "t", "outcome": OUTCOME, "steps": [{"thought": "x", "arguments": {"a": 1}}]},
        False,
    ),
    ("/v1/trajectories", "TrajectoryCreate", {"scope": SCOPE, "task": "t", "outcome": OUTCOME, "steps": [{}]}, False),
    ("/v1/trajectories", "TrajectoryCreate", {"scope": SCOPE, "task": "t", "outcome": OUTCOME, "steps": STEPS}, False),
    (
        "/v1/trajectories",
        "TrajectoryCreate",
        {"scope": SCOPE, "task": " t ", "outcome": OUTCOME, "steps": [{"thought": "x", "tool": "t", "arguments": {}}]},
        True,
    ),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "before": 0}, False),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "before": "0"}, False),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "top_k": "5"}, False),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "top_k": True}, False),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "top_k": 5.0}, True),
    ("/v1/recall", "RecallRequest", {"scope": SCOPE, "query": "q", "use_query_dates": 1}, False),
    ("/v1/memories/search", "SearchRequest", {"scope": SCOPE, "query": "q" + " " * 2000}, False),
    ("/v1/memories/generate", "GenerateRequest", {"session_id": "s", "wait_seconds": True}, False),
    ("/v1/procedures", "ProcedureCreate", _procedure(steps=[{"instruction": "x", "tool": "\u00a0"}]), False),
    ("/v1/procedures", "ProcedureCreate", _procedure(steps=[{"instruction": "x", "tool": "\tgit"}]), False),
    ("/v1/procedures", "ProcedureCreate", _procedure(steps=[{"instruction": "x", "tool": " git "}]), True),
    ("/v1/procedures", "ProcedureCreate", _procedure(ttl_seconds=3600.0), True),
    # white space is one explicit set in the document and the server (\x1f is space to Python only,
    # \ufeff to ECMA only, \x85 not to ECMA): "\x1f" was accepted and read back as ""
    ("/v1/procedures", "ProcedureCreate", _procedure(steps=[{"instruction": "\x1f"}]), False),
    ("/v1/procedures", "ProcedureCreate", _procedure(name="\ufeff"), False),
    ("/v1/procedures", "ProcedureCreate", _procedure(steps=[{"instruction": "x", "tool": "\x85"}]), False),
    ("/v1/memories", "MemoryCreate", {"scope": SCOPE, "fact": "\x1c\x85\ufeff"}, False),
    # templates and context trimmed with the same set: "\v" as a name was valid to the document, then refused as blank
    ("/v1/templates", "TemplateCreate", {"name": "\u000b", "body": "hi"}, False),
    ("/v1/templates", "TemplateCreate", {"name": " greeting ", "body": "hi", "description": "\x1f"}, False),
    ("/v1/templates", "TemplateCreate", {"name": " greeting ", "body": "hi"}, True),
    ("/v1/context", "ContextRequest", {"scope": SCOPE, "query": "\x1f", "max_tokens": 100}, False),
    # a webhook's events: each once, and '*' only alone (the host is an IP: no DNS in the test)
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["job.failed", "job.failed"]}, False),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*", "job.failed"]}, False),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"]}, True),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["job.failed", "memory.created"]}, True),
    # a secret is base64 of 24-64 bytes, padding optional (33 characters are no base64; 88 are 66 bytes)
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"], "secret": "whsec_" + "A" * 33}, False),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"], "secret": "whsec_" + "A" * 88}, False),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"], "secret": "whsec_" + "A" * 32 + "="}, False),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"], "secret": "whsec_" + "A" * 86}, True),
    ("/v1/webhooks", "WebhookCreate", {"url": HOOK, "events": ["*"], "secret": "whsec_" + "A" * 34 + "=="}, True),
]


@pytest.mark.parametrize(("route", "schema", "body", "accepted"), CASES)
def test_document_and_server_agree(api, route: str, schema: str, body: dict[str, Any], accepted: bool) -> None:
    assert _valid(schema, body) is accepted, "the document"
    resp = api.post(route, json=body)
    if accepted:
        assert resp.status_code < 400 or resp.status_code == 404, resp.text
    else:
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json", resp.text


def test_patch_procedure_needs_a_field(api) -> None:
    assert not _valid("ProcedurePatch", {}) and _valid("ProcedurePatch", {"status": "deprecated"})
    created = api.post("/v1/procedures", json=_procedure()).json()
    assert api.patch(f"/v1/procedures/{created['id']}", json={}).status_code == 422
    resp = api.patch(f"/v1/procedures/{created['id']}", json={"status": "deprecated"})
    assert resp.status_code == 200 and resp.json()["status"] == "deprecated"


def test_text_is_trimmed_after_its_limits(api) -> None:
    """Limits hold for the text as sent (what the document says); what is stored is trimmed."""
    created = api.post("/v1/procedures", json=_procedure(steps=[{"instruction": " x ", "tool": " git "}]))
    assert created.status_code == 201
    assert created.json()["steps"][0] == {"instruction": "x", "tool": "git", "arguments": None, "expected": None}
    steps = [{"instruction": "\x1f\ufeffx\x85 ", "tool": "\u3000git\ufeff"}]
    created = api.post("/v1/procedures", json=_procedure(steps=steps))
    assert created.status_code == 201 and _valid("Procedure", created.json()), created.text
    assert created.json()["steps"][0] == {"instruction": "x", "tool": "git", "arguments": None, "expected": None}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/v1/recall", {"scope": SCOPE, "query": "q", "after": "2026-01-01T00:00:00Z", "before": "2026-01-01T00:00:00Z"}, "before"),
        ("/v1/memories/search", {"scope": SCOPE, "query": "q", "after": "2026-01-02T00:00:00Z", "before": "2026-01-01T00:00:00Z"}, "before"),
        ("/v1/events/search", {"user_id": "u1", "query": "q", "after": "2026-01-02T00:00:00Z", "before": "2026-01-01T00:00:00Z"}, "before"),
        ("/v1/trajectories", {"scope": SCOPE, "task": "t", "outcome": OUTCOME, "session_id": "s", "after_seq": 3, "before_seq": 4}, "before_seq"),
        ("/v1/procedures", _procedure(parameters=[{"name": "a"}, {"name": "a"}]), "parameters"),
    ],
)  # fmt: skip
def test_rules_between_two_fields_name_the_field(api, route: str, body: dict[str, Any], field: str) -> None:
    """JSON Schema cannot compare two fields: the document says these rules in the field's description,
    and the server's 422 names that field (not the whole body)."""
    resp = api.post(route, json=body)
    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]


def test_state_patch_set_and_remove_overlap_names_remove(api) -> None:
    session = api.post("/v1/sessions", json={"user_id": "u1"}).json()
    resp = api.patch(f"/v1/sessions/{session['id']}/state", json={"set": {"a": 1}, "remove": ["a"]})
    assert resp.status_code == 422 and [e["field"] for e in resp.json()["errors"]] == ["remove"]


@pytest.mark.parametrize("route", ["/v1/memories", "/v1/procedures", "/v1/trajectories"])
def test_listings_refuse_unknown_query_parameters(api, route: str) -> None:
    """The exploded `scope` object takes every other query parameter, and its names start with `scope.`:
    so `?user_id=u1` (meant as the scope) is a 422 naming it, as the document says, not ignored."""
    assert api.get(route, params={"scope.user_id": "u1"}).status_code == 200
    resp = api.get(route, params={"scope.user_id": "u1", "user_id": "u1"})
    assert resp.status_code == 422 and [e["field"] for e in resp.json()["errors"]] == ["query.user_id"]


def test_the_documents_request_examples_are_accepted(api, container) -> None:  # type: ignore[no-untyped-def]
    """Each request body's example in the document passes the server's validation (a 404 for an id in
    the path that does not exist is fine: the body was read first)."""
    from contextiq.api.openapi import full_openapi
    from contextiq.stores.webhook_http import check_url

    # no DNS in the test: the example's host resolves to a public address
    container.webhooks._check = lambda url, allow_local: check_url(url, allow_local, lambda h, p: ["93.184.216.34"])

    doc = full_openapi()
    sent = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            url = path.replace("{", "").replace("}", "")  # /v1/memories/memory_id: an id that does not exist
            for example in doc["components"]["schemas"][name]["examples"]:
                resp = api.request(method.upper(), url, json=example)
                assert resp.status_code in (200, 201, 202, 404), (method, path, resp.text)
                sent += 1
    assert sent >= 20
