"""Checkpoints and forks over HTTP (FastAPI TestClient) against moto DynamoDB through boto3."""

from __future__ import annotations

import pytest

from contextiq import limits
from contextiq.ids import new_id
from contextiq.models.checkpoints import ForkCreate
from contextiq.models.sessions import Event
from contextiq.stores.dynamo.sessions import SESSION_SK, session_pk
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}


def _session(api, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/sessions", json={"user_id": "u1", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _event(api, sid, text="hi", **body):  # type: ignore[no-untyped-def]
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _patch(api, sid, **body):  # type: ignore[no-untyped-def]
    resp = api.patch(f"/v1/sessions/{sid}/state", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _events(api, sid):  # type: ignore[no-untyped-def]
    resp = api.get(f"/v1/sessions/{sid}/events?limit=100")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def _history(api):  # type: ignore[no-untyped-def]
    """A session whose state changes by deltas and patches, with the state seen at each seq."""
    sid = _session(api, state={"step": 0, "keep": "x"})["id"]
    _patch(api, sid, set={"before_first": True})  # a patch at seq 0
    states = {0: api.get(f"/v1/sessions/{sid}").json()["state"]}
    _event(api, sid, "one", state_delta={"step": 1})
    states[1] = api.get(f"/v1/sessions/{sid}").json()["state"]
    _event(api, sid, "two")
    _patch(api, sid, set={"mood": "good"}, remove=["keep"])
    _patch(api, sid, set={"mood": "great"})
    states[2] = api.get(f"/v1/sessions/{sid}").json()["state"]
    _event(api, sid, "three", state_delta={"step": 3, "mood": None})
    states[3] = api.get(f"/v1/sessions/{sid}").json()["state"]
    return sid, states


def test_checkpoint_records_the_state_at_its_seq(api) -> None:
    sid = _session(api, state={"a": 1}, ttl_seconds=3600)["id"]
    _event(api, sid, state_delta={"b": 2})
    resp = api.post(f"/v1/sessions/{sid}/checkpoints", json={"name": "one", "metadata": {"k": "v"}})
    assert resp.status_code == 201, resp.text
    cp = resp.json()
    assert cp["seq"] == 1 and cp["state"] == {"a": 1, "b": 2} and cp["version"] == 2
    assert cp["name"] == "one" and cp["metadata"] == {"k": "v"} and cp["expire_time"]
    assert resp.headers["location"] == f"/v1/sessions/{sid}/checkpoints/{cp['checkpoint_id']}"
    _event(api, sid, state_delta={"a": 5})
    got = api.get(f"/v1/sessions/{sid}/checkpoints/{cp['checkpoint_id']}")
    assert got.status_code == 200 and got.json() == cp  # later changes do not touch it
    second = api.post(f"/v1/sessions/{sid}/checkpoints", json={}).json()
    assert second["seq"] == 2 and second["state"] == {"a": 5, "b": 2} and second["name"] is None
    page = api.get(f"/v1/sessions/{sid}/checkpoints?limit=1").json()
    assert [c["checkpoint_id"] for c in page["items"]] == [cp["checkpoint_id"]] and page["next_token"]
    page2 = api.get(f"/v1/sessions/{sid}/checkpoints?limit=1&next_token={page['next_token']}").json()
    assert [c["checkpoint_id"] for c in page2["items"]] == [second["checkpoint_id"]]
    assert api.delete(f"/v1/sessions/{sid}/checkpoints/{cp['checkpoint_id']}").status_code == 204
    assert api.get(f"/v1/sessions/{sid}/checkpoints/{cp['checkpoint_id']}").status_code == 404
    assert api.delete(f"/v1/sessions/{sid}/checkpoints/{cp['checkpoint_id']}").status_code == 404


def test_checkpoint_limit_is_409_and_deleting_one_frees_a_place(api, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHECKPOINTS_PER_SESSION", 2)
    sid = _session(api)["id"]
    first = api.post(f"/v1/sessions/{sid}/checkpoints", json={}).json()
    api.post(f"/v1/sessions/{sid}/checkpoints", json={})
    over = api.post(f"/v1/sessions/{sid}/checkpoints", json={})
    assert over.status_code == 409 and over.headers["content-type"] == "application/problem+json"
    assert "checkpoints" in over.json()["detail"]
    api.delete(f"/v1/sessions/{sid}/checkpoints/{first['checkpoint_id']}")
    assert api.post(f"/v1/sessions/{sid}/checkpoints", json={}).status_code == 201


@pytest.mark.parametrize("seq", [0, 1, 2, 3])
def test_fork_at_seq_has_the_events_and_exactly_the_state_of_that_point(api, seq: int) -> None:
    sid, states = _history(api)
    resp = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": seq, "metadata": {"branch": "b"}})
    assert resp.status_code == 201, resp.text
    fork = resp.json()
    assert fork["state"] == states[seq] and fork["event_count"] == seq
    assert fork["forked_from"] == {"session_id": sid, "seq": seq, "checkpoint_id": None}
    assert fork["metadata"] == {"branch": "b"} and resp.headers["location"] == f"/v1/sessions/{fork['id']}"
    source_events = _events(api, sid)[:seq]
    copies = _events(api, fork["id"])
    assert [e["seq"] for e in copies] == list(range(1, seq + 1))
    assert [e["content"] for e in copies] == [e["content"] for e in source_events]
    assert [e["source"] for e in copies] == [{"session_id": sid, "event_id": e["id"]} for e in source_events]
    assert not {e["id"] for e in copies} & {e["id"] for e in source_events}
    # a fork of the fork at the same point is the same state again (the fork keeps the history)
    again = api.post(f"/v1/sessions/{fork['id']}/fork", json={"at_seq": seq}).json()
    assert again["state"] == states[seq]


def test_fork_from_a_checkpoint_leaves_out_later_patches(api) -> None:
    sid = _session(api, state={"n": 0})["id"]
    _event(api, sid, state_delta={"n": 1})
    cp = api.post(f"/v1/sessions/{sid}/checkpoints", json={}).json()
    _patch(api, sid, set={"late": True})  # same seq, after the checkpoint
    _event(api, sid, state_delta={"n": 2})
    fork = api.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": cp["checkpoint_id"]}).json()
    assert fork["state"] == cp["state"] == {"n": 1} and fork["version"] == cp["version"]
    assert fork["forked_from"]["checkpoint_id"] == cp["checkpoint_id"]
    # ... and its own history agrees: forking the fork at its last seq gives the same state
    assert api.post(f"/v1/sessions/{fork['id']}/fork", json={"at_seq": 1}).json()["state"] == {"n": 1}


def test_forks_are_independent_and_survive_the_source(api) -> None:
    sid, states = _history(api)
    fork = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2}).json()
    _event(api, fork["id"], "fork only", state_delta={"where": "fork"})
    _event(api, sid, "source only", state_delta={"where": "source"})
    assert [e["seq"] for e in _events(api, fork["id"])] == [1, 2, 3]
    assert _events(api, fork["id"])[-1]["content"]["text"] == "fork only"
    assert _events(api, sid)[-1]["content"]["text"] == "source only"
    assert api.get(f"/v1/sessions/{sid}").json()["state"]["where"] == "source"
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    kept = api.get(f"/v1/sessions/{fork['id']}").json()
    assert kept["state"] == {**states[2], "where": "fork"} and kept["event_count"] == 3
    assert len(_events(api, fork["id"])) == 3


def test_fork_inherits_or_sets_its_ttl(api) -> None:
    source = _session(api, ttl_seconds=3600)
    _event(api, source["id"])
    inherited = api.post(f"/v1/sessions/{source['id']}/fork", json={"at_seq": 1}).json()
    assert inherited["expire_time"] == source["expire_time"] and inherited["metadata"] == source["metadata"]
    own = api.post(f"/v1/sessions/{source['id']}/fork", json={"at_seq": 1, "ttl_seconds": 7200}).json()
    assert own["expire_time"] > source["expire_time"]


def test_checkpoints_and_forks_expire_with_their_own_session(api, container) -> None:
    """TTL: a checkpoint goes with its session; a fork keeps the source's expiry unless it set its own, and
    every item of a fork's partition carries the fork's expire_at (so DynamoDB TTL removes them with it)."""
    from datetime import datetime, timedelta

    from contextiq.ids import utcnow

    source = _session(api, ttl_seconds=60)
    sid = source["id"]
    _event(api, sid, state_delta={"a": 1})
    _patch(api, sid, set={"b": 2})
    _event(api, sid)
    cid = api.post(f"/v1/sessions/{sid}/checkpoints", json={}).json()["checkpoint_id"]
    inherited = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2}).json()
    own = api.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": cid, "ttl_seconds": 3600}).json()
    for fork in (inherited, own):
        items = container.dynamodb.query(
            TableName=container.settings.sessions_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": session_pk("tenant-a", fork["id"])}},
        )["Items"]
        assert len(items) >= 3  # the session item, two events (and the patch record for at_seq)
        expected = str(int(datetime.fromisoformat(fork["expire_time"]).timestamp()))
        assert {i["expire_at"]["N"] for i in items} == {expected}

    container.sessions._clock = lambda: utcnow() + timedelta(seconds=61)
    assert api.get(f"/v1/sessions/{sid}/checkpoints/{cid}").status_code == 404
    assert api.get(f"/v1/sessions/{sid}/checkpoints").status_code == 404
    assert api.post(f"/v1/sessions/{sid}/checkpoints", json={}).status_code == 404
    assert api.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": cid}).status_code == 404
    assert api.get(f"/v1/sessions/{inherited['id']}").status_code == 404
    kept = api.get(f"/v1/sessions/{own['id']}")
    assert kept.status_code == 200 and kept.json()["state"] == {"a": 1, "b": 2}
    assert len(_events(api, own["id"])) == 2
    assert api.post(f"/v1/sessions/{own['id']}/checkpoints", json={}).json()["expire_time"] == own["expire_time"]


