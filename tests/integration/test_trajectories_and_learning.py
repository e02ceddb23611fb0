"""Trajectories and procedure learning over HTTP (TestClient), workers through functions/*/handler.py."""

from __future__ import annotations

from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
SCOPE = {"user_id": "u1", "app": "travel"}
CITIES = [("Paris", "Rome", "2025-05-01"), ("Berlin", "Madrid", "2025-06-12"), ("Lyon", "Oslo", "2025-07-23")]


def flight_run(origin: str, dest: str, date: str, status: str = "success", extra: bool = False) -> dict:
    steps = [
        {
            "thought": f"Search flights from {origin} to {dest}",
            "tool": "search_flights",
            "arguments": {"origin": origin, "destination": dest, "date": date},
            "observation": f"Found 3 flights from {origin} to {dest}. The cheapest is 120 EUR.",
        },
        {"tool": "book_flight", "arguments": {"class": "economy"}, "observation": "Booked. Confirmation sent."},
    ]
    if extra:
        steps.append({"thought": "Check the seat map", "tool": "check_seats", "arguments": {"class": "economy"}})
    return {
        "scope": SCOPE,
        "task": f"Book a flight from {origin} to {dest} on {date}",
        "steps": steps,
        "outcome": {"status": status, **({"feedback": "the card was declined"} if status == "failure" else {})},
    }


