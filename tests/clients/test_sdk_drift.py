"""The SDK and docs/openapi.json must not drift apart: every documented operation has exactly one SDK
route with the same parameters, and every SDK model has the fields (and required fields) of its schema."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from pydantic import BaseModel

from contextiq_sdk import (
    AsyncClient,
    Client,
    aclient,
    acontext,
    aprocedural,
    awebhooks,
    client,
    context,
    policies,
    procedural,
    webhooks,
)
from contextiq_sdk.routes import ROUTES, Route

from .conftest import ROOT

DOC = json.loads((ROOT / "docs" / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]
OPERATIONS = {(method.upper(), path): op for path, ops in DOC["paths"].items() for method, op in ops.items()}


def _schema_name(model: type[BaseModel]) -> str:
    return model.__name__


def _ref(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def test_every_documented_operation_has_one_sdk_route() -> None:
    sdk = {(r.method, r.path) for r in ROUTES.values()}
    assert len(sdk) == len(ROUTES), "two SDK routes for one operation"
    assert sorted(set(OPERATIONS) - sdk) == [], "documented but missing from the SDK (contextiq_sdk/routes.py)"
    assert sorted(sdk - set(OPERATIONS)) == [], "in the SDK but not in docs/openapi.json"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_parameters_bodies_and_responses_match_the_document(name: str) -> None:
    route: Route = ROUTES[name]
    op = OPERATIONS[(route.method, route.path)]
    params = op.get("parameters", [])
    assert {p["name"] for p in params if p["in"] == "query"} == set(route.query)
    assert {p["name"] for p in params if p["in"] == "path"} == {
        part[1:-1] for part in route.path.split("/") if part.startswith("{")
    }
    headers = {p["name"] for p in params if p["in"] == "header"}
    assert ("Idempotency-Key" in headers) == route.idempotency_key
    assert ("If-Match" in headers) == route.if_match
    assert op.get("operationId") == route.operation_id

    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    assert (_ref(body) if body else None) == (_schema_name(route.body) if route.body else None)

    documented = {int(s): r for s, r in op["responses"].items() if s.startswith("2")}
    assert set(documented) == set(route.responses)
    for status, model in route.responses.items():
        schema = documented[status].get("content", {}).get("application/json", {}).get("schema")
        assert (_ref(schema) if schema else None) == (_schema_name(model) if model else None), status


def _sdk_models() -> dict[str, type[BaseModel]]:
    from contextiq_sdk import models, models_context, models_procedural, models_webhooks

    found: dict[str, type[BaseModel]] = {}
    for route in ROUTES.values():
        for model in [route.body, *route.responses.values()]:
            if model is not None:
                found[_schema_name(model)] = model
    for module in (models, models_procedural, models_webhooks, models_context):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseModel) and obj.__module__ == module.__name__ and obj.__name__ in SCHEMAS:
                found[obj.__name__] = obj
    return found


def _kind(schema: dict[str, Any]) -> set[str]:
    """A coarse type of a property: the JSON types or schema names it allows, null aside."""
    if "anyOf" in schema:
        return set().union(*(_kind(s) for s in schema["anyOf"])) - {"null"}
    if "allOf" in schema:
        return set().union(*(_kind(s) for s in schema["allOf"]))
    if ref := _ref(schema):
        target = SCHEMAS.get(ref, {})
        return {target["type"]} if "enum" in target and "type" in target else {ref}
    kind = schema.get("type")
    if kind == "integer":
        return {"integer", "number"} if schema.get("x-number") else {"integer"}
    return {kind} if kind else {"any"}


def test_every_schema_the_sdk_uses_is_mirrored_field_by_field() -> None:
    models = _sdk_models()
    missing = sorted(n for n in SCHEMAS if n not in models and "enum" not in SCHEMAS[n])
    assert missing == [], f"schemas without an SDK model: {missing}"
    for name, model in models.items():
        doc = SCHEMAS[name]
        sdk = model.model_json_schema(ref_template="#/components/schemas/{model}")
        sdk_props, doc_props = sdk.get("properties", {}), doc.get("properties", {})
        assert set(sdk_props) == set(doc_props), name
        assert set(sdk.get("required", [])) == set(doc.get("required", [])), name
        for field, prop in doc_props.items():
            sdk_kind = {k.replace("contextiq_sdk.models.", "") for k in _kind(sdk_props[field])}
            assert sdk_kind == _kind(prop), f"{name}.{field}: SDK {sdk_kind} vs document {_kind(prop)}"


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        n: inspect.signature(f)
        for n, f in inspect.getmembers(cls, inspect.isfunction)
        if not n.startswith("_") or n in ("__init__",)
    }


@pytest.mark.parametrize(
    "resource",
    [
        "Sessions",
        "Events",
        "Memories",
        "Jobs",
        "procedural.Procedures",
        "procedural.Trajectories",
        "webhooks.Webhooks",
        "context.Templates",
    ],
)
def test_async_client_has_the_same_surface_as_the_sync_client(resource: str) -> None:
    module, name = resource.split(".") if "." in resource else ("client", resource)
    sync_module, async_module = {
        "procedural": (procedural, aprocedural),
        "webhooks": (webhooks, awebhooks),
        "context": (context, acontext),
    }.get(module, (client, aclient))
    sync, asyn = _public_methods(getattr(sync_module, name)), _public_methods(getattr(async_module, name))
    assert sync.keys() == asyn.keys()
    for name in sync:
        assert list(sync[name].parameters) == list(asyn[name].parameters), name
    assert list(inspect.signature(Client).parameters) == list(inspect.signature(AsyncClient).parameters)


def test_both_clients_have_the_same_top_level_methods() -> None:
    sync, asyn = _public_methods(Client), _public_methods(AsyncClient)
    assert {n for n in sync if n not in ("close",)} == {n for n in asyn if n not in ("close",)}
    for name in sync:
        assert list(sync[name].parameters) == list(asyn[name].parameters), name


def test_generation_policies_have_the_same_surface_sync_and_async() -> None:
    sync, asyn = _public_methods(policies.GenerationPolicies), _public_methods(policies.AsyncGenerationPolicies)
    assert sync.keys() == asyn.keys()
    for name in sync:
        assert list(sync[name].parameters) == list(asyn[name].parameters), name


def test_every_route_is_called_by_a_client_method() -> None:
    source = (
        inspect.getsource(client)
        + inspect.getsource(procedural)
        + inspect.getsource(webhooks)
        + inspect.getsource(context)
        + inspect.getsource(policies)
    )
    uncalled = [name for name in ROUTES if f'"{name}"' not in source]
    assert uncalled == []