def test_a_fork_of_a_session_kept_out_of_the_event_index_stays_out(api, container) -> None:
    sid = _session(api, index_events=False)["id"]
    _event(api, sid)
    fork = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1}).json()
    assert fork["index_events"] is False
    items = container.dynamodb.query(
        TableName=container.settings.sessions_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": session_pk("tenant-a", fork["id"])}},
    )["Items"]
    assert len(items) == 2 and all(i.get("noindex") == {"BOOL": True} for i in items)


def test_fork_input_errors_name_the_field(api) -> None:
    sid = _session(api)["id"]
    _event(api, sid)
    cases = [
        ({}, "body"),
        ({"at_seq": 1, "checkpoint_id": "x"}, "body"),
        ({"at_seq": 2}, "at_seq"),
        ({"at_seq": -1}, "at_seq"),
    ]
    for body, field in cases:
        resp = api.post(f"/v1/sessions/{sid}/fork", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert any(field in e["field"] for e in resp.json()["errors"]), resp.json()
    missing = api.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": "nope"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "checkpoint_id"


def test_fork_size_limit(api, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_FORK_EVENTS", 1)
    sid = _session(api)["id"]
    _event(api, sid)
    _event(api, sid)
    resp = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2})
    assert resp.status_code == 422 and "at most 1 events" in resp.json()["detail"]
    assert api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1}).status_code == 201
    monkeypatch.setattr(limits, "MAX_FORK_BYTES", 20)
    resp = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "at_seq"
    assert "bytes" in resp.json()["detail"]


