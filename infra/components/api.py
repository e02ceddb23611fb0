"""The HTTP side: the sessions, memories, jobs, procedures and templates functions behind an API Gateway REST API.

Every method except ``GET /openapi.json`` is a Lambda proxy integration behind the key authorizer
(``functions/authorizer``: a REQUEST authorizer that resolves ``x-api-key`` to tenant and role in the
hashed key table, cached per key for ``authorizer_cache_seconds``) and keeps ``api_key_required=True``
for the usage plan's throttle and quota (API keys are not an authentication mechanism on their own). Errors that
API Gateway answers itself (missing key, throttling, quota, unknown route...) come back as RFC 9457
``application/problem+json`` bodies, like the ones the application returns.

Every routed resource also has an ``ANY`` method with a MOCK integration (no key, no authorizer, no
Lambda): API Gateway sends a method to ``ANY`` only when the resource does not declare it, so ``OPTIONS``
answers 204 with ``Allow`` and any other undeclared method 405 with ``Allow`` and a problem+json body, as
the FastAPI app does locally (docs/infrastructure.md, "OPTIONS and 405").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.functions import (
    ContextIQFunction,
    FunctionSpec,
    Layers,
    grant_invoke_model,
    log_retention,
    removal_policy,
    settings_env,
)
from infra.components.queues import Queues
from infra.components.search import Search
from infra.components.storage import Storage
from infra.components.waf import ApiFirewall
from infra.stages import StageConfig

PROBLEM_TYPE_BASE = "https://contextiq.dev/problems/"  # same base as contextiq.api.problems


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    function: str
    api_key_required: bool = True

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))


ROUTES: tuple[Route, ...] = (
    Route("/v1/sessions", ("GET", "POST"), "sessions"),
    Route("/v1/sessions/{session_id}", ("GET", "DELETE", "PATCH"), "sessions"),
    Route("/v1/sessions/{session_id}/events", ("GET", "POST"), "sessions"),
    Route("/v1/sessions/{session_id}/state", ("PATCH",), "sessions"),
    Route("/v1/sessions/{session_id}/checkpoints", ("GET", "POST"), "sessions"),
    Route("/v1/sessions/{session_id}/checkpoints/{checkpoint_id}", ("GET", "DELETE"), "sessions"),
    Route("/v1/sessions/{session_id}/fork", ("POST",), "sessions"),
    Route("/v1/memories", ("GET", "POST"), "memories"),
    Route("/v1/memories/search", ("POST",), "memories"),
    Route("/v1/memories/generate", ("POST",), "jobs"),
    Route("/v1/memories/{memory_id}", ("GET", "PATCH", "DELETE"), "memories"),
    Route("/v1/memories/{memory_id}/revisions", ("GET",), "memories"),
    Route("/v1/events/search", ("POST",), "memories"),
    Route("/v1/recall", ("POST",), "memories"),
    Route("/v1/context", ("POST",), "memories"),
    Route("/v1/jobs", ("GET",), "jobs"),
    Route("/v1/jobs/{job_id}", ("GET",), "jobs"),
    Route("/v1/procedures", ("GET", "POST"), "procedures"),
    Route("/v1/procedures/search", ("POST",), "procedures"),
    Route("/v1/procedures/generate", ("POST",), "procedures"),
    Route("/v1/procedures/{procedure_id}", ("GET", "PATCH", "DELETE"), "procedures"),
    Route("/v1/procedures/{procedure_id}/revisions", ("GET",), "procedures"),
    Route("/v1/procedures/{procedure_id}/feedback", ("POST",), "procedures"),
    Route("/v1/trajectories", ("GET", "POST"), "procedures"),
    Route("/v1/trajectories/search", ("POST",), "procedures"),
    Route("/v1/trajectories/{trajectory_id}", ("GET", "DELETE"), "procedures"),
    Route("/v1/webhooks", ("GET", "POST"), "webhooks"),
    Route("/v1/webhooks/{webhook_id}", ("GET", "DELETE"), "webhooks"),
    Route("/v1/webhooks/{webhook_id}/deliveries", ("GET",), "webhooks"),
    Route("/v1/templates", ("GET", "POST"), "templates"),
    Route("/v1/templates/{template_id}", ("GET", "PATCH", "DELETE"), "templates"),
    Route("/v1/templates/{template_id}/versions", ("GET",), "templates"),
    Route("/v1/generation-policies", ("GET",), "sessions"),
    Route("/v1/generation-policies/{app_name}", ("GET", "PUT", "DELETE"), "sessions"),
    Route("/openapi.json", ("GET",), "sessions", api_key_required=False),
)

# One JSON object per request; $context.status and $context.responseLatency are always numbers.
ACCESS_LOG_FORMAT = (
    "{"
    + ",".join(
        [
            '"requestId":"$context.requestId"',
            '"apiKeyId":"$context.identity.apiKeyId"',
            '"status":$context.status',
            '"latency":$context.responseLatency',
            '"integrationLatency":"$context.integrationLatency"',
            '"method":"$context.httpMethod"',
            '"resource":"$context.resourcePath"',
            '"path":"$context.path"',
            '"requestTime":"$context.requestTimeEpoch"',
            '"sourceIp":"$context.identity.sourceIp"',
            '"userAgent":"$context.identity.userAgent"',
            '"responseLength":"$context.responseLength"',
            '"error":"$context.error.message"',
            '"errorType":"$context.error.responseType"',
            '"integrationError":"$context.integration.error"',
            '"xrayTraceId":"$context.xrayTraceId"',
        ]
    )
    + "}"
)


@dataclass(frozen=True)
class GatewayProblem:
    response_type: str
    status: int
    code: str
    title: str
    detail: str | None = None  # None: API Gateway's own message


# Every gateway response type, with its default status code, rendered as problem+json.
GATEWAY_PROBLEMS: tuple[GatewayProblem, ...] = (
    GatewayProblem("INVALID_API_KEY", 403, "forbidden", "Forbidden", "Missing or invalid API key (x-api-key)"),
    GatewayProblem(
        "MISSING_AUTHENTICATION_TOKEN",
        403,
        "forbidden",
        "Forbidden",
        "Missing API key (x-api-key), or no such route (check the path and the method)",
    ),
    GatewayProblem("ACCESS_DENIED", 403, "forbidden", "Forbidden"),
    GatewayProblem("EXPIRED_TOKEN", 403, "forbidden", "Forbidden"),
    GatewayProblem("INVALID_SIGNATURE", 403, "forbidden", "Forbidden"),
    GatewayProblem("WAF_FILTERED", 403, "forbidden", "Forbidden"),
    GatewayProblem("UNAUTHORIZED", 401, "unauthorized", "Unauthorized"),
    GatewayProblem("THROTTLED", 429, "throttled", "Too many requests", "Rate limit exceeded, retry later"),
    GatewayProblem("QUOTA_EXCEEDED", 429, "quota-exceeded", "Quota exceeded", "The API key's quota is used up"),
    GatewayProblem("RESOURCE_NOT_FOUND", 404, "not-found", "Not found"),
    GatewayProblem("REQUEST_TOO_LARGE", 413, "payload-too-large", "Payload too large"),
    GatewayProblem("BAD_REQUEST_PARAMETERS", 400, "malformed-request", "Bad request"),
    GatewayProblem("BAD_REQUEST_BODY", 400, "malformed-request", "Bad request"),
    GatewayProblem("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported-media-type", "Unsupported media type"),
    GatewayProblem("INTEGRATION_TIMEOUT", 504, "timeout", "Gateway timeout", "The request took too long"),
    GatewayProblem("INTEGRATION_FAILURE", 504, "upstream-failure", "Upstream failure"),
    GatewayProblem("API_CONFIGURATION_ERROR", 500, "internal", "Internal error"),
    GatewayProblem("AUTHORIZER_CONFIGURATION_ERROR", 500, "internal", "Internal error"),
    GatewayProblem("AUTHORIZER_FAILURE", 500, "internal", "Internal error"),
    # Fallbacks: every known type is listed above, so these only catch types added in the future.
    GatewayProblem("DEFAULT_4XX", 400, "bad-request", "Bad request"),
    GatewayProblem("DEFAULT_5XX", 500, "internal", "Internal error"),
)


# Request bodies of these media types reach the OPTIONS/405 mock; another Content-Type is refused with 415
# (passthrough NEVER): passing an unmapped body on to a MOCK integration makes it fail with a 500.
MOCK_REQUEST_MEDIA_TYPES: tuple[str, ...] = (
    "application/json",
    "application/problem+json",
    "application/merge-patch+json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "text/plain",
    "text/markdown",
    "application/octet-stream",
)
# OPTIONS picks 204 in the mock's request template; every other method falls to the default response (405).
MOCK_REQUEST_TEMPLATE = '#if($context.httpMethod == "OPTIONS")\n{"statusCode": 204}\n#else\n{"statusCode": 405}\n#end\n'


def allow_header(methods: tuple[str, ...]) -> str:
    """The ``Allow`` value of a resource: its methods and OPTIONS, sorted (as ``api.problems.allowed_methods``)."""
    return ", ".join(sorted({*methods, "OPTIONS"}))


def method_not_allowed_template(allow: str) -> str:
    detail = f"$context.httpMethod is not allowed on this path; it allows {allow}"
    return (
        "{"
        f'"type":"{PROBLEM_TYPE_BASE}method-not-allowed",'
        '"title":"Method not allowed",'
        '"status":405,'
        f'"detail":"{detail}",'
        '"instance":"$context.path",'
        '"request_id":"$context.requestId"'
        "}"
    )


def options_and_405(allow: str) -> apigw.MockIntegration:
    """The MOCK integration of a resource's ``ANY`` method: 204 for OPTIONS, 405 for the rest, both with Allow."""
    allow_value = f"'{allow}'"
    return apigw.MockIntegration(
        passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        request_templates=dict.fromkeys(MOCK_REQUEST_MEDIA_TYPES, MOCK_REQUEST_TEMPLATE),
        integration_responses=[
            apigw.IntegrationResponse(
                status_code="204",
                selection_pattern="204",
                response_parameters={"method.response.header.Allow": allow_value},
            ),
            apigw.IntegrationResponse(  # the default response (no selection pattern): 405
                status_code="405",
                response_parameters={
                    "method.response.header.Allow": allow_value,
                    "method.response.header.Content-Type": "'application/problem+json'",
                },
                response_templates={"application/json": method_not_allowed_template(allow)},
            ),
        ],
    )


