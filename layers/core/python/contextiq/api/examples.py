"""Examples for the OpenAPI document: one per request body and per success answer (issue 11).

Keyed by component schema name; :func:`contextiq.api.openapi.finish` sets them (over a model's own, see
:func:`add_examples`; a name not in the document is unused). ``<Item>Page`` is built from its item's.
tests/unit/test_openapi_doc.py checks that every request body and every JSON success answer has one and
that each validates against its schema; tests/integration/test_openapi_agreement.py sends each request
example to the server.
"""

from __future__ import annotations

from typing import Any

T0 = "2026-11-30T12:00:00.000Z"
T1 = "2026-11-30T12:05:00.000Z"
SESSION_ID = "01JD8X9Q3T9V6G8J2K4M5N7P8R"
EVENT_ID = "01JD8XA2B7C4D5E6F7G8H9J0KM"
MEMORY_ID = "01JD8XB3C8D5E6F7G8H9J0KMNP"
PROCEDURE_ID = "01JD8XC4D9E6F7G8H9J0KMNPQR"
TRAJECTORY_ID = "01JD8XD5E0F7G8H9J0KMNPQRST"
JOB_ID = "01JD8XE6F1G8H9J0KMNPQRSTVW"
WEBHOOK_ID = "01JD8XF7G2H9J0KMNPQRSTVWXY"
TEMPLATE_ID = "01JD8XG8H3J0KMNPQRSTVWXYZ0"
SCOPE = {"user_id": "alice"}
STEPS = [
    {"instruction": "Search flights for the dates given", "tool": "flights.search", "arguments": {"cabin": "economy"}},
    {"instruction": "Book the cheapest flight with an aisle seat", "tool": "flights.book", "expected": "a booking id"},
]
PARAMETERS = [{"name": "destination", "description": "IATA code of the destination", "required": True}]
OUTCOME = {"status": "success", "reward": 1.0, "feedback": "booked on the first try"}

_EVENT = {
    "id": EVENT_ID,
    "session_id": SESSION_ID,
    "seq": 1,
    "author": "user",
    "role": "user",
    "content": {"text": "Hi, I am Alice. I prefer aisle seats."},
    "timestamp": T0,
    "metadata": {},
}
_MEMORY = {
    "id": MEMORY_ID,
    "scope": SCOPE,
    "fact": "Alice prefers aisle seats",
    "topics": ["travel"],
    "metadata": {},
    "create_time": T0,
    "update_time": T0,
    "event_time": T0,
    "expire_time": None,
    "source": {"session_id": SESSION_ID, "event_ids": [EVENT_ID]},
    "version": 1,
}
_PROCEDURE = {
    "id": PROCEDURE_ID,
    "scope": SCOPE,
    "kind": "workflow",
    "name": "Book a flight",
    "description": "Find and book a flight the user will accept",
    "steps": STEPS,
    "parameters": PARAMETERS,
    "topics": ["travel"],
    "metadata": {},
    "status": "active",
    "status_reason": None,
    "pitfalls": [{"note": "Window seats were refused", "time": T0, "trajectory_id": TRAJECTORY_ID}],
    "provenance": {"trajectory_ids": [TRAJECTORY_ID], "event_ids": []},
    "stats": {"uses": 3, "successes": 2, "failures": 1, "success_rate": 0.667, "last_used_time": T1},
    "create_time": T0,
    "update_time": T1,
    "expire_time": None,
    "version": 2,
}
_TRAJECTORY = {
    "id": TRAJECTORY_ID,
    "scope": SCOPE,
    "task": "Book a flight to Lisbon",
    "session_id": SESSION_ID,
    "steps": [
        {
            "thought": "Search first",
            "tool": "flights.search",
            "arguments": {"to": "LIS"},
            "observation": "3 flights",
            "event_ids": [EVENT_ID],
        }
    ],
    "outcome": OUTCOME,
    "metadata": {},
    "event_ids": [EVENT_ID],
    "create_time": T0,
    "expire_time": None,
}
_TEMPLATE = {
    "id": TEMPLATE_ID,
    "name": "greeting",
    "description": "Greets the user by name",
    "body": "Hello {{ name }}!",
    "variables": [{"name": "name", "description": "the user's name", "required": True}],
    "metadata": {},
    "builtin": False,
    "create_time": T0,
    "update_time": T0,
    "expire_time": None,
    "version": 1,
}
_WEBHOOK = {
    "id": WEBHOOK_ID,
    "url": "https://hooks.example.com/contextiq",
    "events": ["memory.created", "memory.updated"],
    "create_time": T0,
}
_JOB = {
    "id": JOB_ID,
    "kind": "memories",
    "status": "SUCCEEDED",
    "scope": SCOPE,
    "result": {
        "added": 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "memory_ids": [MEMORY_ID],
        "procedure_ids": [],
    },
    "error": None,
    "create_time": T0,
    "update_time": T1,
}

