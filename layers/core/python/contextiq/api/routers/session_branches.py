"""/v1/sessions/{session_id}/checkpoints and /fork: checkpoints and forks of a session (sessions function)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant, etag
from contextiq.api.responses import respond, stored
from contextiq.models.checkpoints import Checkpoint, CheckpointCreate, ForkCreate
from contextiq.models.common import Page
from contextiq.models.sessions import Session

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
CHECKPOINT_LINKS = {
    "getCheckpoint": {
        "session_id": "$response.body#/session_id",
        "checkpoint_id": "$response.body#/checkpoint_id",
    },
    "forkSession": {"session_id": "$response.body#/session_id"},
    "deleteCheckpoint": {
        "session_id": "$response.body#/session_id",
        "checkpoint_id": "$response.body#/checkpoint_id",
    },
}


@router.post(
    "/{session_id}/checkpoints",
    response_model=Checkpoint,
    **operation(
        "createCheckpoint",
        "Checkpoint a session",
        "Records the session's state exactly as it is at its last `seq` (and `version`), to fork from later. "
        f"At most {limits.MAX_CHECKPOINTS_PER_SESSION} checkpoints per session (409 beyond); they expire "
        "and are deleted with their session.",
        status_code=201,
        errors=(404, 409),
        body=True,
        headers=("Location", "Idempotent-Replayed"),
        links=CHECKPOINT_LINKS,
    ),
)
def create_checkpoint(
    session_id: str, body: CheckpointCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        cp = c.branches.create_checkpoint(tenant, session_id, body)
        return stored(201, cp, {"Location": f"/v1/sessions/{session_id}/checkpoints/{cp.checkpoint_id}"})

    return respond(c, tenant, f"POST /v1/sessions/{session_id}/checkpoints", idempotency_key, body, action)


@router.get(
    "/{session_id}/checkpoints",
    response_model=Page[Checkpoint],
    **operation(
        "listCheckpoints",
        "List a session's checkpoints",
        "Oldest first. Pass `next_token` from a page to get the next one.",
        errors=(404,),
    ),
)
def list_checkpoints(
    session_id: str,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Checkpoint]:
    items, token = c.branches.list_checkpoints(tenant, session_id, limit, next_token)
    return Page[Checkpoint](items=items, next_token=token)


@router.get(
    "/{session_id}/checkpoints/{checkpoint_id}",
    response_model=Checkpoint,
    **operation("getCheckpoint", "Get a checkpoint", "The checkpoint with the state it recorded.", errors=(404,)),
)
def get_checkpoint(session_id: str, checkpoint_id: str, tenant: Tenant, c: Services) -> Checkpoint:
    return c.branches.get_checkpoint(tenant, session_id, checkpoint_id)


@router.delete(
    "/{session_id}/checkpoints/{checkpoint_id}",
    **operation(
        "deleteCheckpoint",
        "Delete a checkpoint",
        "Forks already made from it are not affected.",
        status_code=204,
        errors=(404, 409),
    ),
)
def delete_checkpoint(session_id: str, checkpoint_id: str, tenant: Tenant, c: Services) -> Response:
    c.branches.delete_checkpoint(tenant, session_id, checkpoint_id)
    return Response(status_code=204)


@router.post(
    "/{session_id}/fork",
    response_model=Session,
    **operation(
        "forkSession",
        "Fork a session",
        "Creates a new session from a checkpoint (`checkpoint_id`) or from the session as it was right after "
        "event `at_seq` (with the state patches made before event `at_seq + 1`). Its events are copies of "
        "events 1..that seq, in order, with new ids, each naming its `source` event; its state is exactly the "
        "source's state at that point; `forked_from` says where it came from. The fork is independent: "
        "appends to either session, or deleting the source, do not change the other. It is written within "
        f"the request (at most {limits.MAX_FORK_EVENTS} events) and is visible only once complete. "
        "`metadata` defaults to the source's, the expiry to the source's (`ttl_seconds` sets its own).",
        status_code=201,
        errors=(404, 409),
        body=True,
        headers=("ETag", "Location", "Idempotent-Replayed"),
        links={
            "getSession": {"session_id": "$response.body#/id"},
            "listEvents": {"session_id": "$response.body#/id"},
            "appendEvent": {"session_id": "$response.body#/id"},
        },
    ),
)
def fork_session(
    session_id: str, body: ForkCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        fork = c.branches.fork(tenant, session_id, body)
        return stored(201, fork, {"ETag": etag(fork.version), "Location": f"/v1/sessions/{fork.id}"})

    return respond(c, tenant, f"POST /v1/sessions/{session_id}/fork", idempotency_key, body, action)