def test_a_fork_interrupted_half_way_is_not_visible(api, container, monkeypatch) -> None:
    sid = _session(api)["id"]
    for i in range(30):
        _event(api, sid, f"m{i}", state_delta={"i": i})
    store = container.branches._repo
    real = store._batch_put
    calls = {"n": 0}

    def crash_after_first_batch(items):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("Lambda timed out")
        real(items)

    monkeypatch.setattr(store, "_batch_put", crash_after_first_batch)
    with pytest.raises(RuntimeError):
        container.branches.fork("tenant-a", sid, ForkCreate(at_seq=30))
    assert calls["n"] == 2  # 25 events written, then the crash
    listed = api.get("/v1/sessions?user_id=u1").json()["items"]
    assert [s["id"] for s in listed] == [sid]  # no half-fork among the user's sessions
    assert store.fork_markers("tenant-a", sid) == []  # failed within the request: cleaned up at once
    assert _forks_items(container, sid) == {}


class _ProcessDied(BaseException):
    """What a killed Lambda looks like from inside: no except clause of the service runs."""


def _forks_items(container, sid):  # type: ignore[no-untyped-def]
    """{fork id: number of items in its partition} for every fork partition of tenant-a that names ``sid``."""
    ddb, table = container.dynamodb, container.settings.sessions_table
    found: dict[str, int] = {}
    for item in ddb.scan(TableName=table)["Items"]:
        if item.get("source_session_id", {}).get("S") == sid:
            fork_id = item["pk"]["S"].rsplit("#", 1)[1]
            found[fork_id] = found.get(fork_id, 0) + 1
    return found


