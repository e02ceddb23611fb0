"""The Lambda building blocks shared by the API and the workers.

Each function gets its own IAM role with no managed policy (only the log group it writes to, X-Ray,
and whatever its construct grants), its own LogGroup with the stage's retention, arm64 + Python 3.12,
active tracing, and the two layers built by ``scripts/build_layers.py``: ``layers/build/core`` (the
modules of the ``contextiq`` package the functions import, never the dev-only ``evaluation/``,
``local/`` or ``cli.py``) and ``layers/build/deps`` (third-party wheels). The authorizer alone also gets
``layers/build/auth`` (PyJWT + cryptography, for the JWT authorizer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.local_invoke import LocalInvokeConfig
from infra.stages import BedrockModel, StageConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
CORE_LAYER_DIR = REPO_ROOT / "layers" / "build" / "core"
DEPS_LAYER_DIR = REPO_ROOT / "layers" / "build" / "deps"
AUTH_LAYER_DIR = REPO_ROOT / "layers" / "build" / "auth"


def local_layer_dir(architecture: str) -> Path:
    """``scripts/build_layers.py --local``: deps + auth + numpy for ``sam local invoke`` on that architecture."""
    return REPO_ROOT / "layers" / "build" / f"local-{architecture}"


RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.handler"
METRICS_NAMESPACE = "ContextIQ"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "*.egg-info", "**/*.egg-info", "**/.pytest_cache"]

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class MissingLayerError(RuntimeError):
    """The deps layer has not been built yet."""


def log_retention(days: int) -> logs.RetentionDays:
    return _RETENTION[days]


def removal_policy(stage: StageConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if stage.retain_data else RemovalPolicy.DESTROY


def setting_env(setting: str) -> str:
    """The environment variable that feeds the ``contextiq.config.Settings`` field ``setting``."""
    return f"CONTEXTIQ_{setting.upper()}"


def settings_env(values: Mapping[str, str | int]) -> dict[str, str]:
    """``{"sessions_table": name}`` -> ``{"CONTEXTIQ_SESSIONS_TABLE": name}``."""
    return {setting_env(key): str(value) for key, value in values.items()}


def bedrock_model_arns(scope: Construct, model: BedrockModel) -> list[str]:
    """The ARNs ``bedrock:InvokeModel`` needs for ``model`` (never a region or model wildcard)."""
    stack = Stack.of(scope)
    if not model.is_inference_profile:
        return [f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model.model_id}"]
    arns = [f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{model.model_id}"]
    arns += [
        f"arn:{stack.partition}:bedrock:{region}::foundation-model/{model.foundation_model_id}"
        for region in model.inference_profile_regions
    ]
    return arns


def grant_invoke_model(role: iam.IRole, scope: Construct, models: Iterable[BedrockModel]) -> None:
    resources: list[str] = []
    for model in models:
        resources += bedrock_model_arns(scope, model)
    role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=resources))


class Layers(Construct):
    """``core``: layers/build/core (python/contextiq). ``deps``: layers/build/deps (python/<wheels>).

    For the ``sam local invoke`` variant (``local_invoke``), ``deps`` and ``auth`` are one layer,
    layers/build/local-<arch>, built for the host's architecture.
    """

    def __init__(self, scope: Construct, construct_id: str, local_invoke: LocalInvokeConfig | None = None) -> None:
        super().__init__(scope, construct_id)
        self.local_invoke = local_invoke
        if local_invoke is not None:
            self._local(local_invoke)
            return
        if not (DEPS_LAYER_DIR / "python").is_dir():
            raise MissingLayerError(
                f"{DEPS_LAYER_DIR / 'python'} does not exist: build the dependencies layer first with "
                "`make layers` (or `.venv/bin/python scripts/build_layers.py`)"
            )
        if not (AUTH_LAYER_DIR / "python" / "jwt").is_dir():
            raise MissingLayerError(
                f"{AUTH_LAYER_DIR / 'python'} does not exist: build the layers first with `make layers`"
            )
        if not (CORE_LAYER_DIR / "python" / "contextiq").is_dir():
            raise MissingLayerError(
                f"{CORE_LAYER_DIR / 'python' / 'contextiq'} does not exist: build the layers first with `make layers`"
            )
        common = {
            "compatible_runtimes": [RUNTIME],
            "compatible_architectures": [ARCHITECTURE],
        }
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(CORE_LAYER_DIR), exclude=ASSET_EXCLUDES),
            description="ContextIQ core package: the modules the functions import (scripts/build_layers.py)",
            **common,  # type: ignore[arg-type]
        )
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            code=lambda_.Code.from_asset(str(DEPS_LAYER_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
            description="ContextIQ runtime dependencies (pyproject [project].dependencies, aarch64 cp312)",
            **common,  # type: ignore[arg-type]
        )
        self.auth = lambda_.LayerVersion(
            self,
            "Auth",
            code=lambda_.Code.from_asset(str(AUTH_LAYER_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
            description="ContextIQ authorizer: PyJWT + cryptography (pyproject [auth] extra, aarch64 cp312)",
            **common,  # type: ignore[arg-type]
        )

    def _local(self, config: LocalInvokeConfig) -> None:
        local_dir = local_layer_dir(config.architecture)
        for directory in (local_dir / "python" / "numpy", CORE_LAYER_DIR / "python" / "contextiq"):
            if not directory.is_dir():
                raise MissingLayerError(
                    f"{directory} does not exist: build the sam-local layers first with `make sam-template`"
                )
        common = {
            "compatible_runtimes": [RUNTIME],
            "compatible_architectures": [architecture(config)],
        }
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(CORE_LAYER_DIR), exclude=ASSET_EXCLUDES),
            description="ContextIQ core package (sam local invoke variant)",
            **common,  # type: ignore[arg-type]
        )
        self.deps = self.auth = lambda_.LayerVersion(
            self,
            "Deps",
            code=lambda_.Code.from_asset(str(local_dir), exclude=["**/__pycache__", "**/*.pyc"]),
            description=f"ContextIQ deps + auth + numpy for sam local invoke ({config.architecture})",
            **common,  # type: ignore[arg-type]
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.deps, self.core]


def architecture(local_invoke: LocalInvokeConfig | None) -> lambda_.Architecture:
    """arm64 in the cloud; the host's architecture for the sam local invoke variant."""
    if local_invoke is None:
        return ARCHITECTURE
    return lambda_.Architecture.X86_64 if local_invoke.architecture == "x86_64" else lambda_.Architecture.ARM_64


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # functions/<name>/
    description: str
    environment: Mapping[str, str]


class ContextIQFunction(Construct):
    """One function with its own role and log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        stage: StageConfig,
        layers: Layers,
        extra_layers: Sequence[lambda_.ILayerVersion] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        cfg = stage.functions[spec.name]
        self.name = spec.name
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(stage.log_retention_days),
            removal_policy=removal_policy(stage),
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"ContextIQ {stage.name} {spec.name} function",
        )
        environment = {
            "POWERTOOLS_SERVICE_NAME": f"contextiq-{spec.name}",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": stage.log_level,
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            setting_env("stage"): stage.name,
            **spec.environment,
        }
        all_layers = [*layers.all, *extra_layers]
        if layers.local_invoke is not None:
            environment.update(layers.local_invoke.environment())
            all_layers = list(dict.fromkeys(all_layers))  # the local layer is also the auth layer
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"ContextIQ {stage.name}: {spec.description}",
            runtime=RUNTIME,
            architecture=architecture(layers.local_invoke),
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / spec.name), exclude=ASSET_EXCLUDES),
            layers=all_layers,
            memory_size=cfg.memory_mb,
            timeout=Duration.seconds(cfg.timeout_seconds),
            reserved_concurrent_executions=cfg.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment=environment,
        )
        self.log_group.grant_write(self.role)
