"""Write sample Lambda events under events/<function>/ (API Gateway REST proxy and SQS).

They work with `scripts/invoke.py FUNCTION EVENT.json` and with
`sam local invoke -t cdk.out/ContextIQ-<stage>.template.json <LogicalId> -e EVENT.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "events"
API_KEY = "local-demo-key"
SESSION_ID = "01KAEXAMPLESESSION00000000"
MEMORY_ID = "01KAEXAMPLEMEMORY000000000"
JOB_ID = "01KAEXAMPLEJOB000000000000"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/memories/stream/2026-11-21T00:00:00.000"


def api_event(
    method: str,
    resource: str,
    path_params: dict[str, str],
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    path = resource
    for key, value in path_params.items():
        path = path.replace("{" + key + "}", value)
    all_headers = {
        "x-api-key": API_KEY,
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    if body is not None:
        all_headers["content-type"] = "application/json"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {
                "apiKey": API_KEY,
                "apiKeyId": "k1a2b3c4d5",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestTimeEpoch": 1763740800000,
            "protocol": "HTTP/1.1",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


MEMORY = {"memory_id": MEMORY_ID}
SCOPE = {"user_id": "u1", "app": "travel"}


def sqs_event(body: dict[str, Any], queue: str, fifo: bool = False, receive_count: int = 1) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": "1763740800000",
        "SenderId": "AROAEXAMPLE:contextiq-jobs",
        "ApproximateFirstReceiveTimestamp": "1763740800100",
    }
    if fifo:
        attributes |= {
            "MessageGroupId": "5f0c0b7e",
            "MessageDeduplicationId": f"{JOB_ID}-0",
            "SequenceNumber": "18849496460467696128",
        }
    return {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": json.dumps(body),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def stream_event(event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1763740800,
        "Keys": {"pk": {"S": f"T#default#M#{MEMORY_ID}"}, "sk": {"S": "MEMORY"}},
        "SequenceNumber": "111",
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new:
        data["NewImage"] = new
    if old:
        data["OldImage"] = old
    return {
        "Records": [
            {
                "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": data,
                "eventSourceARN": STREAM_ARN,
            }
        ]
    }


def memory_image(version: int, fact: str, deleted: bool = False) -> dict[str, Any]:
    import base64
    import struct

    dims = 384  # MiniLM, the local default embedder (the indexer indexes stored vectors as they are)
    vector = struct.pack(f"<{dims}f", *([dims**-0.5] * dims))
    image: dict[str, Any] = {
        "pk": {"S": f"T#default#M#{MEMORY_ID}"},
        "sk": {"S": "MEMORY"},
        "tenant": {"S": "default"},
        "id": {"S": MEMORY_ID},
        "scope": {"S": json.dumps(SCOPE)},
        "scope_key": {"S": "example"},
        "fact": {"S": fact},
        "topics": {"L": [{"S": "USER_PREFERENCES"}]},
        "metadata": {"S": "{}"},
        "create_time": {"S": "2026-11-21T10:00:00.000Z"},
        "update_time": {"S": "2026-11-21T10:05:00.000Z"},
        "version": {"N": str(version)},
        "embedding_model": {"S": "sentence-transformers/all-MiniLM-L6-v2"},
    }
    if deleted:
        image["deleted_time"] = {"S": "2026-11-21T10:05:00.000Z"}
    else:
        image["vector"] = {"B": base64.b64encode(vector).decode()}
    return image


SESSION = {"session_id": SESSION_ID}
EVENTS: dict[str, dict[str, dict[str, Any]]] = {
    "sessions": {
        "create_session": api_event(
            "POST",
            "/v1/sessions",
            {},
            {"user_id": "u1", "app_name": "travel", "state": {"step": 1}},
            headers={"Idempotency-Key": "demo-create-1"},
        ),
        "list_sessions": api_event("GET", "/v1/sessions", {}, query={"user_id": "u1", "limit": "10"}),
        "get_session": api_event("GET", "/v1/sessions/{session_id}", SESSION),
        "delete_session": api_event("DELETE", "/v1/sessions/{session_id}", SESSION),
        "append_event": api_event(
            "POST",
            "/v1/sessions/{session_id}/events",
            SESSION,
            {
                "author": "user",
                "role": "user",
                "content": {"text": "I'm vegetarian and I live in Lyon."},
                "state_delta": {"step": 2},
            },
        ),
        "list_events": api_event(
            "GET", "/v1/sessions/{session_id}/events", SESSION, query={"after_seq": "0", "limit": "50"}
        ),
        "patch_state": api_event(
            "PATCH",
            "/v1/sessions/{session_id}/state",
            SESSION,
            {"set": {"theme": "dark"}, "remove": ["step"]},
            headers={"If-Match": '"1"'},
        ),
        "openapi": api_event("GET", "/openapi.json", {}),
    },
    "memories": {
        "create_memory": api_event(
            "POST",
            "/v1/memories",
            {},
            {"scope": SCOPE, "fact": "The user is vegetarian", "topics": ["USER_PREFERENCES"]},
        ),
        "list_memories": api_event("GET", "/v1/memories", {}, query={"scope.user_id": "u1", "scope.app": "travel"}),
        "get_memory": api_event("GET", "/v1/memories/{memory_id}", MEMORY),
        "patch_memory": api_event(
            "PATCH", "/v1/memories/{memory_id}", MEMORY, {"fact": "The user is vegan"}, headers={"If-Match": '"1"'}
        ),
        "delete_memory": api_event("DELETE", "/v1/memories/{memory_id}", MEMORY),
        "list_revisions": api_event("GET", "/v1/memories/{memory_id}/revisions", MEMORY),
        "search_memories": api_event(
            "POST", "/v1/memories/search", {}, {"scope": SCOPE, "query": "what food does the user avoid?", "top_k": 5}
        ),
    },
    "jobs": {
        "generate_from_facts": api_event(
            "POST", "/v1/memories/generate", {}, {"facts": ["The user is vegetarian"], "scope": SCOPE}
        ),
        "generate_from_events": api_event(
            "POST",
            "/v1/memories/generate",
            {},
            {
                "events": [{"author": "user", "role": "user", "text": "My name is Alice and I live in Lyon."}],
                "scope": SCOPE,
                "topics": ["USER_PERSONAL_INFO"],
            },
        ),
        "get_job": api_event("GET", "/v1/jobs/{job_id}", {"job_id": JOB_ID}),
    },
    "extraction": {
        "extract_job": sqs_event({"tenant": "default", "job_id": JOB_ID}, "ContextIQ-dev-ExtractionQueue"),
        "poison_last_delivery": sqs_event(
            {"tenant": "default", "job_id": JOB_ID}, "ContextIQ-dev-ExtractionQueue", receive_count=3
        ),
    },
    "consolidation": {
        "consolidate_part": sqs_event(
            {
                "tenant": "default",
                "job_id": JOB_ID,
                "part": 0,
                "scope": SCOPE,
                "session_id": None,
                "disable_consolidation": False,
                "candidates": [
                    {
                        "fact": "The user is vegetarian",
                        "topic": "USER_PREFERENCES",
                        "source_event_ids": ["01KAEXAMPLEEVENT0000000000"],
                    }
                ],
            },
            "ContextIQ-dev-ConsolidationQueue.fifo",
            fifo=True,
        ),
    },
    "indexer": {
        "memory_inserted": stream_event("INSERT", memory_image(1, "The user is vegetarian"), None),
        "memory_updated": stream_event(
            "MODIFY", memory_image(2, "The user is vegan"), memory_image(1, "The user is vegetarian")
        ),
        "memory_deleted": stream_event(
            "MODIFY", memory_image(3, "The user is vegan", deleted=True), memory_image(2, "The user is vegan")
        ),
        "memory_expired": stream_event("REMOVE", None, memory_image(2, "The user is vegan")),
    },
    "authorizer": {
        # API Gateway REQUEST authorizer input (payload of a REST API Lambda authorizer)
        "request": {
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/v1/sessions",
            "resource": "/v1/sessions",
            "path": "/v1/sessions",
            "httpMethod": "GET",
            "headers": {"x-api-key": "sample-key"},
            "queryStringParameters": {},
            "pathParameters": {},
            "stageVariables": {},
            "requestContext": {"stage": "dev", "requestId": "r-1", "apiId": "abc123", "httpMethod": "GET"},
        }
    },
    "sweeper": {
        # EventBridge "Scheduled Event" (the rule in infra/components/workers.py); the body is not read.
        "scheduled": {
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-01-01T00:10:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/ContextIQ-dev-JobSweeper"],
            "detail": {},
        }
    },
}

PROCEDURE_ID = "01KAEXAMPLEPROCEDURE000000"
TRAJECTORY_ID = "01KAEXAMPLETRAJECTORY00000"
PROCEDURE = {"procedure_id": PROCEDURE_ID}
FLIGHT_STEPS = [
    {
        "thought": "Search flights from Paris to Rome",
        "tool": "search_flights",
        "arguments": {"origin": "Paris", "destination": "Rome", "date": "2026-12-01"},
        "observation": "3 flights found. Cheapest: 89 EUR.",
    },
    {"tool": "book_flight", "arguments": {"fare": "cheapest"}, "observation": "Booked."},
]


def procedure_image(version: int, status: str = "active") -> dict[str, Any]:
    image = memory_image(version, "unused")
    for key in ("fact", "topics", "scope_key"):
        image.pop(key)
    steps = [{"instruction": "Search flights", "tool": "search_flights", "arguments": {"origin": "{origin}"}}]
    return image | {
        "pk": {"S": f"T#default#P#{PROCEDURE_ID}"},
        "sk": {"S": "PROCEDURE"},
        "id": {"S": PROCEDURE_ID},
        "kind": {"S": "workflow"},
        "name": {"S": "Book a flight from {origin}"},
        "description": {"S": "Use when the user wants a flight booked"},
        "steps": {"S": json.dumps(steps)},
        "parameters": {"S": json.dumps([{"name": "origin", "required": True}])},
        "status": {"S": status},
        "uses": {"N": "0"},
        "successes": {"N": "0"},
        "failures": {"N": "0"},
    }


def trajectory_image() -> dict[str, Any]:
    image = memory_image(1, "unused")
    for key in ("fact", "topics", "scope_key", "update_time", "version"):
        image.pop(key)
    return image | {
        "pk": {"S": f"T#default#TR#{TRAJECTORY_ID}"},
        "sk": {"S": "TRAJECTORY"},
        "id": {"S": TRAJECTORY_ID},
        "task": {"S": "Book a flight from Paris to Rome"},
        "steps": {"S": json.dumps(FLIGHT_STEPS)},
        "outcome": {"S": json.dumps({"status": "success"})},
    }


EVENTS["procedures"] = {
    "create_procedure": api_event(
        "POST",
        "/v1/procedures",
        {},
        {
            "scope": SCOPE,
            "kind": "workflow",
            "name": "Book a flight",
            "description": "Use when the user wants a flight booked between two cities",
            "steps": [
                {"instruction": "Search flights", "tool": "search_flights", "arguments": {"origin": "{origin}"}},
                {"instruction": "Book the cheapest one", "tool": "book_flight", "expected": "a confirmation"},
            ],
            "parameters": [{"name": "origin", "description": "departure city"}],
        },
        headers={"Idempotency-Key": "demo-procedure-1"},
    ),
    "get_procedure": api_event("GET", "/v1/procedures/{procedure_id}", PROCEDURE),
    "get_procedure_markdown": api_event(
        "GET", "/v1/procedures/{procedure_id}", PROCEDURE, headers={"Accept": "text/markdown"}
    ),
    "list_procedures": api_event(
        "GET", "/v1/procedures", {}, query={"scope.user_id": "u1", "scope.app": "travel", "status": "active"}
    ),
    "patch_procedure": api_event(
        "PATCH",
        "/v1/procedures/{procedure_id}",
        PROCEDURE,
        {"name": "Book a cheap flight"},
        headers={"If-Match": '"1"'},
    ),
    "delete_procedure": api_event("DELETE", "/v1/procedures/{procedure_id}", PROCEDURE),
    "list_procedure_revisions": api_event("GET", "/v1/procedures/{procedure_id}/revisions", PROCEDURE),
    "procedure_feedback": api_event(
        "POST", "/v1/procedures/{procedure_id}/feedback", PROCEDURE, {"outcome": "failure", "note": "API changed"}
    ),
    "search_procedures": api_event(
        "POST", "/v1/procedures/search", {}, {"scope": SCOPE, "query": "I need a plane ticket", "top_k": 3}
    ),
    "generate_procedures": api_event(
        "POST", "/v1/procedures/generate", {}, {"scope": SCOPE, "trajectory_ids": [TRAJECTORY_ID]}
    ),
    "create_trajectory": api_event(
        "POST",
        "/v1/trajectories",
        {},
        {
            "scope": SCOPE,
            "task": "Book a flight from Paris to Rome",
            "steps": FLIGHT_STEPS,
            "outcome": {"status": "success"},
        },
    ),
    "get_trajectory": api_event("GET", "/v1/trajectories/{trajectory_id}", {"trajectory_id": TRAJECTORY_ID}),
    "list_trajectories": api_event("GET", "/v1/trajectories", {}, query={"scope.user_id": "u1", "scope.app": "travel"}),
    "search_trajectories": api_event("POST", "/v1/trajectories/search", {}, {"scope": SCOPE, "query": "book a flight"}),
    "delete_trajectory": api_event("DELETE", "/v1/trajectories/{trajectory_id}", {"trajectory_id": TRAJECTORY_ID}),
}
EVENTS["procedure_learning"] = {
    "learn_job": sqs_event(
        {"tenant": "default", "job_id": JOB_ID}, "ContextIQ-dev-ProcedureLearningQueue.fifo", fifo=True
    ),
}
EVENTS["procedure_indexer"] = {
    "procedure_inserted": stream_event("INSERT", procedure_image(1), None),
    "procedure_deprecated": stream_event("MODIFY", procedure_image(2, "deprecated"), procedure_image(1)),
    "trajectory_inserted": stream_event("INSERT", trajectory_image(), None),
    "trajectory_deleted": stream_event("REMOVE", None, trajectory_image()),
}

EVENTS["memories"]["assemble_context"] = api_event(
    "POST", "/v1/context", {}, {"session_id": SESSION_ID, "max_tokens": 1500, "memories": 5}
)
EVENTS["memories"]["assemble_context_inline_template"] = api_event(
    "POST",
    "/v1/context",
    {},
    {"scope": {"user_id": "u1"}, "query": "where does the user live?", "max_tokens": 400,
     "template": "{% for m in memories %}{{ m.text }}\n{% endfor %}"},
)  # fmt: skip
TEMPLATE = {"template_id": "01KAEXAMPLETEMPLATE0000000"}
TEMPLATE_BODY = "{% if memories %}Known about {{ customer }}:\n{{ memories | bullet_list('text') }}\n{% endif %}"
EVENTS["templates"] = {
    "create_template": api_event(
        "POST",
        "/v1/templates",
        {},
        {"name": "support", "body": TEMPLATE_BODY, "variables": [{"name": "customer", "default": "the customer"}]},
        headers={"Idempotency-Key": "create-template-1"},
    ),
    "list_templates": api_event("GET", "/v1/templates", {}, query={"limit": "10"}),
    "get_template": api_event("GET", "/v1/templates/{template_id}", TEMPLATE),
    "get_template_version": api_event("GET", "/v1/templates/{template_id}", TEMPLATE, query={"version": "1"}),
    "get_default_template": api_event("GET", "/v1/templates/{template_id}", {"template_id": "default"}),
    "patch_template": api_event(
        "PATCH", "/v1/templates/{template_id}", TEMPLATE, {"description": "v2"}, headers={"If-Match": '"1"'}
    ),
    "delete_template": api_event("DELETE", "/v1/templates/{template_id}", TEMPLATE),
    "list_template_versions": api_event("GET", "/v1/templates/{template_id}/versions", TEMPLATE),
}
SESSION = {"session_id": SESSION_ID}
POLICY = {"every_n_events": 20, "idle_seconds": 600, "on_session_delete": True, "topics": ["USER_PREFERENCES"]}
EVENTS["sessions"] |= {
    "put_generation_policy": api_event("PUT", "/v1/generation-policies/{app_name}", {"app_name": "travel"}, POLICY),
    "list_generation_policies": api_event("GET", "/v1/generation-policies", {}),
    "patch_session": api_event(
        "PATCH", "/v1/sessions/{session_id}", SESSION, {"generation_policy": {"every_n_events": 10}}
    ),
}
EVENTS["jobs"]["list_jobs"] = api_event("GET", "/v1/jobs", {}, query={"session_id": SESSION_ID})


def session_image(last_seq: int) -> dict[str, Any]:
    """The sessions table's SESSION item, as the generation policy's stream consumer sees it."""
    plain = {"tenant": "default", "id": SESSION_ID, "user_id": "u1", "app_name": "travel", "state": "{}"}
    plain |= {"metadata": "{}", "create_time": "2026-11-21T10:00:00.000Z", "update_time": "2026-11-21T10:05:00.000Z"}
    plain |= {"generation_policy": json.dumps({"every_n_events": 5, "idle_seconds": 600})}
    image: dict[str, Any] = {k: {"S": v} for k, v in plain.items()}
    image |= {"pk": {"S": f"T#default#S#{SESSION_ID}"}, "sk": {"S": "SESSION"}}
    return image | {"version": {"N": str(last_seq + 1)}, "last_seq": {"N": str(last_seq)}}


appended = stream_event("MODIFY", session_image(5), session_image(4))
appended["Records"][0]["dynamodb"]["Keys"] = {"pk": {"S": f"T#default#S#{SESSION_ID}"}, "sk": {"S": "SESSION"}}
idle_check = {"tenant": "default", "session_id": SESSION_ID, "seq": 5, "due": "2026-11-21T10:15:00.000Z"}
EVENTS["generation_policy"] = {
    "session_appended": appended,
    "idle_check": sqs_event(idle_check, "ContextIQ-dev-GenerationIdleQueue"),
}


def main() -> None:
    for function, events in EVENTS.items():
        folder = ROOT / function
        folder.mkdir(parents=True, exist_ok=True)
        for name, event in events.items():
            (folder / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote {sum(len(e) for e in EVENTS.values())} events under {ROOT}")


if __name__ == "__main__":
    main()
