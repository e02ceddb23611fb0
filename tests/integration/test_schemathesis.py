"""Schemathesis over every operation of the API, in process on moto (issue 11).

Positive and negative data for each operation, then the stateful links (create -> get/patch/delete...),
with a fixed seed (derandomized) and a small example budget so it fits the suite. Every check runs: no
5xx, status codes, content types, headers and bodies conform to the document, schema-valid requests
are accepted and schema-invalid ones refused. The operations come from the served document, so routes
added later are covered without editing this file.

Uses the schemathesis 4 Python API (``schemathesis.openapi.from_asgi``, ``APIOperation.as_strategy``,
``Case.call_and_validate``, ``BaseOpenAPISchema.as_state_machine``): see
https://schemathesis.readthedocs.io/en/stable/guides/hypothesis-strategies/ and
https://schemathesis.readthedocs.io/en/stable/guides/stateful-testing/.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.conftest import TENANT_A_KEY

pytestmark = pytest.mark.xdist_group("schemathesis")

EXAMPLES = 20  # per operation and generation mode (~2 x 12 s on an idle 2-core machine)
STATEFUL_EXAMPLES = 30  # sequences of up to STATEFUL_STEPS calls each
STATEFUL_STEPS = 8
KEYS = itertools.count()
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
TIME_FIELDS = ("after", "before", "timestamp", "event_time")
WEBHOOK_URL = "https://hooks.example.test/schemathesis"


def _stateless(case: Any) -> None:
    """What depends on earlier requests or on the network, not on the schema: only a page token the API
    issued for this listing is valid, a key reused with another body is a 422 by design, and a webhook's
    URL must be https (in the cloud; the local runtime also takes http) on a host that resolves to public
    addresses (all tested in their own files). A webhook's URL is replaced by one that does. A context
    request's `variables` must be declared by its template (a stored one, or the default): dropped."""
    if case.query:
        case.query.pop("next_token", None)
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"st-{next(KEYS)}"
    if case.path == "/v1/webhooks" and isinstance(case.body, dict) and "url" in case.body:
        case.body["url"] = WEBHOOK_URL
    if case.path == "/v1/context" and isinstance(case.body, dict):
        # What a template accepts depends on the template, not on this schema: the variables it declares,
        # an inline body that compiles, and its own text within max_tokens (test_context_api.py tests them).
        case.body.pop("variables", None)
        case.body.pop("template", None)
        if isinstance(case.body.get("max_tokens"), int | float):
            case.body["max_tokens"] = max(case.body["max_tokens"], 1000)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _cross_field(body: Any) -> None:
    """Make a schema-valid body obey the rules JSON Schema cannot state, since they compare two values
    (each field's description says its rule, and the server's 422 names the field). Only these:

    - `before` later than `after` (memory, event and recall search);
    - `before_seq` greater than `after_seq` + 1 (trajectories);
    - `remove` keys not also in `set` (PATCH state);
    - procedure parameter names and template variable names unique;
    - a metadata filter's `gte` not above its `lte`;
    - a time whose UTC form stays within years 1-9999 (``0001-01-01T00:00:00+14:00`` is refused).
    """
    if isinstance(body, list):
        for item in body:
            _cross_field(item)
        return
    if not isinstance(body, dict):
        return
    for name in TIME_FIELDS:
        try:
            _utc(body.get(name))
        except (OverflowError, ValueError):
            body[name] = "2026-01-01T00:00:00Z"
    after, before = _utc(body.get("after")), _utc(body.get("before"))
    if after is not None and before is not None and after >= before:
        body.pop("before")
    after_seq, before_seq = body.get("after_seq"), body.get("before_seq")
    # 5.0 is an integer to JSON Schema (and to the server)
    if isinstance(after_seq, int | float) and isinstance(before_seq, int | float) and before_seq <= after_seq + 1:
        body.pop("before_seq")
    if isinstance(body.get("set"), dict) and isinstance(body.get("remove"), list):
        body["remove"] = [key for key in body["remove"] if key not in body["set"]]
    for named in ("parameters", "variables"):
        if isinstance(body.get(named), list):
            seen: set[Any] = set()
            body[named] = [
                p
                for p in body[named]
                if not (isinstance(p, dict) and (p.get("name") in seen or seen.add(p.get("name"))))
            ]
    low, high = body.get("gte"), body.get("lte")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        body["gte"], body["lte"] = high, low
    for value in body.values():
        _cross_field(value)


def _prepare(case: Any) -> None:
    _stateless(case)
    _cross_field(case.body)


@pytest.fixture
def schema(container) -> Any:  # type: ignore[no-untyped-def]
    from contextiq.api.app import create_app

    # No workers run here: a generate request's wait_seconds would only wait.
    generation = container.generation
    generation.wait = lambda tenant, job_id, seconds: generation.get(tenant, job_id)
    # No DNS here: the webhook URL (see _stateless) resolves to a public address, every other rule holds.
    from contextiq.stores.webhook_http import check_url

    public = ["93.184.216.34"]
    container.webhooks._check = lambda url, allow_local: check_url(url, allow_local, lambda host, port: public)
    # Tenant A's key through the document's own security scheme (`ApiKey`), so schemathesis sends it
    # with every request except the negative ones that leave it out on purpose.
    # A schema-valid If-Match that is not the current version is a 412 by design (RFC 9110 section 13.1.1).
    accepted = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
    config = SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"ApiKey": {"api_key": TENANT_A_KEY}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
        }
    )
    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app(container), config=config)
    loaded.config.generation.update(max_examples=EXAMPLES)
    return loaded


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation(schema, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    from contextiq.api.openapi import full_openapi

    operations = [result.ok() for result in schema.get_all_operations()]
    documented = sum(len(item) for item in full_openapi()["paths"].values())
    assert len(operations) == documented
    failures: list[str] = []
    for operation in operations:

        @SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            if mode is GenerationMode.POSITIVE:
                _prepare(case)
            case.call_and_validate()

        try:
            check()
        except Exception as err:  # every operation runs; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")
    assert not failures, "\n\n".join(failures)


def test_stateful_links(schema) -> None:  # type: ignore[no-untyped-def]
    machine = schema.as_state_machine()

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            _prepare(case)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
