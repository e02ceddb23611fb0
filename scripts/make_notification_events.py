"""Write the sample events of the change-notification functions under events/ (notifier: stream records of
the memories and jobs tables; webhook_delivery: an SQS FIFO message; webhooks: API Gateway requests).

Built with the helpers of scripts/make_events.py, so they have the same shape as the other samples and
work with `scripts/invoke.py FUNCTION EVENT.json`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_events", HERE / "make_events.py")
assert _spec is not None
assert _spec.loader is not None
make_events = importlib.util.module_from_spec(_spec)
sys.modules["make_events"] = make_events
_spec.loader.exec_module(make_events)

WEBHOOK_ID = "01KAEXAMPLEWEBHOOK00000000"
HOOK = {"webhook_id": WEBHOOK_ID}


def job_image(status: str, **extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "pk": {"S": f"T#default#J#{make_events.JOB_ID}"},
        "sk": {"S": "JOB"},
        "tenant": {"S": "default"},
        "id": {"S": make_events.JOB_ID},
        "status": {"S": status},
        "scope": {"S": json.dumps({"user_id": "u1"})},
        "spec": {"S": json.dumps({"kind": "memories", "session_id": make_events.SESSION_ID})},
        "create_time": {"S": "2026-11-21T10:00:00.000Z"},
        "update_time": {"S": "2026-11-21T10:00:05.000Z"},
        **extra,
    }


def delivery_message() -> dict[str, Any]:
    event = {
        "spec_version": "1",
        "id": "evt_3f2a9c0d7b1e4a5f8c6d2e1b0a9f8e7d",
        "type": "memory.created",
        "time": "2026-11-21T10:05:00Z",
        "tenant": "default",
        "scope": make_events.SCOPE,
        "resource": "memory",
        "resource_id": make_events.MEMORY_ID,
        "action": "created",
        "version": 1,
        "data": {"fact": "The user is vegetarian", "topics": ["USER_PREFERENCES"]},
    }
    message = make_events.sqs_event(
        {"tenant": "default", "webhook_id": WEBHOOK_ID, "event": event},
        "contextiq-dev-webhook-delivery.fifo",
        fifo=True,
    )
    message["Records"][0]["attributes"]["MessageGroupId"] = f"{WEBHOOK_ID}:memory:{make_events.MEMORY_ID}"
    return message


indexer = make_events.EVENTS["indexer"]
EVENTS: dict[str, dict[str, dict[str, Any]]] = {
    "notifier": {
        "memory_created": indexer["memory_inserted"],
        "memory_updated": indexer["memory_updated"],
        "memory_deleted": indexer["memory_deleted"],
        "job_succeeded": make_events.stream_event(
            "MODIFY",
            job_image("SUCCEEDED", added={"N": "2"}, memory_ids={"SS": [make_events.MEMORY_ID]}),
            job_image("RUNNING"),
        ),
    },
    "webhook_delivery": {"deliver_memory_created": delivery_message()},
    "webhooks": {
        "list_webhooks": make_events.api_event("GET", "/v1/webhooks", {}),
        "get_webhook": make_events.api_event("GET", "/v1/webhooks/{webhook_id}", HOOK),
        "delete_webhook": make_events.api_event("DELETE", "/v1/webhooks/{webhook_id}", HOOK),
        "list_deliveries": make_events.api_event("GET", "/v1/webhooks/{webhook_id}/deliveries", HOOK),
    },
}


def main() -> None:
    for function, events in EVENTS.items():
        folder = make_events.ROOT / function
        folder.mkdir(parents=True, exist_ok=True)
        for name, event in events.items():
            (folder / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote {sum(len(e) for e in EVENTS.values())} events under {make_events.ROOT}")


if __name__ == "__main__":
    main()
