"""DynamoDB Streams event source mappings against moto, through the real runtime: Lambda's record shape (which moto's
stream lacks in part), order per item, the same failure rules as Kinesis with DDBStreamBatchInfo, filters on the
record, and the errors a learner meets first."""
import json
from datetime import datetime, timezone

import pytest

from lambdalab import aws
from lambdalab.triggers import connect_dynamodb_stream
from test_streams_kinesis import check_delivery


def make_table(name, stream=True, view="NEW_AND_OLD_IMAGES"):
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if stream else {}
    aws.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST", **extra)
    return aws.resource("dynamodb").Table(name)


def stream_records(table_name):
    """What the stream holds, read directly: [(shard id, sequence number as int)]."""
    streams = aws.client("dynamodbstreams")
    arn = aws.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += [(shard["ShardId"], int(r["dynamodb"]["SequenceNumber"]))
                for r in streams.get_records(ShardIterator=it)["Records"]]
    return out


@pytest.fixture
def make(new_function):
    """make(handler, **settings): a function running ``stream_handlers.<handler>``, shut down after the test."""
    return lambda handler, **kwargs: new_function(f"stream_handlers.{handler}", name=kwargs.pop("name", handler),
                                                  **kwargs)


def test_records_have_lambdas_shape_and_keep_order_per_item(make):
    table = make_table("users")
    table.put_item(Item={"id": "u1", "email": "a@example.com"})
    table.put_item(Item={"id": "u2", "email": "b@example.com"})
    table.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e",
                      ExpressionAttributeValues={":e": "c@example.com"})
    table.delete_item(Key={"id": "u2"})
    arn = aws.client("dynamodb").describe_table(TableName="users")["Table"]["LatestStreamArn"]
    result = connect_dynamodb_stream("users", make("records")).drain()
    records = result.batches[0].invocation.response["event"]["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records] == [
        ("INSERT", "u1"), ("INSERT", "u2"), ("MODIFY", "u1"), ("REMOVE", "u2")]
    modify = records[2]
    assert (modify["eventVersion"], modify["eventSource"], modify["awsRegion"]) == ("1.1", "aws:dynamodb",
                                                                                    "us-east-1")
    assert modify["eventSourceARN"] == arn  # moto's stream records lack it; Lambda's have it
    body = modify["dynamodb"]
    assert body["OldImage"]["email"] == {"S": "a@example.com"} and body["NewImage"]["email"] == {"S": "c@example.com"}
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES" and isinstance(body["SizeBytes"], int)
    assert isinstance(body["ApproximateCreationDateTime"], int)
    assert "NewImage" not in records[3]["dynamodb"] and records[3]["dynamodb"]["OldImage"]["id"] == {"S": "u2"}
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)
    check_delivery(result, stream_records("users"))


def test_parallelization_factor_keeps_each_items_changes_in_order(make):
    table = make_table("counters")
    for step in range(5):
        for item in range(6):
            table.put_item(Item={"id": f"item-{item}", "step": step})
    result = connect_dynamodb_stream("counters", make("records"), batch_size=4, parallelization_factor=3).drain()
    assert result.ok and result.processed == 30 and result.peak_concurrency > 1
    steps = {}
    for b in result.batches:
        for r in b.invocation.response["event"]["Records"]:
            steps.setdefault(r["dynamodb"]["Keys"]["id"]["S"], []).append(int(r["dynamodb"]["NewImage"]["step"]["N"]))
    assert steps == {f"item-{i}": [0, 1, 2, 3, 4] for i in range(6)}
    assert len(result.checkpoints) == 3
    check_delivery(result, stream_records("counters"))


def test_bisect_and_destination_report_ddb_stream_batch_info(make):
    table = make_table("orders")
    for n in range(8):
        table.put_item(Item={"id": f"o{n}", "note": "POISON" if n == 5 else "fine"})
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    result = connect_dynamodb_stream("orders", make("poison"), bisect_batch_on_function_error=True,
                                     maximum_retry_attempts=0, on_failure=queue).drain()
    (gone,) = result.discarded
    poison_seq = gone.records[0].sequence_number
    (body,) = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue)["Messages"]]
    info = body["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (poison_seq, poison_seq, 1)
    assert info["streamArn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/")
    # DynamoDB Streams stamps records to the second: Lambda's example reads "2019-11-14T00:13:19Z" (no millis)
    stamp = gone.records[0].event["dynamodb"]["ApproximateCreationDateTime"]
    expected = datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["approximateArrivalOfFirstRecord"] == info["approximateArrivalOfLastRecord"] == expected
    assert "KinesisBatchInfo" not in body and body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert result.processed == 7
    check_delivery(result, stream_records("orders"))


def test_partial_batch_responses_use_the_stream_sequence_numbers(make):
    table = make_table("profiles")
    for n in range(6):
        table.put_item(Item={"id": f"p{n}", "note": "BAD" if n == 2 else "ok"})
    result = connect_dynamodb_stream("profiles", make("partial_unless_first"),
                                     function_response_types=["ReportBatchItemFailures"]).drain()
    first, second = result.batches
    assert first.outcome == "partial" and first.failed == (first.records[2].sequence_number,)
    assert second.records == first.records[2:] and second.ok
    check_delivery(result, stream_records("profiles"))


def test_filter_criteria_match_the_whole_record(make):
    table = make_table("accounts")
    table.put_item(Item={"id": "a1", "status": "new"})
    table.put_item(Item={"id": "a2", "status": "vip"})
    table.update_item(Key={"id": "a1"}, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":s": "vip"})
    pattern = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["vip"]}}}}
    result = connect_dynamodb_stream("accounts", make("records"), filter_criteria=pattern).drain()
    records = result.batches[0].invocation.response["event"]["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records] == [("INSERT", "a2"),
                                                                                      ("MODIFY", "a1")]
    assert result.filtered == 1
    check_delivery(result, stream_records("accounts"), filtered=1)


def test_clear_errors_for_a_table_without_a_stream_and_for_kinesis_only_settings(make):
    make_table("plain", stream=False)
    make_table("streamed")
    f = make("echo")
    with pytest.raises(ValueError, match="has no stream.*StreamEnabled"):
        connect_dynamodb_stream("plain", f)
    with pytest.raises(ValueError, match="no DynamoDB table named 'missing'"):
        connect_dynamodb_stream("missing", f)
    with pytest.raises(ValueError, match="TRIM_HORIZON, LATEST;"):
        connect_dynamodb_stream("streamed", f, starting_position="AT_TIMESTAMP")


def test_latest_starts_after_existing_changes(make):
    table = make_table("late")
    table.put_item(Item={"id": "before"})
    mapping = connect_dynamodb_stream("late", make("records"), StartingPosition="LATEST")
    table.put_item(Item={"id": "after"})
    records = mapping.drain().batches[0].invocation.response["event"]["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["after"]