def _die_after_first_batch(container, monkeypatch, sid):  # type: ignore[no-untyped-def]
    store = container.branches._repo
    real = store._batch_put
    calls = {"n": 0}

    def die(items):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 1:
            raise _ProcessDied
        real(items)

    monkeypatch.setattr(store, "_batch_put", die)
    with pytest.raises(_ProcessDied):
        container.branches.fork("tenant-a", sid, ForkCreate(at_seq=30))
    monkeypatch.setattr(store, "_batch_put", real)
    ((dead, _),) = store.fork_markers("tenant-a", sid)
    assert _forks_items(container, sid) == {dead: 25}  # left behind, unreachable
    return dead


def test_a_fork_whose_process_died_is_swept_by_the_next_fork(api, container, monkeypatch) -> None:
    from contextiq.services import branches

    sid = _session(api)["id"]
    for i in range(30):
        _event(api, sid, f"m{i}")
    dead = _die_after_first_batch(container, monkeypatch, sid)
    resp = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 30})
    assert resp.status_code == 201, resp.text
    assert _forks_items(container, sid) == {dead: 25, resp.json()["id"]: 30}  # too recent to be abandoned
    monkeypatch.setattr(branches, "ABANDONED_FORK_SECONDS", 0)
    again = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1})
    assert again.status_code == 201, again.text
    assert _forks_items(container, sid) == {resp.json()["id"]: 30, again.json()["id"]: 1}
    assert container.branches._repo.fork_markers("tenant-a", sid) == []


def test_a_fork_whose_process_died_is_swept_when_its_source_is_deleted(api, container, monkeypatch) -> None:
    from contextiq.services import branches

    sid = _session(api)["id"]
    for i in range(30):
        _event(api, sid, f"m{i}")
    _die_after_first_batch(container, monkeypatch, sid)
    monkeypatch.setattr(branches, "ABANDONED_FORK_SECONDS", 0)
    assert api.delete(f"/v1/sessions/{sid}", headers={"x-api-key": TENANT_B_KEY}).status_code == 404
    assert len(_forks_items(container, sid)) == 1  # another tenant's DELETE sweeps nothing
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    assert _forks_items(container, sid) == {}