def _trajectory(api, body: dict) -> dict:
    resp = api.post("/v1/trajectories", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _generate(api, workers, **body) -> dict:
    resp = api.post("/v1/procedures/generate", json={"scope": SCOPE, **body})
    assert resp.status_code == 202, resp.text
    workers()
    job = api.get(f"/v1/jobs/{resp.json()['job_id']}").json()
    assert job["status"] == "SUCCEEDED", job
    assert job["kind"] == "procedures"
    return job


def test_trajectories_crud_search_and_tenancy(api) -> None:
    t = _trajectory(api, flight_run(*CITIES[0]))
    assert t["steps"][0]["tool"] == "search_flights" and t["outcome"]["status"] == "success"
    assert api.get(f"/v1/trajectories/{t['id']}").json() == t
    other = _trajectory(api, {**flight_run(*CITIES[1], status="failure"), "task": "Cancel a hotel booking"})
    listed = api.get("/v1/trajectories", params={"scope.user_id": "u1", "scope.app": "travel"}).json()["items"]
    assert {x["id"] for x in listed} == {t["id"], other["id"]}
    failures = api.get("/v1/trajectories", params={"scope.user_id": "u1", "scope.app": "travel", "outcome": "failure"})
    assert [x["id"] for x in failures.json()["items"]] == [other["id"]]
    found = api.post("/v1/trajectories/search", json={"scope": SCOPE, "query": "book a flight"}).json()["results"]
    assert found[0]["trajectory"]["id"] == t["id"]
    for probe in (
        api.get(f"/v1/trajectories/{t['id']}", headers=B),
        api.delete(f"/v1/trajectories/{t['id']}", headers=B),
    ):
        assert probe.status_code == 404
    assert api.post("/v1/trajectories/search", json={"scope": SCOPE, "query": "flight"}, headers=B).json() == {
        "results": []
    }
    assert (
        api.get("/v1/trajectories", params={"scope.user_id": "u1", "scope.app": "travel"}, headers=B).json()["items"]
        == []
    )
    assert api.delete(f"/v1/trajectories/{t['id']}").status_code == 204
    assert api.get(f"/v1/trajectories/{t['id']}").status_code == 404
    found = api.post("/v1/trajectories/search", json={"scope": SCOPE, "query": "book a flight"}).json()["results"]
    assert t["id"] not in [r["trajectory"]["id"] for r in found]


def test_trajectory_validation(api) -> None:
    base = flight_run(*CITIES[0])
    for body, field in [
        ({**base, "session_id": "s1"}, "body"),
        ({**base, "steps": [{}]}, "steps.0"),
        ({**base, "outcome": {"status": "great"}}, "outcome.status"),
        ({**base, "steps": [{"arguments": {"a": 1}}]}, "steps.0"),
    ]:
        resp = api.post("/v1/trajectories", json=body)
        assert resp.status_code == 422, body
        assert any(e["field"] == field for e in resp.json()["errors"]), resp.json()


def _session_with_tools(api) -> tuple[str, list[dict]]:
    sid = api.post("/v1/sessions", json={"user_id": "u1"}).json()["id"]
    events = [
        {"author": "user", "role": "user", "content": {"text": "Book a flight from Paris to Rome on 2025-05-01"}},
        {
            "author": "agent",
            "role": "model",
            "content": {
                "text": "Searching flights",
                "parts": [{"function_call": {"name": "search_flights", "args": {"origin": "Paris"}}}],
            },
        },
        {
            "author": "tool",
            "role": "tool",
            "content": {"parts": [{"function_response": {"name": "search_flights", "response": {"found": 3}}}]},
        },
        {"author": "agent", "role": "model", "content": {"text": "Your flight is booked."}},
    ]
    stored = [api.post(f"/v1/sessions/{sid}/events", json=e).json() for e in events]
    return sid, stored


def test_trajectory_from_a_session_keeps_event_ids(api) -> None:
    sid, events = _session_with_tools(api)
    body = {"scope": SCOPE, "task": "Book a flight", "session_id": sid, "outcome": {"status": "success"}}
    t = _trajectory(api, body)
    assert t["session_id"] == sid
    assert t["steps"][0]["tool"] == "search_flights" and t["steps"][0]["arguments"] == {"origin": "Paris"}
    assert t["steps"][0]["thought"] == "Searching flights" and t["steps"][0]["observation"] == '{"found":3}'
    assert t["steps"][0]["event_ids"] == [events[1]["id"], events[2]["id"]]
    assert t["steps"][1] == {**t["steps"][1], "thought": "Your flight is booked.", "event_ids": [events[3]["id"]]}
    assert t["event_ids"] == [e["id"] for e in events[1:]]
    window = _trajectory(api, {**body, "after_seq": 1, "before_seq": 4})
    assert [s["event_ids"] for s in window["steps"]] == [[events[1]["id"], events[2]["id"]]]
    assert api.post("/v1/trajectories", json=body, headers=B).status_code == 404


def test_generate_learns_one_parameterised_workflow_and_redelivery_adds_nothing(api, container, workers) -> None:
    ids = [_trajectory(api, flight_run(*c))["id"] for c in CITIES]
    job = _generate(api, workers, trajectory_ids=ids)
    assert job["result"]["added"] == 1 and len(job["result"]["procedure_ids"]) == 1
    pid = job["result"]["procedure_ids"][0]
    p = api.get(f"/v1/procedures/{pid}").json()
    assert p["kind"] == "workflow" and p["name"] == "Book a flight from {origin} to {destination} on {date}"
    assert {x["name"] for x in p["parameters"]} == {"origin", "destination", "date"}
    assert p["steps"][0]["arguments"] == {"origin": "{origin}", "destination": "{destination}", "date": "{date}"}
    assert p["steps"][1]["arguments"] == {"class": "economy"}
    assert p["provenance"]["trajectory_ids"] == ids
    revs = api.get(f"/v1/procedures/{pid}/revisions").json()["items"]
    assert revs[0]["actor"] == f"job:{job['id']}" and revs[0]["provenance"]["trajectory_ids"] == ids
    # SQS redelivers the job's message: nothing new
    from contextiq.models.trajectories import ProcedureLearningMessage

    message = ProcedureLearningMessage(tenant="tenant-a", job_id=job["id"])
    container.procedure_learning_worker.handle(message)
    stored = container.jobs.get("tenant-a", job["id"])
    container.jobs._ddb.update_item(  # as if the first delivery died before counting its result
        TableName=container.settings.jobs_table,
        Key={"pk": {"S": f"T#tenant-a#J#{job['id']}"}, "sk": {"S": "JOB"}},
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "RUNNING"}},
    )
    assert stored is not None
    container.procedure_learning_worker.handle(message)
    listed = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel"}).json()["items"]
    assert [x["id"] for x in listed] == [pid]
    # the same runs again, in a new job: already known
    again = _generate(api, workers, trajectory_ids=ids)
    assert again["result"]["added"] == 0 and again["result"]["unchanged"] == 1
    # a failed run adds a pitfall, once
    failed = _trajectory(api, flight_run("Rome", "Vienna", "2025-08-01", status="failure"))["id"]
    for _ in range(2):
        _generate(api, workers, trajectory_ids=[failed])
    p = api.get(f"/v1/procedures/{pid}").json()
    assert [x["note"] for x in p["pitfalls"]] == ["A run failed: the card was declined"]
    assert p["pitfalls"][0]["trajectory_id"] == failed
    # a better run refines the steps (UPDATE, new revision)
    better = _trajectory(api, flight_run("Nice", "Porto", "2025-09-09", extra=True))["id"]
    updated = _generate(api, workers, trajectory_ids=[better])
    assert updated["result"]["updated"] == 1 and updated["result"]["procedure_ids"] == [pid]
    p = api.get(f"/v1/procedures/{pid}").json()
    assert [s.get("tool") for s in p["steps"]] == ["search_flights", "book_flight", "check_seats"]
    assert better in p["provenance"]["trajectory_ids"]


