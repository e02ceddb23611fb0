"""Malformed generation-pipeline messages: a logged failure, the job FAILED with why, the message in the DLQ."""

from __future__ import annotations

import json

from contextiq.local.bootstrap import dead_letter_url


def _dead(container, queue_url):  # type: ignore[no-untyped-def]
    dlq = dead_letter_url(queue_url)
    return [m["Body"] for m in container.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])]


def test_malformed_consolidation_part_fails_its_job_and_goes_to_the_dlq(api, workers, container) -> None:
    job_id = api.post("/v1/memories/generate", json={"facts": ["Fay sings"], "scope": {"user_id": "fay"}}).json()[
        "job_id"
    ]
    # the job's own part never arrives; instead one without a part number and with a candidate missing its fact
    bad = {"tenant": "tenant-a", "job_id": job_id, "scope": {"user_id": "fay"}, "candidates": [{"topic": "X"}]}
    url = container.settings.consolidation_queue_url
    container.sqs.send_message(
        QueueUrl=url, MessageBody=json.dumps(bad), MessageGroupId="g", MessageDeduplicationId="b"
    )
    container.sqs.send_message(QueueUrl=url, MessageBody="not json", MessageGroupId="h", MessageDeduplicationId="c")
    workers()
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "FAILED"
    assert "malformed ConsolidationMessage" in job["error"]
    assert "part: Field required" in job["error"] and "candidates.0.fact: Field required" in job["error"]
    assert sorted(_dead(container, url)) == sorted([json.dumps(bad), "not json"])


def test_malformed_stored_spec_fails_the_job_not_a_read_of_it(api, workers, container) -> None:
    from contextiq.stores.dynamo.jobs import job_pk

    job_id = api.post("/v1/memories/generate", json={"facts": ["Gus rows"], "scope": {"user_id": "gus"}}).json()[
        "job_id"
    ]
    container.dynamodb.update_item(
        TableName=container.settings.jobs_table,
        Key={"pk": {"S": job_pk("tenant-a", job_id)}, "sk": {"S": "JOB"}},
        UpdateExpression="SET spec = :s",
        ExpressionAttributeValues={":s": {"S": json.dumps({"scope": {"user_id": "gus"}, "facts": "not a list"})}},
    )
    assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "PENDING"  # the read does not parse the spec
    workers()
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "FAILED" and "malformed JobSpec: facts: Input should be a valid array" in job["error"]
    # the message itself was sound: its redelivery finds the job finished and is consumed (JobsFailed counts it)
    assert _dead(container, container.settings.extraction_queue_url) == []