EXAMPLES: dict[str, Any] = {
    # request bodies
    "EventSearchRequest": {"user_id": "alice", "query": "seat preference", "top_k": 5, "mode": "hybrid"},
    "Feedback": {"outcome": "success", "session_id": SESSION_ID, "note": "the user accepted the booking"},
    "ProcedureCreate": {
        "scope": SCOPE,
        "kind": "workflow",
        "name": "Book a flight",
        "description": "Find and book a flight the user will accept",
        "steps": STEPS,
        "parameters": PARAMETERS,
        "topics": ["travel"],
    },
    "ProcedureGenerateRequest": {"scope": SCOPE, "trajectory_ids": [TRAJECTORY_ID], "wait_seconds": 0},
    "ProcedurePatch": {"status": "deprecated"},
    "ProcedureSearchRequest": {"scope": SCOPE, "query": "book a flight", "top_k": 3, "mode": "hybrid"},
    "RecallRequest": {"scope": SCOPE, "query": "where does Alice like to sit?", "top_k": 5},
    "TemplatePatch": {"body": "Hello {{ name }}, welcome back!"},
    "TrajectoryCreate": {
        "scope": SCOPE,
        "task": "Book a flight to Lisbon",
        "steps": [{"thought": "Search first", "tool": "flights.search", "arguments": {"to": "LIS"}}],
        "outcome": {"status": "success"},
    },
    "TrajectorySearchRequest": {"scope": SCOPE, "query": "flight booking", "top_k": 3},
    "WebhookCreate": {"url": "https://hooks.example.com/contextiq", "events": ["memory.created", "memory.updated"]},
    # answers
    "Event": _EVENT,
    "Memory": _MEMORY,
    "Procedure": _PROCEDURE,
    "Trajectory": _TRAJECTORY,
    "Template": _TEMPLATE,
    "Webhook": _WEBHOOK,
    "WebhookCreated": {**_WEBHOOK, "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "Job": _JOB,
    "JobAccepted": {"job_id": JOB_ID, "status": "PENDING"},
    "Revision": {
        "revision_id": "01JD8XH9J4K0MNPQRSTVWXYZ01",
        "memory_id": MEMORY_ID,
        "action": "UPDATED",
        "fact": "Alice prefers aisle seats",
        "previous_fact": "Alice prefers window seats",
        "actor": "key:ka",
        "source": None,
        "time": T1,
        "version": 2,
    },
    "ProcedureRevision": {
        "revision_id": "01JD8XJ0K5M1NPQRSTVWXYZ012",
        "procedure_id": PROCEDURE_ID,
        "action": "CREATED",
        "actor": "key:ka",
        "name": _PROCEDURE["name"],
        "description": _PROCEDURE["description"],
        "steps": STEPS,
        "parameters": PARAMETERS,
        "status": "active",
        "provenance": None,
        "reason": None,
        "time": T0,
        "version": 1,
    },
    "TemplateVersion": {**_TEMPLATE, "action": "CREATED", "actor": "key:ka"},
    "Delivery": {
        "id": "01JD8XK1M6N2PQRSTVWXYZ0123",
        "webhook_id": WEBHOOK_ID,
        "event_type": "memory.created",
        "resource": "memory",
        "resource_id": MEMORY_ID,
        "version": 1,
        "status": "DELIVERED",
        "attempts": 1,
        "last_status_code": 204,
        "last_error": None,
        "create_time": T0,
        "update_time": T0,
    },
    "SearchResponse": {"results": [{"memory": _MEMORY, "score": 0.82}]},
    "EventSearchResponse": {"results": [{"event": _EVENT, "score": 0.74}]},
    "ProcedureSearchResponse": {"results": [{"procedure": _PROCEDURE, "score": 0.9}]},
    "TrajectorySearchResponse": {"results": [{"trajectory": _TRAJECTORY, "score": 0.77}]},
    # generation policies (a stored app policy: the request's fields and its own)
    "AppGenerationPolicy": {
        "app_name": "travel",
        "every_n_events": 20,
        "idle_seconds": 600,
        "on_session_delete": True,
        "scope_template": {"app": "{app_name}", "user_id": "{user_id}"},
        "topics": ["USER_PREFERENCES"],
        "create_time": T0,
        "update_time": T0,
        "version": 1,
    },
    # context assembly
    "ContextResponse": {
        "text": "What you know about the user:\n- Alice prefers aisle seats\n\nRecent turns:\nuser: Book me a flight",
        "token_estimate": 24,
        "truncated": False,
        "omitted": {"memories": 0},
        "sections": {
            "recent_events": [
                {
                    "id": EVENT_ID,
                    "session_id": SESSION_ID,
                    "seq": 1,
                    "author": "user",
                    "role": "user",
                    "text": "Book me a flight",
                    "timestamp": T0,
                    "score": None,
                }
            ],
            "memories": [
                {
                    "id": MEMORY_ID,
                    "text": "Alice prefers aisle seats",
                    "score": 0.82,
                    "topics": ["travel"],
                    "event_time": T0,
                    "metadata": {},
                }
            ],
            "events": [],
            "procedures": [],
        },
        "template": {"id": "default", "version": 1},
        "query": "Book me a flight",
        "scope": SCOPE,
    },
    "RecallResponse": {
        "results": [
            {"type": "memory", "score": 0.82, "memory": _MEMORY, "event": None},
            {"type": "event", "score": 0.61, "memory": None, "event": _EVENT},
        ],
        "after": None,
        "before": None,
    },
}


def add_examples(schemas: dict[str, Any]) -> None:
    """Set each schema's example from EXAMPLES (it wins over a model's own: a subclass inherits its
    parent's ``examples``, which may lack its own required fields); ``<Item>Page`` without examples gets
    a page of its item's."""
    for name, schema in schemas.items():
        if name in EXAMPLES:
            schema["examples"] = [EXAMPLES[name]]
    for name, schema in schemas.items():
        item = schemas.get(name.removesuffix("Page")) if name.endswith("Page") else None
        if item is not None and item.get("examples") and not schema.get("examples"):
            schema["examples"] = [{"items": [item["examples"][0]], "next_token": None}]
