"""What the generation pipeline passes between its steps, typed and validated where it is read.

    API        -- JobSpec (stored with the job) + ExtractionMessage -->   extraction queue
    extraction -- ConsolidationMessage (one per part, FIFO) ------->      consolidation queue

Each model is parsed at the queue boundary (``parse_message``); a body or stored spec that does not
validate raises ``MalformedMessageError`` naming the fields, so the worker entry point can log it, fail
the job and let SQS move the message to the dead-letter queue, instead of a KeyError deep inside.
Unknown fields are ignored (a message from a newer producer during a deploy still parses).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from contextiq.models.jobs import CustomTopic, DirectEvent, Example, GenerateRequest, ManagedTopic
from contextiq.models.memories import Fact
from contextiq.models.sessions import Event

# The topic of facts the caller gave pre-extracted (``facts`` source): not a topic memories are tagged with.
PROVIDED_TOPIC = "PROVIDED"

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PolicyTrigger = Literal["every_n_events", "idle", "session_delete"]


class MalformedMessageError(ValueError):
    """A queue message or stored job spec that does not match its model: retrying cannot help."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CarriedEvent(Event):
    """An event carried in a job spec (stored without its absent options)."""

    role: str | None = None


class JobSpec(_Message):
    """What the workers need from a generate request: its source, scope and options (no ``wait_seconds``)."""

    scope: dict[str, str]
    session_id: str | None = None
    after_seq: int | None = Field(default=None, ge=0)
    events: list[DirectEvent] | None = None
    facts: list[Fact] | None = None
    topics: list[ManagedTopic | CustomTopic] | None = None
    examples: list[Example] | None = None
    disable_consolidation: bool = False
    # Set by generation policies (services/generation_policies.py): the session's events up to this seq
    # only; the events themselves when the session is being deleted; what made the job.
    until_seq: int | None = Field(default=None, ge=1)
    session_events: list[CarriedEvent] | None = None
    trigger: PolicyTrigger | None = None

    @model_validator(mode="after")
    def _one_source(self) -> JobSpec:
        given = [n for n in ("session_id", "events", "facts") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one source of session_id, events, facts (got {given or 'none'})")
        return self

    @classmethod
    def of(cls, req: GenerateRequest, scope: dict[str, str]) -> JobSpec:
        return cls.model_validate(
            {**req.model_dump(exclude={"wait_seconds", "scope"}, exclude_none=True), "scope": scope}
        )

    def to_json(self) -> str:
        """The stored form: compact, without absent options."""
        return self.model_dump_json(exclude_none=True)


class JobMessage(_Message):
    """What every pipeline message carries: whose job it is about."""

    tenant: Id
    job_id: Id


class ExtractionMessage(JobMessage):
    """Extraction queue: extract the candidate facts of one job."""


class CandidateMessage(_Message):
    fact: str = Field(min_length=1)
    topic: str = ""
    source_event_ids: list[str] = Field(default_factory=list)
    event_time: datetime | None = None  # when it was said: the latest of its source events' timestamps


class ConsolidationMessage(JobMessage):
    """Consolidation queue (FIFO, one group per tenant + scope): merge one part of a job's candidates."""

    part: int = Field(ge=0)
    scope: dict[str, str]
    session_id: str | None = None
    disable_consolidation: bool = False
    candidates: list[CandidateMessage]


class IdleCheckMessage(_Message):
    """Generation-idle queue (delayed): is the session still quiet at ``due``? Sent for every append.

    ``seq`` is the session's last seq when it was sent; a later append makes the message moot (that
    append sent its own). A ``due`` beyond SQS's 15-minute delay is reached by re-sending.
    """

    tenant: Id
    session_id: Id
    seq: int = Field(ge=1)
    due: datetime


M = TypeVar("M", bound=BaseModel)


def describe(err: ValidationError) -> str:
    """``field.path: why`` for each problem, on one line (for logs and the job's error)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors())


def parse_message(model: type[M], body: str | bytes) -> M:
    """Parse a JSON message body into ``model``, or raise ``MalformedMessageError`` saying what is wrong."""
    try:
        return model.model_validate_json(body)
    except ValidationError as err:
        raise MalformedMessageError(f"malformed {model.__name__}: {describe(err)}") from err
