"""Every route the SDK calls, in one table: the clients build their requests from it and
``tests/clients/test_sdk_drift.py`` compares it with ``docs/openapi.json`` (paths, methods, query and
header parameters, request and response schemas), so the SDK and the document cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from contextiq_sdk import models as m
from contextiq_sdk import models_context as x
from contextiq_sdk import models_procedural as p
from contextiq_sdk import models_webhooks as w

PAGE = ("limit", "next_token")


@dataclass(frozen=True)
class Route:
    operation_id: str  # the document's stable operationId
    method: str
    path: str
    responses: dict[int, type[BaseModel] | None]  # 2xx status -> model (None: no body)
    body: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    idempotency_key: bool = False  # POST that accepts Idempotency-Key: retried with the same key
    if_match: bool = False  # takes ``version=`` as If-Match
    read_only: bool = False  # a POST that changes nothing (search): safe to retry without a key


ROUTES: dict[str, Route] = {
    "create_session": Route(
        "createSession", "POST", "/v1/sessions", {201: m.Session}, m.SessionCreate, idempotency_key=True
    ),
    "list_sessions": Route(
        "listSessions", "GET", "/v1/sessions", {200: m.SessionPage}, query=("user_id", "app_name", *PAGE)
    ),
    "get_session": Route("getSession", "GET", "/v1/sessions/{session_id}", {200: m.Session}),
    "delete_session": Route("deleteSession", "DELETE", "/v1/sessions/{session_id}", {204: None}),
    "patch_state": Route(
        "patchSessionState", "PATCH", "/v1/sessions/{session_id}/state", {200: m.Session}, m.StatePatch, if_match=True
    ),
    "append_event": Route(
        "appendEvent", "POST", "/v1/sessions/{session_id}/events", {201: m.Event}, m.EventCreate, idempotency_key=True
    ),
    "list_events": Route(
        "listEvents", "GET", "/v1/sessions/{session_id}/events", {200: m.EventPage}, query=(*PAGE, "after_seq")
    ),
    "create_checkpoint": Route(
        "createCheckpoint",
        "POST",
        "/v1/sessions/{session_id}/checkpoints",
        {201: m.Checkpoint},
        m.CheckpointCreate,
        idempotency_key=True,
    ),
    "list_checkpoints": Route(
        "listCheckpoints", "GET", "/v1/sessions/{session_id}/checkpoints", {200: m.CheckpointPage}, query=PAGE
    ),
    "get_checkpoint": Route(
        "getCheckpoint", "GET", "/v1/sessions/{session_id}/checkpoints/{checkpoint_id}", {200: m.Checkpoint}
    ),
    "delete_checkpoint": Route(
        "deleteCheckpoint", "DELETE", "/v1/sessions/{session_id}/checkpoints/{checkpoint_id}", {204: None}
    ),
    "fork_session": Route(
        "forkSession", "POST", "/v1/sessions/{session_id}/fork", {201: m.Session}, m.ForkCreate, idempotency_key=True
    ),
    "create_memory": Route(
        "createMemory", "POST", "/v1/memories", {201: m.Memory}, m.MemoryCreate, idempotency_key=True
    ),
    "list_memories": Route("listMemories", "GET", "/v1/memories", {200: m.MemoryPage}, query=("topic", *PAGE, "scope")),
    "search_memories": Route(
        "searchMemories", "POST", "/v1/memories/search", {200: m.SearchResponse}, m.SearchRequest, read_only=True
    ),
    "search_events": Route(
        "searchEvents", "POST", "/v1/events/search", {200: m.EventSearchResponse}, m.EventSearchRequest, read_only=True
    ),
    "recall": Route("recall", "POST", "/v1/recall", {200: m.RecallResponse}, m.RecallRequest, read_only=True),
    "get_memory": Route("getMemory", "GET", "/v1/memories/{memory_id}", {200: m.Memory}),
    "patch_memory": Route(
        "updateMemory", "PATCH", "/v1/memories/{memory_id}", {200: m.Memory}, m.MemoryPatch, if_match=True
    ),
    "delete_memory": Route("deleteMemory", "DELETE", "/v1/memories/{memory_id}", {204: None}, if_match=True),
    "list_revisions": Route(
        "listMemoryRevisions", "GET", "/v1/memories/{memory_id}/revisions", {200: m.RevisionPage}, query=PAGE
    ),
    "generate": Route(
        "generateMemories",
        "POST",
        "/v1/memories/generate",
        {200: m.Job, 202: m.JobAccepted},
        m.GenerateRequest,
        idempotency_key=True,
    ),
    "get_job": Route("getJob", "GET", "/v1/jobs/{job_id}", {200: m.Job}),
    "list_jobs": Route("listJobs", "GET", "/v1/jobs", {200: m.JobPage}, query=("session_id", *PAGE)),
    "patch_session": Route(
        "patchSession", "PATCH", "/v1/sessions/{session_id}", {200: m.Session}, m.SessionPatch, if_match=True
    ),
    "put_generation_policy": Route(
        "putGenerationPolicy",
        "PUT",
        "/v1/generation-policies/{app_name}",
        {200: m.AppGenerationPolicy},
        m.AppPolicy,
        if_match=True,
    ),
    "list_generation_policies": Route(
        "listGenerationPolicies", "GET", "/v1/generation-policies", {200: m.AppGenerationPolicyPage}, query=PAGE
    ),
    "get_generation_policy": Route(
        "getGenerationPolicy", "GET", "/v1/generation-policies/{app_name}", {200: m.AppGenerationPolicy}
    ),
    "delete_generation_policy": Route(
        "deleteGenerationPolicy", "DELETE", "/v1/generation-policies/{app_name}", {204: None}
    ),
    "create_procedure": Route(
        "createProcedure", "POST", "/v1/procedures", {201: p.Procedure}, p.ProcedureCreate, idempotency_key=True
    ),
    "list_procedures": Route(
        "listProcedures", "GET", "/v1/procedures", {200: p.ProcedurePage}, query=("kind", "status", *PAGE, "scope")
    ),
    "generate_procedures": Route(
        "generateProcedures",
        "POST",
        "/v1/procedures/generate",
        {200: m.Job, 202: m.JobAccepted},
        p.ProcedureGenerateRequest,
        idempotency_key=True,
    ),
    "search_procedures": Route(
        "searchProcedures",
        "POST",
        "/v1/procedures/search",
        {200: p.ProcedureSearchResponse},
        p.ProcedureSearchRequest,
        read_only=True,
    ),
    "get_procedure": Route("getProcedure", "GET", "/v1/procedures/{procedure_id}", {200: p.Procedure}),
    "update_procedure": Route(
        "updateProcedure", "PATCH", "/v1/procedures/{procedure_id}", {200: p.Procedure}, p.ProcedurePatch, if_match=True
    ),
    "delete_procedure": Route("deleteProcedure", "DELETE", "/v1/procedures/{procedure_id}", {204: None}, if_match=True),
    "procedure_feedback": Route(
        "reportProcedureFeedback",
        "POST",
        "/v1/procedures/{procedure_id}/feedback",
        {200: p.Procedure},
        p.Feedback,
        idempotency_key=True,
    ),
    "list_procedure_revisions": Route(
        "listProcedureRevisions",
        "GET",
        "/v1/procedures/{procedure_id}/revisions",
        {200: p.ProcedureRevisionPage},
        query=PAGE,
    ),
    "create_trajectory": Route(
        "createTrajectory", "POST", "/v1/trajectories", {201: p.Trajectory}, p.TrajectoryCreate, idempotency_key=True
    ),
    "list_trajectories": Route(
        "listTrajectories", "GET", "/v1/trajectories", {200: p.TrajectoryPage}, query=("outcome", *PAGE, "scope")
    ),
    "search_trajectories": Route(
        "searchTrajectories",
        "POST",
        "/v1/trajectories/search",
        {200: p.TrajectorySearchResponse},
        p.TrajectorySearchRequest,
        read_only=True,
    ),
    "get_trajectory": Route("getTrajectory", "GET", "/v1/trajectories/{trajectory_id}", {200: p.Trajectory}),
    "delete_trajectory": Route("deleteTrajectory", "DELETE", "/v1/trajectories/{trajectory_id}", {204: None}),
    "create_webhook": Route(
        "createWebhook", "POST", "/v1/webhooks", {201: w.WebhookCreated}, w.WebhookCreate, idempotency_key=True
    ),
    "list_webhooks": Route("listWebhooks", "GET", "/v1/webhooks", {200: w.WebhookPage}),
    "get_webhook": Route("getWebhook", "GET", "/v1/webhooks/{webhook_id}", {200: w.Webhook}),
    "delete_webhook": Route("deleteWebhook", "DELETE", "/v1/webhooks/{webhook_id}", {204: None}),
    "list_webhook_deliveries": Route(
        "listWebhookDeliveries", "GET", "/v1/webhooks/{webhook_id}/deliveries", {200: w.DeliveryPage}, query=PAGE
    ),
    "create_template": Route(
        "createTemplate", "POST", "/v1/templates", {201: x.Template}, x.TemplateCreate, idempotency_key=True
    ),
    "list_templates": Route("listTemplates", "GET", "/v1/templates", {200: x.TemplatePage}, query=PAGE),
    "get_template": Route("getTemplate", "GET", "/v1/templates/{template_id}", {200: x.Template}, query=("version",)),
    "update_template": Route(
        "updateTemplate", "PATCH", "/v1/templates/{template_id}", {200: x.Template}, x.TemplatePatch, if_match=True
    ),
    "delete_template": Route("deleteTemplate", "DELETE", "/v1/templates/{template_id}", {204: None}, if_match=True),
    "assemble_context": Route(
        "assembleContext", "POST", "/v1/context", {200: x.ContextResponse}, x.ContextRequest, read_only=True
    ),
    "list_template_versions": Route(
        "listTemplateVersions", "GET", "/v1/templates/{template_id}/versions", {200: x.TemplateVersionPage}, query=PAGE
    ),
}