def test_sessions_created_before_the_history_fork_only_at_their_last_seq(api, container) -> None:
    sid = _session(api, state={"a": 1})["id"]
    _event(api, sid, state_delta={"a": 2})
    _event(api, sid, state_delta={"a": 3})
    ddb, table = container.dynamodb, container.settings.sessions_table
    ddb.update_item(  # as written before state0 existed
        TableName=table,
        Key={"pk": {"S": session_pk("tenant-a", sid)}, "sk": {"S": SESSION_SK}},
        UpdateExpression="REMOVE state0",
    )
    old = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1})
    assert old.status_code == 409 and old.json()["errors"][0]["field"] == "at_seq"
    last = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2}).json()
    assert last["state"] == {"a": 3} and last["event_count"] == 2


def test_another_tenant_can_reach_no_checkpoint_or_fork(api) -> None:
    sid = _session(api)["id"]
    _event(api, sid)
    cp = api.post(f"/v1/sessions/{sid}/checkpoints", json={}).json()
    cid = cp["checkpoint_id"]
    assert api.post(f"/v1/sessions/{sid}/checkpoints", json={}, headers=B).status_code == 404
    assert api.get(f"/v1/sessions/{sid}/checkpoints", headers=B).status_code == 404
    assert api.get(f"/v1/sessions/{sid}/checkpoints/{cid}", headers=B).status_code == 404
    assert api.delete(f"/v1/sessions/{sid}/checkpoints/{cid}", headers=B).status_code == 404
    assert api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1}, headers=B).status_code == 404
    assert api.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": cid}, headers=B).status_code == 404
    # B's own session cannot fork from A's checkpoint either
    other = api.post("/v1/sessions", json={"user_id": "u1"}, headers=B).json()["id"]
    assert api.post(f"/v1/sessions/{other}/fork", json={"checkpoint_id": cid}, headers=B).status_code == 404
    assert api.get(f"/v1/sessions/{sid}/checkpoints/{cid}").status_code == 200  # A's is untouched


def test_fork_and_checkpoint_are_idempotent_with_a_key(api) -> None:
    sid = _session(api)["id"]
    _event(api, sid)
    h = {"Idempotency-Key": new_id()}
    first = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1}, headers=h)
    again = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 1}, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert len(api.get("/v1/sessions?user_id=u1").json()["items"]) == 2
    h2 = {"Idempotency-Key": new_id()}
    cp1 = api.post(f"/v1/sessions/{sid}/checkpoints", json={"name": "n"}, headers=h2).json()
    cp2 = api.post(f"/v1/sessions/{sid}/checkpoints", json={"name": "n"}, headers=h2).json()
    assert cp1 == cp2
    assert len(api.get(f"/v1/sessions/{sid}/checkpoints").json()["items"]) == 1


def test_deleting_a_session_removes_its_checkpoints_and_history(api, container) -> None:
    sid, _ = _history(api)
    api.post(f"/v1/sessions/{sid}/checkpoints", json={})
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    left = container.dynamodb.query(
        TableName=container.settings.sessions_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": session_pk("tenant-a", sid)}},
    )["Items"]
    assert left == []


def test_state_delta_is_returned_and_bounded(api) -> None:
    sid = _session(api)["id"]
    assert _event(api, sid, state_delta={"a": 1})["state_delta"] == {"a": 1}
    assert _events(api, sid)[0]["state_delta"] == {"a": 1}
    big = {f"k{i}": None for i in range(limits.MAX_STATE_DELTA_BYTES // 8)}
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "u", "content": {"text": "x"}, "state_delta": big})
    assert resp.status_code == 413 and resp.json()["errors"][0]["field"] == "state_delta"


def test_event_model_round_trips_source() -> None:
    e = Event.model_validate(
        {
            "id": "e",
            "session_id": "s",
            "seq": 1,
            "author": "a",
            "role": None,
            "content": {},
            "timestamp": "2026-01-01T00:00:00Z",
            "metadata": {},
            "source": {"session_id": "s0", "event_id": "e0"},
        }
    )
    assert e.source and e.source.event_id == "e0"
