"""The local runtime's speed-ups keep moto's answers: plain JSON for item operations equals moto's
shape-driven serializer through boto3 (and so does GetRecords), cached UpdateExpression trees are never shared state, and the
in-process transport serves only DynamoDB, Streams and SQS (contextiq.local.transport)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest

from contextiq.local.moto_fidelity import without_fast_paths


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def _both(call: Any) -> tuple[Any, Any]:
    fast = _strip(call())
    with without_fast_paths():
        slow = _strip(call())
    return fast, slow


def test_item_operations_answer_as_motos_serializer_does(aws: None) -> None:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    every_type = {
        "pk": {"S": "p"},
        "s": {"S": "text é"},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\xffbinary"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"\x01"]},
        "m": {"M": {"nested": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"B": b"y"}]}}},
        "null": {"NULL": True},
        "bool": {"BOOL": True},
    }
    for i in range(5):
        ddb.put_item(TableName="t", Item={**every_type, "sk": {"S": f"s{i}"}})
    key = {"pk": {"S": "p"}, "sk": {"S": "s0"}}
    calls = {
        "GetItem": lambda: ddb.get_item(TableName="t", Key=key),
        "GetItem missing": lambda: ddb.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"S": "x"}}),
        "Query page": lambda: ddb.query(
            TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=2
        ),
        "Query last": lambda: ddb.query(
            TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
        ),
        "Scan": lambda: ddb.scan(TableName="t", Limit=3, ReturnConsumedCapacity="TOTAL"),
        "UpdateItem": lambda: ddb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression="SET s = :s, m.nested = :l, ns = :ns",
            ExpressionAttributeValues={":s": {"S": "new"}, ":l": {"L": [{"B": b"z"}]}, ":ns": {"NS": ["3"]}},
            ReturnValues="ALL_NEW",
        ),
        "PutItem old": lambda: ddb.put_item(
            TableName="t", Item={**every_type, "sk": {"S": "s1"}}, ReturnValues="ALL_OLD"
        ),
        "BatchGetItem": lambda: ddb.batch_get_item(
            RequestItems={"t": {"Keys": [key, {"pk": {"S": "p"}, "sk": {"S": "s2"}}]}}
        ),
        "TransactGetItems": lambda: ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}]),
        "TransactWriteItems": lambda: ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "t", "Item": {**every_type, "sk": {"S": "s9"}}}}]
        ),
        "BatchWriteItem": lambda: ddb.batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": {**every_type, "sk": {"S": "s8"}}}}]}
        ),
    }
    for name, call in calls.items():
        fast, slow = _both(call)
        assert fast == slow, name
    fast = ddb.delete_item(TableName="t", Key={**key, "sk": {"S": "s3"}}, ReturnValues="ALL_OLD")["Attributes"]
    with without_fast_paths():
        slow = ddb.delete_item(TableName="t", Key={**key, "sk": {"S": "s4"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert fast == {**slow, "sk": {"S": "s3"}}
    assert fast["b"] == {"B": b"\x00\xffbinary"}


def test_stream_records_answer_as_motos_serializer_does(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """GetRecords in plain JSON equals moto's serializer through boto3: INSERT, MODIFY and REMOVE
    records with both images, every attribute type, the creation time, the next iterator."""
    from botocore.config import Config

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    arn = ddb.create_table(
        TableName="s",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    every_type = {
        "pk": {"S": "p"},
        "s": {"S": "text é \u2603"},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\xffbinary"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"\x01"]},
        "m": {"M": {"nested": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"B": b"y"}, {"M": {}}]}}},
        "l": {"L": []},
        "null": {"NULL": True},
        "bool": {"BOOL": True},
    }
    for i in range(3):
        ddb.put_item(TableName="s", Item={**every_type, "sk": {"N": str(i)}})
    ddb.update_item(
        TableName="s",
        Key={"pk": {"S": "p"}, "sk": {"N": "1"}},
        UpdateExpression="SET s = :s REMOVE b",
        ExpressionAttributeValues={":s": {"S": "changed"}},
    )
    ddb.delete_item(TableName="s", Key={"pk": {"S": "p"}, "sk": {"N": "2"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def read(limit: int) -> dict[str, Any]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        response = _strip(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit))
        response["NextShardIterator"] = response["NextShardIterator"].rsplit("|", 1)[0]  # random per call
        return response

    for limit in (2, 100):
        fast, slow = _both(lambda limit=limit: read(limit))
        assert fast == slow
    from moto.core.responses import ActionResult

    serialized: list[str] = []
    original = ActionResult.execute_result

    def spy(self: Any, context: Any) -> Any:
        serialized.append(context.operation_model.name)
        return original(self, context)

    monkeypatch.setattr(ActionResult, "execute_result", spy)
    records = read(100)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"]
    assert records[3]["dynamodb"]["OldImage"]["b"] == {"B": b"\x00\xffbinary"}
    assert "b" not in records[3]["dynamodb"]["NewImage"]
    assert records[0]["dynamodb"]["ApproximateCreationDateTime"].tzinfo is not None
    empty = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    fast_empty = streams.get_records(ShardIterator=empty)
    assert fast_empty["Records"] == [] and fast_empty["NextShardIterator"]
    assert "GetRecords" not in serialized  # the fast path answered, not moto's serializer
    assert "GetShardIterator" in serialized


def test_the_same_update_expression_with_new_values_each_time(aws: None) -> None:
    """Parsed trees are cached by text: values and names applied to one call never reach the next."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="u",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    expression = "SET #a = :v, tally = if_not_exists(tally, :zero) + :v REMOVE gone"
    for i in range(1, 4):
        for pk, attr in (("x", "first"), ("y", "second")):
            ddb.update_item(
                TableName="u",
                Key={"pk": {"S": pk}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#a": attr},
                ExpressionAttributeValues={":v": {"N": str(i)}, ":zero": {"N": "0"}},
            )
    x = ddb.get_item(TableName="u", Key={"pk": {"S": "x"}})["Item"]
    y = ddb.get_item(TableName="u", Key={"pk": {"S": "y"}})["Item"]
    assert x == {"pk": {"S": "x"}, "first": {"N": "3"}, "tally": {"N": "6"}}
    assert y == {"pk": {"S": "y"}, "second": {"N": "3"}, "tally": {"N": "6"}}
    ddb.update_item(
        TableName="u",
        Key={"pk": {"S": "x"}},
        UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": {"S": "1"}},
    )
    with pytest.raises(ddb.exceptions.ClientError, match="attribute value: :v"):  # the cached tree holds no value
        ddb.update_item(TableName="u", Key={"pk": {"S": "x"}}, UpdateExpression="SET a = :v")


def test_in_process_transport_serves_only_its_services() -> None:
    """No mock_aws here, and nothing listens on the endpoint: the transport alone answers DynamoDB and
    SQS requests addressed to it, and leaves other services and other endpoints to the network."""
    from contextiq.local.moto_fidelity import patch_moto
    from contextiq.local.transport import TRANSPORT

    endpoint = "http://127.0.0.1:9"  # discard port: a request that reached the network would fail
    patch_moto()
    TRANSPORT.enable(endpoint)
    try:
        served = TRANSPORT.requests
        ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
        ddb.create_table(
            TableName="transported",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert "transported" in ddb.list_tables()["TableNames"]
        url = sqs.create_queue(QueueName="transported")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hi")
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hi"
        assert TRANSPORT.requests - served == 5
        bedrock = AWSPreparedRequest("POST", endpoint + "/model/x/invoke", {}, b"", False)
        assert TRANSPORT(bedrock, event_name="before-send.bedrock-runtime.InvokeModel") is None
        elsewhere = AWSPreparedRequest("POST", "https://dynamodb.us-east-1.amazonaws.com/", {}, b"", False)
        assert TRANSPORT(elsewhere, event_name="before-send.dynamodb.GetItem") is None
        ddb.delete_table(TableName="transported")
        sqs.delete_queue(QueueUrl=url)
    finally:
        TRANSPORT.disable()
    own = AWSPreparedRequest("POST", endpoint + "/", {}, b"", False)
    assert TRANSPORT(own, event_name="before-send.dynamodb.GetItem") is None
