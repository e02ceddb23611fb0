import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_is_current() -> None:
    spec = importlib.util.spec_from_file_location("export_openapi", ROOT / "scripts" / "export_openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert committed == module.render(), "docs/openapi.json is stale: run `make openapi`"


def _operations() -> list[tuple[str, str, dict]]:
    from contextiq.api.openapi import full_openapi

    doc = full_openapi()
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_every_operation_has_a_readable_id_summary_description_and_problem_errors() -> None:
    ops = _operations()
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids))
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        assert op["operationId"][0].islower() and "_" not in op["operationId"], where
        assert op.get("summary") and op.get("description"), where
        for status in ("400", "403", "422", "429", "500"):
            assert status in op["responses"], (where, status)
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert set(response["content"]) == {"application/problem+json"}, (where, status)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }


def test_document_states_headers_scope_parameters_and_key_constraints() -> None:
    from contextiq.api.openapi import full_openapi

    doc = full_openapi()
    text = json.dumps(doc)
    assert "patternProperties" not in text  # propertyNames says what keys may be
    create = doc["paths"]["/v1/memories"]["post"]
    assert set(create["responses"]["201"]["headers"]) >= {"ETag", "Location"}
    assert create["responses"]["201"]["links"]["GetMemory"]["operationId"] == "getMemory"
    headers = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["schema"]["pattern"]
    patch = doc["paths"]["/v1/memories/{memory_id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["schema"]["type"] == "string" and if_match["schema"]["pattern"]
    listing = doc["paths"]["/v1/memories"]["get"]
    scope = next(p for p in listing["parameters"] if p["name"] == "scope")
    assert scope["style"] == "form" and scope["explode"] is True
    assert scope["schema"]["minProperties"] == 1 and scope["schema"]["maxProperties"] == 8
    memory_scope = doc["components"]["schemas"]["MemoryCreate"]["properties"]["scope"]
    assert memory_scope["propertyNames"]["pattern"] and memory_scope["minProperties"] == 1
    # text or parts; exactly one source (inside allOf, so a generated SDK keeps the model: see api.openapi)
    assert doc["components"]["schemas"]["EventContent"]["allOf"][0]["anyOf"]
    assert len(doc["components"]["schemas"]["GenerateRequest"]["allOf"][0]["oneOf"]) == 3
    assert doc["components"]["schemas"]["SessionCreate"]["examples"]


def _body_schemas(doc: dict) -> list[tuple[str, str]]:
    """(where, component name) of every request body and JSON success answer."""
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            bodies = [("request", op.get("requestBody", {}).get("content", {}).get("application/json"))]
            bodies += [
                (status, response.get("content", {}).get("application/json"))
                for status, response in op["responses"].items()
                if status[0] == "2"
            ]
            for where, content in bodies:
                if content is not None:
                    ref = content["schema"].get("$ref", "")
                    assert ref, f"{method.upper()} {path} {where}: an inline schema"
                    found.append((f"{method.upper()} {path} {where}", ref.rsplit("/", 1)[-1]))
    return found


def test_every_request_and_answer_has_an_example_that_its_schema_accepts() -> None:
    from jsonschema import Draft202012Validator

    from contextiq.api.openapi import full_openapi

    doc = full_openapi()
    schemas = doc["components"]["schemas"]
    for where, name in _body_schemas(doc):
        examples = schemas[name].get("examples")
        assert examples, f"{where}: {name} has no example (contextiq/api/examples.py)"
        root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for example in examples:
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(example)]
            assert not errors, (where, name, errors)