def mock_method_responses() -> list[apigw.MethodResponse]:
    return [
        apigw.MethodResponse(status_code="204", response_parameters={"method.response.header.Allow": True}),
        apigw.MethodResponse(
            status_code="405",
            response_parameters={"method.response.header.Allow": True, "method.response.header.Content-Type": True},
        ),
    ]


def problem_template(problem: GatewayProblem) -> str:
    detail = json.dumps(problem.detail) if problem.detail else "$context.error.messageString"
    return (
        "{"
        f'"type":"{PROBLEM_TYPE_BASE}{problem.code}",'
        f'"title":"{problem.title}",'
        f'"status":{problem.status},'
        f'"detail":{detail},'
        '"instance":"$context.path",'
        '"request_id":"$context.requestId"'
        "}"
    )


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        layers: Layers,
        storage: Storage,
        queues: Queues,
        search: Search,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions = self._functions(stage, layers, storage, queues, search)

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(stage.log_retention_days),
            removal_policy=removal_policy(stage),
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=stage.stack_name,
            description=f"ContextIQ memory service ({stage.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            # The account-wide AWS::ApiGateway::Account lives in its own stack (infra/account.py).
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=stage.name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=stage.api_throttle.rate_limit,
                throttling_burst_limit=stage.api_throttle.burst_limit,
            ),
        )
        self.stage = self.rest_api.deployment_stage
        self.firewall = ApiFirewall(self, "Firewall", stage=stage, api_stage=self.stage)
        # Lambda REQUEST authorizer: x-api-key -> tenant + role, cached per key by API Gateway. With a JWT
        # issuer, also the user's bearer token: cached per (key, token), and both headers are required.
        identity_sources = [apigw.IdentitySource.header("x-api-key")]
        if stage.jwt is not None:
            identity_sources.append(apigw.IdentitySource.header("Authorization"))
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "KeyAuthorizer",
            handler=self.functions["authorizer"].function,
            identity_sources=identity_sources,
            results_cache_ttl=Duration.seconds(stage.authorizer_cache_seconds),
        )
        validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_parameters=True, validate_request_body=True
        )
        integrations = {
            name: apigw.LambdaIntegration(fn.function, proxy=True, allow_test_invoke=False)
            for name, fn in self.functions.items()
            if name != "authorizer"
        }
        for route in ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            for method in route.methods:
                resource.add_method(
                    method,
                    integrations[route.function],
                    api_key_required=route.api_key_required,
                    authorizer=self.authorizer if route.api_key_required else None,
                    request_validator=validator,
                    request_parameters={f"method.request.path.{p}": True for p in route.path_parameters},
                )
            # OPTIONS -> 204, an undeclared method -> 405: no key, no authorizer (as locally, where routing
            # answers before authentication), no Lambda invocation.
            resource.add_method(
                "ANY",
                options_and_405(allow_header(route.methods)),
                api_key_required=False,
                authorization_type=apigw.AuthorizationType.NONE,
                method_responses=mock_method_responses(),
            )

        plan = stage.usage_plan
        self.usage_plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"{stage.stack_name}-default",
            description="Every tenant API key of this stage (see scripts/api_keys.py)",
            throttle=apigw.ThrottleSettings(rate_limit=plan.throttle.rate_limit, burst_limit=plan.throttle.burst_limit),
            quota=apigw.QuotaSettings(limit=plan.quota_limit, period=getattr(apigw.Period, plan.quota_period)),
        )
        self.usage_plan.add_api_stage(stage=self.stage)

        for problem in GATEWAY_PROBLEMS:
            self.rest_api.add_gateway_response(
                problem.response_type.title().replace("_", ""),
                type=apigw.ResponseType.of(problem.response_type),
                status_code=str(problem.status),
                response_headers={"Content-Type": "'application/problem+json'"},
                templates={"application/json": problem_template(problem)},
            )

    def _functions(
        self, stage: StageConfig, layers: Layers, storage: Storage, queues: Queues, search: Search
    ) -> Mapping[str, ContextIQFunction]:
        sessions_table = storage.table("sessions_table")
        memories_table = storage.table("memories_table")
        jobs_table = storage.table("jobs_table")
        idempotency_table = storage.table("idempotency_table")
        api_keys_table = storage.table("api_keys_table")
        extraction = queues.queue("extraction_queue_url").queue
        procedures_table = storage.table("procedures_table")
        learning = queues.queue("procedure_learning_queue_url").queue
        webhooks_table = storage.table("webhooks_table")
        templates_table = storage.table("templates_table")
        embedding_and_index: dict[str, str | int] = {
            "embedder": "bedrock",
            "embedding_model_id": stage.embedding_model.model_id,
            "embedding_dimensions": stage.embedding_dimensions,
            **search.settings,
        }

        # The key that encrypts and signs page tokens (docs/design.md, "Page tokens"): one per stage,
        # generated by Secrets Manager, read once per cold start by the API functions.
        self.page_token_key = secretsmanager.Secret(
            self,
            "PageTokenKey",
            description=f"ContextIQ {stage.name}: key of the API's page tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
            removal_policy=removal_policy(stage),
        )
        common = {
            "idempotency_table": idempotency_table.table_name,
            "api_keys_table": api_keys_table.table_name,
            "page_token_secret_arn": self.page_token_key.secret_arn,
        }
        specs = {
            "sessions": FunctionSpec(
                "sessions",
                "API /v1/sessions/*, /v1/generation-policies/* and /openapi.json",
                settings_env(
                    {
                        "sessions_table": sessions_table.table_name,
                        # DELETE with on_session_delete submits the final generation job
                        "jobs_table": jobs_table.table_name,
                        "extraction_queue_url": extraction.queue_url,
                        **common,
                    }
                ),
            ),
            "memories": FunctionSpec(
                "memories",
                "API /v1/memories/* (CRUD, revisions, search), /v1/events/search, /v1/recall and /v1/context",
                settings_env(
                    {
                        "memories_table": memories_table.table_name,
                        "sessions_table": sessions_table.table_name,
                        "procedures_table": procedures_table.table_name,  # /v1/context: procedure search
                        "templates_table": templates_table.table_name,  # /v1/context: the template
                        **common,
                        "embedder": "bedrock",
                        "embedding_model_id": stage.embedding_model.model_id,
                        "embedding_dimensions": stage.embedding_dimensions,
                        **search.settings,
                    }
                ),
            ),
            "authorizer": FunctionSpec(
                "authorizer",
                "API Gateway REQUEST authorizer: x-api-key -> tenant and role (hashed key table)",
                # No cache of its own: API Gateway's authorizer cache is the only one (revocation TTL).
                settings_env(
                    {
                        "api_keys_table": api_keys_table.table_name,
                        "api_key_cache_seconds": 0,
                        **(stage.jwt.settings() if stage.jwt else {}),
                    }
                ),
            ),
            "jobs": FunctionSpec(
                "jobs",
                "API POST /v1/memories/generate, GET /v1/jobs/{job_id} and GET /v1/jobs?session_id",
                settings_env(
                    {
                        "jobs_table": jobs_table.table_name,
                        "sessions_table": sessions_table.table_name,
                        "extraction_queue_url": extraction.queue_url,
                        **common,
                    }
                ),
            ),
            "procedures": FunctionSpec(
                "procedures",
                "API /v1/procedures/* and /v1/trajectories/* (procedural memory)",
                settings_env(
                    {
                        "procedures_table": procedures_table.table_name,
                        "sessions_table": sessions_table.table_name,
                        "jobs_table": jobs_table.table_name,
                        "procedure_learning_queue_url": learning.queue_url,
                        **common,
                        **embedding_and_index,
                    }
                ),
            ),
            "webhooks": FunctionSpec(
                "webhooks",
                "API /v1/webhooks/* (subscriptions to change events, delivery logs)",
                # Webhook URLs are checked against DNS here (SSRF rules, docs/notifications.md).
                settings_env({"webhooks_table": webhooks_table.table_name, **common}),
            ),
            "templates": FunctionSpec(
                "templates",
                "API /v1/templates/* (prompt templates and their versions)",
                settings_env({"templates_table": templates_table.table_name, **common}),
            ),
        }
        functions = {
            name: ContextIQFunction(
                self,
                name.capitalize(),
                spec=spec,
                stage=stage,
                layers=layers,
                extra_layers=[layers.auth] if name == "authorizer" else [],
            )
            for name, spec in specs.items()
        }
        api_keys_table.grant_read_data(functions["authorizer"].role)
        for name, fn in functions.items():
            if name == "authorizer":
                continue
            idempotency_table.grant_read_write_data(fn.role)
            api_keys_table.grant_read_data(fn.role)
            self.page_token_key.grant_read(fn.role)

        sessions, memories, jobs = functions["sessions"], functions["memories"], functions["jobs"]
        sessions_table.grant_read_write_data(sessions.role)
        jobs_table.grant_read_write_data(sessions.role)  # a policy's final job at DELETE (claim + queued mark)
        extraction.grant_send_messages(sessions.role)

        memories_table.grant_read_write_data(memories.role)
        sessions_table.grant_read_data(memories.role)  # event hits are read back (BatchGetItem)
        procedures_table.grant_read_data(memories.role)  # /v1/context searches procedures
        templates_table.grant_read_data(memories.role)  # /v1/context renders a stored template
        search.grant_http(memories.role, ("GET", "HEAD", "POST", "PUT"))
        grant_invoke_model(memories.role, self, [stage.embedding_model])

        jobs_table.grant_read_write_data(jobs.role)
        sessions_table.grant_read_data(jobs.role)
        extraction.grant_send_messages(jobs.role)

        # procedures: its table RW, sessions read (trajectories from sessions), jobs RW (generate + wait),
        # the learning queue, OpenSearch read+write (write-through), the embedding model.
        procedural = functions["procedures"]
        procedures_table.grant_read_write_data(procedural.role)
        sessions_table.grant_read_data(procedural.role)
        jobs_table.grant_read_write_data(procedural.role)
        learning.grant_send_messages(procedural.role)
        search.grant_http(procedural.role, ("GET", "HEAD", "POST", "PUT"))
        grant_invoke_model(procedural.role, self, [stage.embedding_model])

        webhooks_table.grant_read_write_data(functions["webhooks"].role)  # subscriptions + their delivery log
        # templates: its table RW, nothing else (no index, no model).
        templates_table.grant_read_write_data(functions["templates"].role)
        return functions

    @property
    def lambda_functions(self) -> dict[str, lambda_.Function]:
        return {name: fn.function for name, fn in self.functions.items()}
