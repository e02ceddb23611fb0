"""PolicyEngine with fakes: each window of events makes exactly one job, whatever is redelivered, whoever
races the claim, wherever the engine stops; idle checks fire once and only when due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextiq.models.jobs import Job, JobStatus
from contextiq.models.pipeline import ExtractionMessage, IdleCheckMessage, JobSpec
from contextiq.models.policies import (
    AppGenerationPolicy,
    GenerationPolicy,
    ScopeTemplateError,
    render_scope,
)
from contextiq.models.sessions import EventCreate, SessionCreate
from contextiq.services.policy_engine import SQS_MAX_DELAY_SECONDS, PolicyEngine, policy_job_id
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.streams import SessionChange
from tests.fakes import FakeClock, FakeQueue, FakeSessionRepository, Sleeps

T = "tenant-a"


class FakePolicies:
    """``PolicyRepository`` over a FakeSessionRepository, with PolicyStore.claim's condition."""

    def __init__(self, sessions: FakeSessionRepository) -> None:
        self.sessions = sessions
        self.apps: dict[tuple[str, str], AppGenerationPolicy] = {}
        self.jobs: dict[str, tuple[Job, JobSpec, bool]] = {}  # id -> (job, spec, queued)
        self.before_claim: Callable[[], None] | None = None

    def get(self, tenant: str, app_name: str) -> AppGenerationPolicy | None:
        return self.apps.get((tenant, app_name))

    def claim(self, tenant: str, session_id: str, from_seq: int, to_seq: int, job: Job, spec: JobSpec) -> bool:
        if self.before_claim:
            hook, self.before_claim = self.before_claim, None
            hook()
        session = self.sessions.sessions.get((tenant, session_id))
        if session is None or session.last_generated_seq != from_seq or session.event_count < to_seq:
            return False
        assert job.id not in self.jobs, "a job made twice"
        self.sessions.sessions[(tenant, session_id)] = session.model_copy(
            update={"last_generated_seq": to_seq, "last_job_id": job.id}
        )
        self.jobs[job.id] = (job, spec, False)
        return True

    def unqueued(self, tenant: str, job_id: str) -> bool:
        found = self.jobs.get(job_id)
        return found is not None and found[0].status == JobStatus.PENDING and not found[2]

    def mark_queued(self, tenant: str, job_id: str) -> None:
        job, spec, _ = self.jobs[job_id]
        self.jobs[job_id] = (job, spec, True)


class FakeDelayed:
    def __init__(self) -> None:
        self.sent: list[tuple[IdleCheckMessage, int]] = []

    def send_delayed(self, message: IdleCheckMessage, delay_seconds: int) -> None:
        self.sent.append((message, delay_seconds))


