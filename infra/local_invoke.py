"""The ``sam local invoke`` variant of a stage's template (docs/infrastructure.md, "SAM local").

``scripts/sam_template.py <stage>`` synthesizes ``ContextIQ-<stage>`` with ``StageConfig.local_invoke``
set: same resources and logical ids as the deployable template, but every function

* runs on this machine's architecture (``x86_64`` or ``arm64``, so Docker runs the container natively),
* has two layers, the core layer and ``layers/build/local-<arch>`` (deps + auth + numpy, built by
  ``scripts/build_layers.py --local``), instead of the aarch64 deps and auth layers,
* declares the variables ``scripts/sam_env.py`` overrides (SAM applies ``--env-vars`` only to variables
  the template declares), with values that keep it off real DynamoDB and SQS even without an env file.

It is never deployed: its endpoints point at ``host.docker.internal``. Like ``infra/stages.py``, this module
imports nothing from CDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Architecture = Literal["x86_64", "arm64"]

# moto's default port in `contextiq local`; scripts/sam_env.py writes the running stack's real one.
DEFAULT_LOCAL_ENDPOINT = "http://host.docker.internal:5000"
# Per-service endpoints (not the global AWS_ENDPOINT_URL): DynamoDB and SQS go to the local stack while
# Bedrock, if a run enables it, stays on AWS.
SERVICE_ENDPOINT_VARIABLES: tuple[str, ...] = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS")
# Where the embedded index and the generated page-token key live inside the container (Lambda's /tmp).
CONTAINER_DATA_DIR = "/tmp/contextiq"  # noqa: S108 (the container's own /tmp, the only writable place)


@dataclass(frozen=True)
class LocalInvokeConfig:
    architecture: Architecture
    endpoint: str = DEFAULT_LOCAL_ENDPOINT

    def __post_init__(self) -> None:
        if self.architecture not in ("x86_64", "arm64"):
            raise ValueError(f"architecture must be x86_64 or arm64, got {self.architecture!r}")
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")

    def environment(self) -> dict[str, str]:
        """Declared on every function of the variant, over the stage's own values."""
        return {
            **dict.fromkeys(SERVICE_ENDPOINT_VARIABLES, self.endpoint),
            # botocore would send stream calls to <account>.streams-ddb.<region>, which moto does not answer.
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon next to the container
            # The local providers by default; `scripts/sam_env.py --bedrock` switches the two models to Bedrock.
            "CONTEXTIQ_VECTOR_INDEX": "embedded",
            "CONTEXTIQ_EMBEDDER": "hashing",
            "CONTEXTIQ_EXTRACTOR": "local",
            "CONTEXTIQ_DATA_DIR": CONTAINER_DATA_DIR,
            # Empty: a key generated in the container. sam_env.py passes the local stack's key, so page
            # tokens from `contextiq local` and from a SAM-run function are interchangeable.
            "CONTEXTIQ_PAGE_TOKEN_KEY": "",
            "CONTEXTIQ_WEBHOOKS_ALLOW_LOCAL": "true",
        }
