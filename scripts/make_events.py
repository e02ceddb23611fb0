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
