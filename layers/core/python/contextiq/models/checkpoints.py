"""Session checkpoints and forks (branches of a session's history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contextiq import limits
from contextiq.models.common import Metadata, Request, TtlSeconds


class CheckpointCreate(Request):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "before-booking", "metadata": {"why": "retry"}}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=limits.MAX_CHECKPOINT_NAME_CHARS)
    metadata: Metadata = Field(default_factory=dict)


class Checkpoint(BaseModel):
    """The session's state at ``seq`` (and ``version``), kept until deleted or the session goes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "checkpoint_id": "01JD8XA2B3C4D5E6F7G8H9J0K1",
                    "session_id": "01JD8X9Q3T9V6G8J2K4M5N7P8R",
                    "name": "before-booking",
                    "metadata": {},
                    "seq": 12,
                    "state": {"step": 3},
                    "version": 15,
                    "create_time": "2026-11-30T12:00:00.000Z",
                }
            ]
        }
    )

    checkpoint_id: str
    session_id: str
    name: str | None = None
    metadata: dict[str, Any]
    seq: int = Field(description="the last event's seq when the checkpoint was taken (0: none yet)")
    state: dict[str, Any] = Field(description="the session state exactly as it was at `seq` and `version`")
    version: int = Field(description="the session version the state was read at")
    create_time: datetime
    expire_time: datetime | None = Field(default=None, description="the session's expiry: checkpoints go with it")


class ForkCreate(Request):
    """Fork from a checkpoint, or from the session as it was right after event ``at_seq``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [  # exactly one of them, not null (a null is as good as absent)
                {"required": ["checkpoint_id"], "properties": {"checkpoint_id": {"type": "string"}}},
                {"required": ["at_seq"], "properties": {"at_seq": {"type": "integer"}}},
            ],
            "examples": [{"checkpoint_id": "01JD8XA2B3C4D5E6F7G8H9J0K1"}, {"at_seq": 12, "metadata": {"try": 2}}],
        },
    )

    checkpoint_id: str | None = Field(default=None, min_length=1, max_length=limits.MAX_ID_LENGTH)
    at_seq: int | None = Field(default=None, ge=0, le=limits.MAX_SEQ)
    metadata: Metadata | None = Field(default=None, description="the fork's metadata (default: the source's)")
    ttl_seconds: TtlSeconds | None = Field(default=None, description="the fork's TTL (default: the source's expiry)")

    @model_validator(mode="after")
    def _one_point(self) -> ForkCreate:
        if (self.checkpoint_id is None) == (self.at_seq is None):
            raise ValueError("give exactly one of `checkpoint_id` and `at_seq`")
        return self


@dataclass(frozen=True)
class StateChange:
    """One PATCH of a session's state, kept so the state at any seq can be rebuilt exactly.

    ``seq`` is the session's last seq when it was applied (it falls between event ``seq`` and
    ``seq + 1``); ``version`` is the session version it made.
    """

    seq: int
    version: int
    set: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateLog:
    """What, with the events' ``state_delta``s, rebuilds a session's state at any seq.

    ``initial`` is None for sessions created before the log existed: their past states are unknown.
    """

    initial: dict[str, Any] | None