def test_generate_from_a_session_and_source_checks(api, workers) -> None:
    sid, events = _session_with_tools(api)
    job = _generate(api, workers, session_id=sid)
    pid = job["result"]["procedure_ids"][0]
    p = api.get(f"/v1/procedures/{pid}").json()
    assert p["name"] == "Book a flight from {origin} to Rome on 2025-05-01"
    assert set(p["provenance"]["event_ids"]) == {e["id"] for e in events[1:]}
    assert api.post("/v1/procedures/generate", json={"scope": SCOPE, "session_id": sid}, headers=B).status_code == 404
    theirs = api.post("/v1/trajectories", json=flight_run(*CITIES[0]), headers=B).json()["id"]
    resp = api.post("/v1/procedures/generate", json={"scope": SCOPE, "trajectory_ids": [theirs]})
    assert resp.status_code == 404 and resp.json()["errors"][0]["field"] == "trajectory_ids"
    assert api.get(f"/v1/jobs/{job['id']}", headers=B).status_code == 404
    both = api.post("/v1/procedures/generate", json={"scope": SCOPE, "session_id": sid, "trajectory_ids": ["x"]})
    assert both.status_code == 422


def _raw(container, pk: str, sk: str) -> dict:  # type: ignore[no-untyped-def]
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return container.dynamodb.get_item(TableName=container.settings.procedures_table, Key=key)["Item"]


def test_reindex_and_the_stream_rebuild_procedures_and_trajectories(api, container) -> None:
    from contextiq.services.indexing import reindex
    from contextiq.services.procedure_indexing import apply_procedure_stream_record
    from contextiq.stores.vector.factory import index_info_for

    body = {
        "scope": SCOPE,
        "kind": "skill",
        "name": "Book a flight",
        "description": "flights",
        "steps": [{"instruction": "Search flights", "tool": "search_flights"}],
    }
    p = api.post("/v1/procedures", json=body).json()
    t = _trajectory(api, flight_run(*CITIES[0]))
    search = {"scope": SCOPE, "query": "book a flight"}
    container.vector_index.drop()
    container.vector_index.ensure(index_info_for(container.embedder))
    assert api.post("/v1/procedures/search", json=search).json()["results"] == []
    counts = reindex(container.vector_index, container.embedder, container.index_tables())
    assert counts["procedures"] == 1 and counts["trajectories"] == 1
    assert [r["procedure"]["id"] for r in api.post("/v1/procedures/search", json=search).json()["results"]] == [p["id"]]
    assert [r["trajectory"]["id"] for r in api.post("/v1/trajectories/search", json=search).json()["results"]] == [
        t["id"]
    ]
    # the procedures table's stream: versioned, idempotent; a trajectory's REMOVE takes it out
    index = container.vector_index
    index.drop()
    index.ensure(index_info_for(container.embedder))
    proc_image = _raw(container, f"T#tenant-a#P#{p['id']}", "PROCEDURE")
    traj_image = _raw(container, f"T#tenant-a#TR#{t['id']}", "TRAJECTORY")
    assert apply_procedure_stream_record(index, {"eventName": "INSERT", "dynamodb": {"NewImage": proc_image}}) == (
        "upserted"
    )
    assert apply_procedure_stream_record(index, {"eventName": "INSERT", "dynamodb": {"NewImage": traj_image}}) == (
        "upserted"
    )
    assert len(api.post("/v1/procedures/search", json=search).json()["results"]) == 1
    assert apply_procedure_stream_record(index, {"eventName": "REMOVE", "dynamodb": {"OldImage": traj_image}}) == (
        "removed"
    )
    assert api.post("/v1/trajectories/search", json=search).json()["results"] == []
    revision = {"eventName": "INSERT", "dynamodb": {"NewImage": {"pk": proc_image["pk"], "sk": {"S": "R#x"}}}}
    assert apply_procedure_stream_record(index, revision) == "skipped"


def test_a_learning_job_that_keeps_failing_is_failed_and_dead_lettered(api, workers, container, monkeypatch) -> None:
    import json

    from contextiq.ai.extractors.base import MalformedModelOutputError
    from contextiq.local.bootstrap import dead_letter_url
    from contextiq.local.workers import load_function

    learning = load_function("procedure_learning")

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise MalformedModelOutputError("record_procedure input does not match the schema")

    monkeypatch.setattr(learning.container.procedure_learning_worker._learner._distiller, "distill", broken)
    ids = [_trajectory(api, flight_run(*CITIES[0]))["id"]]
    job_id = api.post("/v1/procedures/generate", json={"scope": SCOPE, "trajectory_ids": ids}).json()["job_id"]
    workers()
    job = api.get(f"/v1/jobs/{job_id}").json()
    from contextiq.definitions import JOB_QUEUES

    deliveries = {f"{q.max_receive_count} deliveries" for q in JOB_QUEUES}  # maxReceiveCount 5 (AWS guidance)
    assert job["status"] == "FAILED" and "MalformedModelOutputError" in job["error"]
    assert any(d in job["error"] for d in deliveries)
    dlq = dead_letter_url(container.settings.procedure_learning_queue_url)
    dead = container.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in dead] == [job_id]
    assert api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel"}).json()["items"] == []