class FailingQueue(FakeQueue):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def send(self, message: Any, group_id: str | None = None, dedup_id: str | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SQS unreachable")
        super().send(message, group_id, dedup_id)


class World:
    def __init__(self, extraction: FakeQueue | None = None) -> None:
        self.clock = FakeClock()
        self.repo = FakeSessionRepository()
        self.sessions = SessionService(self.repo, clock=self.clock, sleep=Sleeps())
        self.policies = FakePolicies(self.repo)
        self.extraction = extraction or FakeQueue()
        self.idle = FakeDelayed()
        self.engine = PolicyEngine(self.policies, self.sessions, self.extraction, self.idle, clock=self.clock)

    def session(self, policy: GenerationPolicy | None = None, app: str | None = "travel", user: str = "alice") -> str:
        req = SessionCreate(user_id=user, app_name=app, generation_policy=policy)
        return self.sessions.create(T, req).id

    def append(self, sid: str, n: int = 1) -> None:
        for _ in range(n):
            self.sessions.append_event(T, sid, EventCreate(author="user", content={"text": "I am vegetarian."}))
            self.clock.advance(1)

    def change(self, sid: str, appended: bool = True) -> SessionChange:
        return SessionChange(T, self.sessions.get(T, sid), appended=appended, deleting=False)

    def queued_jobs(self) -> list[str]:
        return [s.message.job_id for s in self.extraction.sent if isinstance(s.message, ExtractionMessage)]


def test_every_n_events_submits_each_full_window_once() -> None:
    w = World()
    sid = w.session(GenerationPolicy(every_n_events=5))
    w.append(sid, 12)
    change = w.change(sid)
    assert w.engine.on_session_change(change) == "2 every_n_events jobs"
    specs = [spec for _, spec, _ in w.policies.jobs.values()]
    assert [(s.after_seq, s.until_seq, s.trigger) for s in specs] == [
        (0, 5, "every_n_events"),
        (5, 10, "every_n_events"),
    ]
    assert w.sessions.get(T, sid).last_generated_seq == 10
    # the same record again (redelivery), and an older one: nothing new, nothing queued twice
    w.engine.on_session_change(change)
    w.engine.on_session_change(change)
    assert len(w.policies.jobs) == 2 and len(w.queued_jobs()) == 2
    assert w.queued_jobs() == [
        policy_job_id(T, w.sessions.get(T, sid), 5),
        policy_job_id(T, w.sessions.get(T, sid), 10),
    ]


def test_a_claim_whose_queueing_failed_is_finished_by_the_redelivery() -> None:
    w = World(FailingQueue(failures=1))
    sid = w.session(GenerationPolicy(every_n_events=3))
    w.append(sid, 3)
    change = w.change(sid)
    with pytest.raises(ConnectionError):
        w.engine.on_session_change(change)  # claimed, then stopped before the queue: the record fails
    assert w.queued_jobs() == []
    w.engine.on_session_change(change)  # redelivered
    w.engine.on_session_change(change)
    assert len(w.policies.jobs) == 1 and len(w.queued_jobs()) == 1


def test_a_rival_claim_is_never_a_second_job() -> None:
    w = World()
    sid = w.session(GenerationPolicy(every_n_events=5, idle_seconds=60))
    w.append(sid, 7)
    change = w.change(sid)
    w.clock.advance(120)
    # the idle check wins the race for (0, 7] at the very moment the stream consumer claims (0, 5]
    msg = IdleCheckMessage(tenant=T, session_id=sid, seq=7, due=w.clock() - timedelta(seconds=1))
    w.policies.before_claim = lambda: w.engine.on_idle_check(msg)
    assert w.engine.on_session_change(change).startswith("0 every_n_events jobs")
    assert [(s.after_seq, s.until_seq, s.trigger) for _, s, _ in w.policies.jobs.values()] == [(0, 7, "idle")]
    assert len(w.queued_jobs()) == 1


def test_idle_check_waits_until_due_then_fires_once() -> None:
    w = World()
    sid = w.session(GenerationPolicy(idle_seconds=3600))
    w.append(sid, 2)
    w.engine.on_session_change(w.change(sid))
    [(armed, delay)] = w.idle.sent
    assert delay == SQS_MAX_DELAY_SECONDS and armed.seq == 2  # an hour is more than SQS delays: re-armed later
    w.clock.advance(SQS_MAX_DELAY_SECONDS)
    assert w.engine.on_idle_check(armed) == "re-armed"
    assert w.idle.sent[-1][1] == SQS_MAX_DELAY_SECONDS
    w.clock.advance(1800)  # the last append was 2 s before the first check was armed: 1 s + 3600 s - now
    assert w.engine.on_idle_check(armed) == "re-armed"
    assert w.idle.sent[-1][1] == 3600 - 1800 - SQS_MAX_DELAY_SECONDS - 1
    w.clock.advance(3600)
    assert w.engine.on_idle_check(armed) == "idle job submitted"
    assert w.engine.on_idle_check(armed) == "nothing to generate"
    [(job, spec, queued)] = w.policies.jobs.values()
    assert (spec.after_seq, spec.until_seq, spec.trigger, queued) == (0, 2, "idle", True)
    assert job.scope == {"user_id": "alice"}


def test_idle_check_of_an_earlier_append_is_dropped() -> None:
    w = World()
    sid = w.session(GenerationPolicy(idle_seconds=10))
    w.append(sid)
    w.engine.on_session_change(w.change(sid))
    w.append(sid)
    w.engine.on_session_change(w.change(sid))
    first, second = (m for m, _ in w.idle.sent)
    w.clock.advance(60)
    assert w.engine.on_idle_check(first).startswith("appended since")
    assert w.engine.on_idle_check(second) == "idle job submitted"
    assert len(w.policies.jobs) == 1


def test_no_idle_check_for_changes_that_are_not_appends() -> None:
    w = World()
    sid = w.session(GenerationPolicy(idle_seconds=10))
    w.append(sid)
    assert w.engine.on_session_change(w.change(sid, appended=False)) == "nothing due"
    assert w.idle.sent == []


def test_app_policy_applies_unless_the_session_has_its_own() -> None:
    w = World()
    now = w.clock()
    w.policies.apps[(T, "travel")] = AppGenerationPolicy(
        every_n_events=1, app_name="travel", create_time=now, update_time=now, version=1
    )
    by_app, off, other_app = w.session(), w.session(GenerationPolicy()), w.session(app="work")
    for sid in (by_app, off, other_app):
        w.append(sid)
        w.engine.on_session_change(w.change(sid))
    assert [s.session_id for _, s, _ in w.policies.jobs.values()] == [by_app]


def test_a_scope_template_that_cannot_render_makes_a_failed_job_with_the_reason() -> None:
    w = World()
    sid = w.session(
        GenerationPolicy(every_n_events=1, scope_template={"user_id": "{user_id}" + "x" * 119}), user="u" * 10
    )
    w.append(sid)
    w.engine.on_session_change(w.change(sid))
    [(job, _, queued)] = w.policies.jobs.values()
    assert job.status == JobStatus.FAILED and "scope_template.user_id renders to 124 characters" not in (
        job.error or ""
    )
    assert job.status == JobStatus.FAILED and "renders to 129 characters" in (job.error or ""), job.error
    assert not queued and w.queued_jobs() == []


def test_delete_carries_the_events_not_yet_generated() -> None:
    w = World()
    sid = w.session(GenerationPolicy(every_n_events=2, on_session_delete=True))
    w.append(sid, 3)
    w.engine.on_session_change(w.change(sid))  # (0, 2]
    assert w.engine.before_delete(T, sid) == 1
    final = [s for _, s, _ in w.policies.jobs.values() if s.trigger == "session_delete"]
    assert [(s.after_seq, s.until_seq, [e.seq for e in s.session_events or []]) for s in final] == [(2, 3, [3])]
    assert w.engine.before_delete(T, sid) == 0  # a retried DELETE submits nothing more


def test_delete_splits_large_backlogs_into_jobs_under_the_spec_limit(monkeypatch) -> None:
    from contextiq import limits

    monkeypatch.setattr(limits, "MAX_JOB_SPEC_BYTES", 8000)
    w = World()
    sid = w.session(GenerationPolicy(on_session_delete=True))
    w.append(sid, 40)
    submitted = w.engine.before_delete(T, sid)
    specs = [s for _, s, _ in w.policies.jobs.values()]
    assert submitted == len(specs) > 1
    assert all(len(s.to_json()) < 8000 for s in specs)
    assert [e.seq for s in specs for e in s.session_events or []] == list(range(1, 41))


def test_job_ids_are_derived_and_ordered() -> None:
    w = World()
    session = w.sessions.get(T, w.session())
    ids = [policy_job_id(T, session, n) for n in (1, 2, 10, 1000)]
    assert ids == sorted(ids) and ids[0] == policy_job_id(T, session, 1)
    assert policy_job_id("other", session, 1) != ids[0]


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: "#" not in k and k.isprintable()),
        st.lists(
            st.sampled_from(["{user_id}", "{app_name}", "{session_id}", "x", "-", " é"]), min_size=1, max_size=8
        ).map("".join),
        min_size=1,
        max_size=8,
    ),
    st.text(min_size=1, max_size=128).filter(lambda s: "#" not in s and s.isprintable()),
    st.none() | st.text(min_size=1, max_size=128).filter(lambda s: "#" not in s and s.isprintable()),
)
def test_an_accepted_template_renders_a_valid_scope_or_says_why(
    template: dict[str, str], user: str, app: str | None
) -> None:
    from contextiq.models.memories import validate_scope

    policy = GenerationPolicy(scope_template=template)
    try:
        scope = render_scope(policy.scope_template, user, app, "01JD8X9Q3T9V6G8J2K4M5N7P8R")
    except ScopeTemplateError as err:
        why = str(err)
    else:
        assert validate_scope(scope) == scope
        return
    assert "app_name" in why or "characters" in why


@given(
    st.one_of(st.none(), st.integers(1, 1000)),
    st.one_of(st.none(), st.integers(1, 86_400)),
    st.booleans(),
    st.lists(st.sampled_from(["USER_PREFERENCES", "USER_PERSONAL_INFO"]), max_size=2),
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: "#" not in k and k.isprintable()),
        st.sampled_from(["{user_id}", "{app_name}-x", "s:{session_id}", "fixed"]),
        min_size=1,
        max_size=8,
    ),
)
def test_what_a_policy_write_accepts_its_read_returns(
    every: int | None, idle: int | None, on_delete: bool, topics: list[str], template: dict[str, str]
) -> None:
    from contextiq.models.policies import policy_json, stored_policy

    policy = GenerationPolicy.model_validate(
        {
            "every_n_events": every,
            "idle_seconds": idle,
            "on_session_delete": on_delete,
            "topics": topics or None,
            "scope_template": template,
        }
    )
    assert stored_policy(policy_json(policy)) == policy
