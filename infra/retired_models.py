"""Bedrock model ids that have reached end of life (EOL): a request to one fails.

``tests/infra/test_models.py`` fails if a stage (``infra/stages.py``) or the ``contextiq.config``
defaults name one of these, directly or through a cross-region inference profile (``us.<id>``...).
When Bedrock announces the next EOL (Model lifecycle page, or ``modelLifecycle.status`` of
``aws bedrock get-foundation-model``), add the id here with its date and source, and follow
"Changing the extraction model" in docs/infrastructure.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.stages import foundation_model_id

_LIFECYCLE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html"


@dataclass(frozen=True)
class RetiredModel:
    model_id: str  # the foundation-model id, without a geography prefix
    eol: str  # ISO date of the end of life on Amazon Bedrock
    source: str


RETIRED_MODELS: tuple[RetiredModel, ...] = (
    RetiredModel(
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "2026-06-19",
        "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-5-haiku.html",
    ),
    RetiredModel(
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "2026-04-28",
        _LIFECYCLE + " (also https://github.com/awslabs/startups/pull/10)",
    ),
)

RETIRED_MODEL_IDS: frozenset[str] = frozenset(m.model_id for m in RETIRED_MODELS)


def is_retired(model_id: str) -> bool:
    """True for a retired id, also when it is reached through a cross-region inference profile."""
    return foundation_model_id(model_id) in RETIRED_MODEL_IDS
